// The benchmark's event publisher, run in a worker thread so that publishing does not take turns
// with the consumer on one event loop: events {key, event_time = now, amount} at a fixed rate, sent
// either through the platform's producer (validated, message ids, acks on one subscription) or
// raw (a plain JetStream publish with its ack, nothing else), for a fixed time or number of events.
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { connect, createInbox, type NatsConnection } from '@nats-io/transport-node';
import { connectJetStream, FeatureEventProducer } from '../../core/streaming';
import { measureThreadCpu } from './stream-cpu';
import type { PublisherJob, PublisherResult } from './stream-publisher';

/** Most chunks of events awaiting their acks at once (each chunk is ~10 ms of events). */
const CHUNKS_IN_FLIGHT = 4;
/** A chunk whose acks have not all arrived by then fails the run (the broker is stuck). */
const ACK_TIMEOUT_MS = 30_000;

type Publish = (events: readonly Record<string, number | string>[]) => Promise<void>;

/** Raw JetStream publishes: one reply subscription, acks counted per chunk, no validation or ids. */
function rawPublisher(nc: NatsConnection, subject: string): Publish {
  const inbox = createInbox();
  const chunks = new Map<number, { left: number; done: () => void; fail: (e: Error) => void }>();
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let next = 0;
  nc.subscribe(`${inbox}.*`, {
    callback: (error, msg) => {
      if (error) return;
      const id = Number(msg.subject.slice(inbox.length + 1));
      const chunk = chunks.get(id);
      if (!chunk) return;
      let ack: { seq?: number; error?: { description?: string } } = {};
      try {
        ack = JSON.parse(decoder.decode(msg.data)) as typeof ack;
      } catch {
        // an empty "no responders" status: no stream captures the subject
      }
      if (ack.error || typeof ack.seq !== 'number') {
        chunks.delete(id);
        chunk.fail(
          new Error(`JetStream refused an event: ${ack.error?.description ?? 'no stream stored it'}`),
        );
      } else if (--chunk.left === 0) {
        chunks.delete(id);
        chunk.done();
      }
    },
  });
  return (events) =>
    new Promise<void>((resolve, reject) => {
      const id = next++;
      const timer = setTimeout(() => {
        chunks.delete(id);
        reject(
          new Error(`JetStream did not acknowledge ${events.length} events within ${ACK_TIMEOUT_MS} ms`),
        );
      }, ACK_TIMEOUT_MS);
      const settle = (error?: Error) => {
        clearTimeout(timer);
        if (error) reject(error);
        else resolve();
      };
      chunks.set(id, { left: events.length, done: () => settle(), fail: settle });
      for (const event of events)
        nc.publish(subject, encoder.encode(JSON.stringify(event)), { reply: `${inbox}.${id}` });
    });
}

async function run(job: PublisherJob): Promise<PublisherResult> {
  const nc =
    job.mode === 'platform'
      ? await connectJetStream({ url: job.natsUrl, name: 'fti-bench-stream-publisher' })
      : await connect({ servers: job.natsUrl, name: 'fti-bench-stream-raw-publisher' });
  let publish: Publish;
  if (job.mode === 'platform') {
    const producer = new FeatureEventProducer(nc, job.spec!);
    publish = async (events) => void (await producer.send(events));
  } else {
    publish = rawPublisher(nc, job.subject);
  }
  // A chunk is at most ~10 ms of events, so a late tick does not turn into one large burst.
  const chunkMax = Math.max(50, Math.ceil(job.rate / 100));
  const inFlight = new Set<Promise<void>>();
  let sent = 0;
  let acked = 0;
  let failure: Error | undefined;
  const start = performance.now();
  const startedAt = Date.now();
  const threadCpu = measureThreadCpu();
  for (;;) {
    const elapsed = performance.now() - start;
    if (elapsed >= job.durationMs || failure) break;
    const due = Math.min(Math.floor((elapsed / 1000) * job.rate), job.count ?? Infinity);
    if (sent >= (job.count ?? Infinity)) break;
    if (due <= sent) {
      await new Promise((r) => setTimeout(r, Math.max(1, ((sent + 1) / job.rate) * 1000 - elapsed)));
      continue;
    }
    const n = Math.min(due - sent, chunkMax);
    const eventTime = new Date().toISOString();
    const events = Array.from({ length: n }, () => ({
      key: Math.floor(Math.random() * job.keys),
      event_time: eventTime,
      amount: Math.round(Math.random() * 100_000) / 100,
    }));
    sent += n;
    const chunk = publish(events).then(
      () => void (acked += n),
      (error: Error) => void (failure ??= error),
    );
    inFlight.add(chunk);
    void chunk.finally(() => inFlight.delete(chunk));
    while (inFlight.size >= CHUNKS_IN_FLIGHT) await Promise.race(inFlight);
  }
  const publishSeconds = (performance.now() - start) / 1000;
  await Promise.all(inFlight);
  const threadCores = threadCpu();
  await nc.drain().catch(() => undefined);
  if (failure) throw failure;
  return { sent, acked, startedAt, publishSeconds, threadCores };
}

run(workerData as PublisherJob).then(
  (result) => parentPort!.postMessage({ ok: true, result }),
  (error: unknown) =>
    parentPort!.postMessage({
      ok: false,
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    }),
);
