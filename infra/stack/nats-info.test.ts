import net from 'node:net';
import { parseNatsInfo, probeNats } from './nats-info';

describe('parseNatsInfo', () => {
  it('reads the version and JetStream flag from a server greeting', () => {
    const line =
      'INFO {"server_id":"NB4P","version":"2.15.1","proto":1,"headers":true,"max_payload":1048576,"jetstream":true,"client_id":6}\r\n';
    expect(parseNatsInfo(line)).toEqual({ version: '2.15.1', jetstream: true });
  });

  it('reports JetStream off when the server omits the flag or sets it false', () => {
    expect(parseNatsInfo('INFO {"version":"2.9.10","proto":1}')).toEqual({
      version: '2.9.10',
      jetstream: false,
    });
    expect(parseNatsInfo('INFO {"version":"2.10.0","jetstream":false}')?.jetstream).toBe(false);
  });

  it('rejects lines that are not a NATS greeting', () => {
    expect(parseNatsInfo('HTTP/1.1 400 Bad Request')).toBeUndefined();
    expect(parseNatsInfo('INFO not-json')).toBeUndefined();
    expect(parseNatsInfo('INFO [1,2]')).toBeUndefined();
    expect(parseNatsInfo('+OK')).toBeUndefined();
  });
});

describe('probeNats', () => {
  async function serverSaying(greeting: string | undefined): Promise<{ port: number; close: () => void }> {
    const server = net.createServer((socket) => {
      if (greeting !== undefined) socket.write(greeting);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    return { port, close: () => server.close() };
  }

  it('tells a NATS server, another server and an empty port apart', async () => {
    const nats = await serverSaying('INFO {"version":"2.15.1","jetstream":true}\r\n');
    const other = await serverSaying('SSH-2.0-OpenSSH_9.2\r\n');
    try {
      expect(await probeNats('127.0.0.1', nats.port)).toEqual({
        kind: 'nats',
        info: { version: '2.15.1', jetstream: true },
      });
      expect(await probeNats('127.0.0.1', other.port)).toEqual({
        kind: 'not-nats',
        firstLine: 'SSH-2.0-OpenSSH_9.2',
      });
    } finally {
      nats.close();
      other.close();
    }
    // Closed just above, so nothing listens there any more.
    expect(await probeNats('127.0.0.1', nats.port)).toEqual({ kind: 'absent' });
  });
});
