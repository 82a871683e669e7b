// The platform side of the streaming benchmark: runStreamPartition (one call per key partition, in
// this process) consumes, computes the windows, upserts online and commits offline; its figures come
// from the consumers' own status reports.
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { FeatureGroupSpec } from '../../core/featurestore';
import {
  CheckpointStore,
  consumerName,
  deadLetterNames,
  eventStreamNames,
  runStreamPartition,
  type NormalizedStreamPipelineSpec,
  type StreamingDeps,
  type StreamPartitionStatus,
} from '../../core/streaming';
import type { ConsumerUnderTest, SideFigures } from './stream-drive';
import type { CountSample } from './stream-measure';

/** What the platform's consumers report themselves. */
export interface PlatformFigures extends SideFigures {
  /** Offline micro-batch commits written (the final one at stop included). */
  readonly commits: number;
  /** Time from stop to the consumers' return (the final offline commit). */
  readonly finalCommitMs: number;
  /** The largest lag the consumers reported (they ask the stream for its end once a second). */
  readonly reportedMaxLag: number;
  readonly deadLetters: number;
}

/**
 * Starts the pipeline `spec` (its `startFrom` ignored: it starts right after `startAfter`) with one
 * runStreamPartition per key partition in this process; resolves once every partition reported,
 * from when no event published is missed.
 */
export async function startPipeline(
  deps: StreamingDeps,
  spec: NormalizedStreamPipelineSpec,
  startAfter: number,
): Promise<ConsumerUnderTest<PlatformFigures>> {
  const controller = new AbortController();
  const latest = new Map<number, StreamPartitionStatus>();
  // Per micro-batch (finer than the once-a-second status): highest sequence read and events, per partition.
  const processedBy = new Map<number, number>();
  const eventsBy = new Map<number, number>();
  const samples: CountSample[] = [];
  let reportedMaxLag = 0;
  let allReported: () => void = () => undefined;
  const started = new Promise<void>((resolve) => (allReported = resolve));
  const runs = Promise.all(
    Array.from({ length: spec.partitions }, (_, partition) =>
      runStreamPartition(deps, {
        spec: { ...spec, startFrom: { sequence: startAfter + 1 } },
        partition,
        runForMs: 3_600_000,
        signal: controller.signal,
        onStatus: (status) => {
          latest.set(partition, status);
          reportedMaxLag = Math.max(reportedMaxLag, status.lag);
          if (latest.size === spec.partitions) allReported();
          if (!processedBy.has(partition)) processedBy.set(partition, status.processed);
        },
        onMicroBatch: (processed, events) => {
          processedBy.set(partition, processed);
          eventsBy.set(partition, events);
          let count = 0;
          for (const e of eventsBy.values()) count += e;
          if (count !== samples.at(-1)?.count) samples.push({ at: Date.now(), count });
        },
      }),
    ),
  );
  // Each consumer reports after its first fetch (empty, or the first events of a backlog).
  await Promise.race([started, runs]);
  let stopping: Promise<PlatformFigures> | undefined;
  return {
    // Every partition reads the whole stream (skipping the other partitions' keys): the slowest counts.
    processed: () => Math.min(...[...processedBy.values()]),
    samples,
    stop: () =>
      (stopping ??= (async () => {
        const stopAt = Date.now();
        controller.abort();
        const final = await runs;
        const finalCommitMs = Date.now() - stopAt;
        // Freshness as the consumers report it (their last minute: the whole run); the worst partition's.
        const worst = (pick: (s: StreamPartitionStatus) => number | null) =>
          final.reduce<number | null>((m, s) => {
            const v = pick(s);
            return v === null ? m : Math.max(m ?? v, v);
          }, null);
        return {
          freshnessP50Ms: worst((s) => s.freshnessP50Ms),
          freshnessP99Ms: worst((s) => s.freshnessP99Ms),
          commits: final.reduce((sum, s) => sum + s.counters.commits, 0),
          finalCommitMs,
          reportedMaxLag,
          deadLetters: final.reduce((sum, s) => sum + s.counters.deadLetters, 0),
        };
      })()),
  };
}

/** Forgets a finished pipeline: its checkpoints, durable consumers and dead-letter stream. */
export async function forgetPipeline(
  deps: StreamingDeps,
  nc: NatsConnection,
  spec: NormalizedStreamPipelineSpec,
  source: FeatureGroupSpec,
): Promise<void> {
  await new CheckpointStore(deps.db).reset(spec.name);
  const jsm = await jetstreamManager(nc);
  const { stream } = eventStreamNames(source.name, source.version);
  for (let p = 0; p < spec.partitions; p++)
    await jsm.consumers.delete(stream, consumerName(spec.name, p)).catch(() => undefined);
  await jsm.streams.delete(deadLetterNames(spec.name).stream).catch(() => undefined);
}
