import net from 'node:net';

/** The fields of a NATS server's `INFO` greeting that the stack relies on. */
export interface NatsInfo {
  readonly version: string;
  /** Whether JetStream (persistent streams) is enabled on that server. */
  readonly jetstream: boolean;
}

/** What answered on a host:port: nothing, something that is not NATS, or a NATS server. */
export type NatsProbe =
  | { readonly kind: 'absent' }
  | { readonly kind: 'not-nats'; readonly firstLine: string }
  | { readonly kind: 'nats'; readonly info: NatsInfo };

/**
 * Parses the first line a NATS server sends on connect (`INFO {json}`). Returns undefined for any
 * other line, so a different server on the port is told apart from a NATS server.
 */
export function parseNatsInfo(line: string): NatsInfo | undefined {
  const match = /^INFO\s+(\{.*\})\s*$/.exec(line.trim());
  if (!match) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(match[1]!);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const fields = parsed as Record<string, unknown>;
  return {
    version: typeof fields.version === 'string' ? fields.version : 'unknown',
    // Servers without JetStream omit the field; only an explicit true counts.
    jetstream: fields.jetstream === true,
  };
}

/**
 * Connects to host:port and reads the server's greeting, without sending anything (so no client
 * session or credentials are involved). Never throws: a refused, silent or closed connection is
 * `absent`; a greeting that is not NATS's is `not-nats`.
 */
export function probeNats(host: string, port: number, timeoutMs = 1000): Promise<NatsProbe> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    let received = '';
    let settled = false;
    const done = (probe: NatsProbe) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve(probe);
    };
    socket.setTimeout(timeoutMs, () =>
      done(received === '' ? { kind: 'absent' } : { kind: 'not-nats', firstLine: received.slice(0, 200) }),
    );
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('utf8');
      const end = received.indexOf('\n');
      // INFO lines are a few hundred bytes; a long line without a newline is not a NATS greeting.
      if (end < 0 && received.length < 64 * 1024) return;
      const firstLine = (end < 0 ? received : received.slice(0, end)).replace(/\r$/, '');
      const info = parseNatsInfo(firstLine);
      done(info ? { kind: 'nats', info } : { kind: 'not-nats', firstLine: firstLine.slice(0, 200) });
    });
    socket.once('error', () => done({ kind: 'absent' }));
    socket.once('close', () =>
      done(received === '' ? { kind: 'absent' } : { kind: 'not-nats', firstLine: received.slice(0, 200) }),
    );
  });
}
