import { loadConfig } from '../../config';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { randomBytes } from 'node:crypto';
import { ServiceUnavailableError } from '../../errors';
import { connectJetStream, ensureEventStream, JetStreamPublisher, JetStreamSource } from './jetstream';

const natsUrl = () => loadConfig().natsUrl;
const encode = (text: string) => new TextEncoder().encode(text);
const decode = (data: Uint8Array) => new TextDecoder().decode(data);

// The JetStream adapter against the real NATS server of the stack; each test has streams of its own.
describe('JetStream stream source and publisher', () => {
  const connections: NatsConnection[] = [];
  const streams: string[] = [];

  async function connection(): Promise<NatsConnection> {
    const nc = await connectJetStream({ url: natsUrl(), name: 'fti-test' });
    connections.push(nc);
    return nc;
  }

  async function newStream(nc: NatsConnection) {
    const id = randomBytes(4).toString('hex');
    const names = { stream: `fti_test_${id}`, subject: `fti.test.${id}` };
    await ensureEventStream(nc, names.stream, names.subject);
    streams.push(names.stream);
    return names;
  }

  afterAll(async () => {
    const nc = await connectJetStream({ url: natsUrl() });
    const jsm = await jetstreamManager(nc);
    for (const stream of streams) await jsm.streams.delete(stream).catch(() => undefined);
    await nc.close();
    for (const c of connections) await c.close().catch(() => undefined);
  });

  it('delivers events in stream order in count-bounded micro-batches; a consumer re-created at a checkpoint resumes right after it', async () => {
    const nc = await connection();
    const { stream, subject } = await newStream(nc);
    const publisher = new JetStreamPublisher(nc);
    for (let i = 1; i <= 50; i++)
      expect(await publisher.publish(subject, encode(`e${i}`))).toEqual({ sequence: i });

    const source = await JetStreamSource.open(nc, { stream, consumer: 'features', lingerMs: 500 });
    const first = await source.fetch({ maxEvents: 20, maxWaitMs: 2000 });
    expect(first.events.map((e) => e.sequence)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(first.events.map((e) => decode(e.data)).slice(0, 2)).toEqual(['e1', 'e2']);
    expect(first.events.every((e) => e.deliveries === 1 && e.storedAtMs > Date.now() - 60_000)).toBe(true);
    await first.ack();
    expect(await source.lastSequence()).toBe(50);
    // It received events past 20 without acking them, then died: the next consumer starts from the
    // checkpoint (20) at once instead of waiting out the ack wait.
    await nc.close();

    const again = await JetStreamSource.open(await connection(), {
      stream,
      consumer: 'features',
      startAfter: 20,
    });
    const second = await again.fetch({ maxEvents: 20, maxWaitMs: 2000 });
    expect(second.events.map((e) => e.sequence)).toEqual(Array.from({ length: 20 }, (_, i) => i + 21));
    expect(second.events.every((e) => e.deliveries === 1)).toBe(true);
    await again.ackThrough(40);
    const info = await (
      await jetstreamManager(nc.isClosed() ? await connection() : nc)
    ).consumers.info(stream, 'features');
    expect(info.ack_floor.stream_seq).toBe(40);
    expect(await again.pending()).toBe(10);
    await again.close();
  });

  it('a fetch returns what has arrived without waiting for a full batch', async () => {
    const nc = await connection();
    const { stream, subject } = await newStream(nc);
    const source = await JetStreamSource.open(nc, { stream, consumer: 'features', lingerMs: 500 });
    const publisher = new JetStreamPublisher(nc);
    const waiting = source.fetch({ maxEvents: 1000, maxWaitMs: 20_000 });
    await publisher.publish(subject, encode('only'));
    const batch = await waiting;
    expect(batch.events.map((e) => decode(e.data))).toEqual(['only']);
    await source.close();
  });

  it('redelivers a batch whose consumer died before acking it', async () => {
    const nc = await connection();
    const { stream, subject } = await newStream(nc);
    const publisher = new JetStreamPublisher(nc);
    for (let i = 0; i < 5; i++) await publisher.publish(subject, encode(`e${i}`));
    const dying = await JetStreamSource.open(nc, {
      stream,
      consumer: 'features',
      ackWaitMs: 1000,
      lingerMs: 500,
    });
    const lost = await dying.fetch({ maxEvents: 5, maxWaitMs: 2000 });
    expect(lost.events).toHaveLength(5);
    await nc.close(); // dies without acking

    const next = await JetStreamSource.open(await connection(), {
      stream,
      consumer: 'features',
      ackWaitMs: 1000,
      lingerMs: 500,
    });
    await new Promise((r) => setTimeout(r, 1500));
    const redelivered = await next.fetch({ maxEvents: 5, maxWaitMs: 3000 });
    expect(redelivered.events.map((e) => e.sequence)).toEqual([1, 2, 3, 4, 5]);
    expect(redelivered.events.every((e) => e.deliveries === 2)).toBe(true);
    await redelivered.ack();
    expect(await next.pending()).toBe(0);
  });

  it('stores a retried publish with the same message id once, and an empty stream yields an empty batch', async () => {
    const nc = await connection();
    const { stream, subject } = await newStream(nc);
    const publisher = new JetStreamPublisher(nc);
    const a = await publisher.publish(subject, encode('x'), { messageId: 'txn-1' });
    const b = await publisher.publish(subject, encode('x'), { messageId: 'txn-1' });
    expect(b.sequence).toBe(a.sequence);
    const source = await JetStreamSource.open(nc, { stream, consumer: 'features', lingerMs: 500 });
    expect((await source.fetch({ maxEvents: 10, maxWaitMs: 1000 })).events).toHaveLength(1);
    const empty = await source.fetch({ maxEvents: 10, maxWaitMs: 1000 });
    expect(empty.events).toEqual([]);
  });

  it('a server that does not answer is reported as unavailable, naming the URL and the fix', async () => {
    const error = await connectJetStream({ url: 'nats://127.0.0.1:1' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceUnavailableError);
    expect((error as Error).message).toContain('nats://127.0.0.1:1');
    expect((error as Error).message).toContain('NATS_URL');
  });
});
