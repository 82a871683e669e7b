import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { deliverWebhook, verifyWebhookSignature } from './index';
import type { AlertEvent, AlertPayload, SlackPayload, WebhookSink } from './index';

// A real receiver on an ephemeral local port: what a user's endpoint sees, signature check included.

const SECRET = 'receiver-secret-0123456789abcdef';
const TOKEN = 'Bearer tok_receiver_5a4b3c2d1e';

type Mode = 'ok' | 'hang' | number;

interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

interface Receiver {
  readonly port: number;
  mode: Mode;
  /** Every request, verified or not. */
  readonly requests: Received[];
  /** Alert ids of verified `fti.alert` deliveries, in arrival order. */
  readonly alertIds: string[];
  stop(): Promise<void>;
}

function startReceiver(port = 0): Promise<Receiver> {
  const hanging: ServerResponse[] = [];
  const state: Receiver = {
    port,
    mode: 'ok',
    requests: [],
    alertIds: [],
    stop: () => stopServer(server, hanging),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      state.requests.push({ headers: req.headers, body: raw.toString('utf8') });
      if (state.mode === 'hang') {
        hanging.push(res);
        return;
      }
      const verified = verifyWebhookSignature({ secret: SECRET, headers: req.headers, body: raw });
      if (!verified.ok) {
        res.writeHead(401, { 'content-type': 'text/plain' }).end(`bad signature: ${verified.reason}`);
        return;
      }
      if (state.mode !== 'ok') {
        res.writeHead(state.mode, { 'content-type': 'text/plain' }).end(`receiver says ${state.mode}`);
        return;
      }
      const payload = JSON.parse(raw.toString('utf8')) as AlertPayload;
      if (payload.type === 'fti.alert' && !state.alertIds.includes(payload.alert.id)) {
        state.alertIds.push(payload.alert.id);
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"received":true}');
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      resolve(Object.assign(state, { port: (server.address() as AddressInfo).port }));
    });
  });
}

function stopServer(server: Server, hanging: ServerResponse[]): Promise<void> {
  for (const res of hanging.splice(0)) res.destroy();
  return new Promise((resolve) => {
    server.close(() => resolve());
    // Keep-alive sockets would hold the port open; a stopped receiver must refuse connections.
    server.closeAllConnections();
  });
}

let counter = 0;
function alert(overrides: Partial<AlertEvent> = {}): AlertEvent {
  counter += 1;
  return {
    id: `00000000-0000-4000-8000-${String(counter).padStart(12, '0')}`,
    rule: 'churn-freshness',
    kind: 'freshness',
    severity: 'warning',
    subject: { type: 'feature_group', name: 'customer_activity' },
    title: 'customer_activity is 3 h behind',
    summary: 'The newest event is 3 h old; the rule allows 1 h.',
    details: { value: 10_800, threshold: 3600, window: '1h' },
    firedAt: new Date().toISOString(),
    ...overrides,
  };
}

describe('deliverWebhook against a local receiver', () => {
  let receiver: Receiver;
  let sink: WebhookSink;
  const errors: string[] = [];

  beforeEach(async () => {
    receiver = await startReceiver();
    sink = {
      name: 'local',
      url: `http://127.0.0.1:${receiver.port}/hooks/fti?token=querytoken123`,
      format: 'json',
      secret: SECRET,
      headers: { Authorization: TOKEN },
      timeoutMs: 300,
    };
  });
  afterEach(async () => {
    await receiver.stop();
  });
  afterAll(() => {
    // Whatever failed, no error message may carry the secret, a header value or the query token.
    expect(errors.length).toBeGreaterThan(0);
    for (const error of errors) {
      for (const leaked of [SECRET, TOKEN, TOKEN.slice(7), 'querytoken123'])
        expect(error).not.toContain(leaked);
    }
  });
  const deliver = async (event: AlertEvent, target: WebhookSink = sink) => {
    const result = await deliverWebhook(target, event);
    if (result.error !== undefined) errors.push(result.error);
    return result;
  };

  it('200: delivers once, signed, and the receiver sees exactly one event with that id', async () => {
    const event = alert();
    const result = await deliver(event);
    expect(result).toEqual({ ok: true, status: 200, retryable: false, durationMs: expect.any(Number) });
    expect(receiver.alertIds).toEqual([event.id]);
    expect(receiver.requests).toHaveLength(1);
    const { headers, body } = receiver.requests[0]!;
    expect(headers['x-fti-event-id']).toBe(event.id);
    expect(headers['user-agent']).toBe('fti-alerts/1');
    expect(headers['content-type']).toBe('application/json');
    expect(headers.authorization).toBe(TOKEN);
    expect(JSON.parse(body)).toEqual({ type: 'fti.alert', version: 1, alert: event });
    expect(body).not.toContain(SECRET);
  });

  it('a wrong secret is rejected by the receiver: 401, not retryable', async () => {
    const result = await deliver(alert(), { ...sink, secret: 'not-the-receiver-secret-000' });
    expect(result).toMatchObject({ ok: false, retryable: false, status: 401 });
    expect(result.error).toMatch(/answered 401: "bad signature: signature does not match/);
    expect(receiver.alertIds).toEqual([]);
  });

  it('503: retryable', async () => {
    receiver.mode = 503;
    const result = await deliver(alert());
    expect(result).toMatchObject({ ok: false, retryable: true, status: 503 });
    expect(result.error).toContain('answered 503: "receiver says 503"');
  });

  it('400: not retryable, with the status and the body in the error', async () => {
    receiver.mode = 400;
    const result = await deliver(alert());
    expect(result).toMatchObject({ ok: false, retryable: false, status: 400 });
    expect(result.error).toContain(
      `webhook sink "local": POST http://127.0.0.1:${receiver.port}/hooks/fti?[redacted] answered 400: "receiver says 400"`,
    );
  });

  it('a receiver that hangs past timeoutMs: retryable timeout within the budget', async () => {
    receiver.mode = 'hang';
    const result = await deliver(alert());
    expect(result).toMatchObject({ ok: false, retryable: true });
    expect(result.status).toBeUndefined();
    expect(result.error).toMatch(/did not answer within 300 ms/);
    expect(result.durationMs).toBeGreaterThanOrEqual(250);
    expect(result.durationMs).toBeLessThan(3000);
    expect(receiver.requests).toHaveLength(1);
  });

  it('down, then up: a closed port is a retryable network error; the retry after restart delivers once', async () => {
    const port = receiver.port;
    await deliver(alert()); // warm a keep-alive connection, which stopping must not leave usable
    await receiver.stop();

    const event = alert();
    const down = await deliver(event);
    expect(down).toMatchObject({ ok: false, retryable: true });
    expect(down.status).toBeUndefined();
    expect(down.error).toMatch(/failed before an answer \(.*ECONNREFUSED/);

    receiver = await startReceiver(port);
    const up = await deliver(event);
    expect(up).toMatchObject({ ok: true, status: 200, retryable: false });
    expect(receiver.alertIds).toEqual([event.id]);
    expect(receiver.requests).toHaveLength(1);
  });

  it('slack format: the receiver gets text and blocks naming severity and subject', async () => {
    const event = alert({ summary: 's'.repeat(5000) });
    const result = await deliver(event, { ...sink, format: 'slack' });
    expect(result.ok).toBe(true);
    const body = JSON.parse(receiver.requests[0]!.body) as SlackPayload;
    expect(body.text).toContain('[WARNING]');
    expect(body.text).toContain('customer_activity');
    const summary = body.blocks[1];
    expect(summary?.type === 'section' && summary.text?.text.length).toBe(3000);
    expect(receiver.requests[0]!.body).not.toContain(SECRET);
  });
});
