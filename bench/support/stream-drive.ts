// Drives a consumer under test (the platform's pipeline or the floor's raw consumer) the same way:
// live (publishing at a fixed rate while it consumes) or from a backlog (events published first,
// then consumed as fast as it can: its capacity without a publisher competing for the cores).
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { measureCpu, type CpuUse } from './stream-cpu';
import { longestGap, rateBetween, watchLag, type CountSample, type RunFigures } from './stream-measure';
import { runPublisher } from './stream-publisher';

/** A consumer started right after a stream sequence, as each side implements it. */
export interface ConsumerUnderTest<T> {
  /** Highest stream sequence it has processed (its own events and, partitioned, others' it skipped). */
  processed(): number;
  /** Cumulative events processed, one sample per micro-batch. */
  readonly samples: readonly CountSample[];
  /** Stops it (the platform commits what it has) and returns its own figures. */
  stop(): Promise<T>;
}

/** What every side reports itself: event time → row visible online. */
export interface SideFigures {
  readonly freshnessP50Ms: number | null;
  readonly freshnessP99Ms: number | null;
}

/** Where events go. */
export interface Target {
  readonly nc: NatsConnection;
  readonly natsUrl: string;
  readonly stream: string;
  readonly subject: string;
  readonly keys: number;
}

/** A consumer starting right after `startAfter` (a stream sequence). */
export type StartConsumer<T> = (startAfter: number) => Promise<ConsumerUnderTest<T>>;

async function lastSequence(target: Target): Promise<number> {
  return (await (await jetstreamManager(target.nc)).streams.info(target.stream)).state.last_seq;
}

/**
 * Publishes `rate` events/s for `durationMs` while the consumer consumes; waits up to `drainMs` for
 * it to catch up. Throughput counts from `warmMs` after publishing began to its end.
 */
export async function driveLive<T extends SideFigures>(
  target: Target,
  options: { rate: number; durationMs: number; warmMs: number; drainMs: number },
  start: StartConsumer<T>,
): Promise<RunFigures & { readonly side: T }> {
  const consumer = await start(await lastSequence(target));
  const lag = watchLag(target.nc, target.stream, () => consumer.processed());
  let side: T | undefined;
  try {
    const cpu = measureCpu();
    const published = await runPublisher({
      mode: 'raw',
      natsUrl: target.natsUrl,
      subject: target.subject,
      rate: options.rate,
      durationMs: options.durationMs,
      keys: target.keys,
    });
    const cpuUse = cpu();
    const last = await lastSequence(target);
    const drainUntil = Date.now() + options.drainMs;
    while (consumer.processed() < last && Date.now() < drainUntil)
      await new Promise((r) => setTimeout(r, 20));
    const lagAtEnd = await lag.stop();
    side = await consumer.stop();
    const from = published.startedAt + options.warmMs;
    const pubEnd = published.startedAt + published.publishSeconds * 1000;
    const samples = consumer.samples;
    return {
      publishRate: published.acked / published.publishSeconds,
      publisherCores: published.threadCores,
      consumedRate: rateBetween(samples, from, pubEnd),
      freshnessP50Ms: side.freshnessP50Ms,
      freshnessP99Ms: side.freshnessP99Ms,
      maxLag: lag.max(),
      lagAtEnd,
      batches: samples.length,
      longestGapMs: longestGap(samples, from, pubEnd),
      events: samples.at(-1)?.count ?? 0,
      cpu: cpuUse,
      side,
    };
  } finally {
    await lag.stop().catch(() => undefined);
    if (!side) await consumer.stop().catch(() => undefined);
  }
}

/** What a consumer achieved on a backlog. */
export interface BacklogFigures<T> {
  /** Events per second from its first micro-batch to the one that emptied the backlog. */
  readonly eventsPerSecond: number;
  readonly events: number;
  /** Whether it read the whole backlog within the time allowed. */
  readonly drained: boolean;
  readonly cpu: CpuUse | undefined;
  readonly side: T;
}

/**
 * Publishes `events` events as fast as the publisher can, then starts the consumer on them and
 * measures how fast it empties the backlog (at most `timeoutMs`).
 */
export async function driveBacklog<T>(
  target: Target,
  options: { events: number; timeoutMs: number },
  start: StartConsumer<T>,
): Promise<BacklogFigures<T>> {
  const before = await lastSequence(target);
  await runPublisher({
    mode: 'raw',
    natsUrl: target.natsUrl,
    subject: target.subject,
    rate: 1_000_000,
    durationMs: 600_000,
    count: options.events,
    keys: target.keys,
  });
  const last = await lastSequence(target);
  const cpu = measureCpu();
  const consumer = await start(before);
  let side: T | undefined;
  try {
    const until = Date.now() + options.timeoutMs;
    while (consumer.processed() < last && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    const cpuUse = cpu();
    const drained = consumer.processed() >= last;
    side = await consumer.stop();
    const samples = consumer.samples;
    const first = samples[0];
    const end = samples.at(-1);
    return {
      eventsPerSecond:
        first && end && end.at > first.at ? ((end.count - first.count) * 1000) / (end.at - first.at) : 0,
      events: end?.count ?? 0,
      drained,
      cpu: cpuUse,
      side,
    };
  } finally {
    if (!side) await consumer.stop().catch(() => undefined);
  }
}
