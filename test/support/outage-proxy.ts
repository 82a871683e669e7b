import net from 'node:net';

/**
 * A TCP proxy in front of a shared server (e.g. the test stack's S3) that can be taken down
 * (connections refused, open ones cut) and brought back on the same port: an outage as the client
 * sees it, without stopping the server other tests use.
 */
export class OutageProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  /** The port clients connect to (set by the first `up()`). */
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  /** Starts accepting and forwarding connections (on the same port as before, if any). */
  async up(): Promise<void> {
    if (this.server) return;
    const server = net.createServer((client) => {
      const upstream = net.connect(this.target);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  /** Refuses new connections and cuts the open ones. */
  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
