import os from 'node:os';
import path from 'node:path';
import { DuckSession } from '../duckdb';
import { describeError, ValidationError } from '../errors';
import type { FeatureGroupSpec } from '../featurestore/feature-group';
import { assertWritableGroup } from '../featurestore/errors';
import { getFeatureGroup, type FeatureGroupRecord } from '../featurestore/feature-group-repository';
import type { IngestionDeps } from '../featurestore/ingestion';
import { OfflineTable } from '../featurestore/offline/offline-table';
import { CheckpointStore, type StreamCounters } from './checkpoints';
import { DeadLetterSink, type DeadLetterReason } from './dead-letters';
import { validateFeatureEvent, type FeatureEvent } from './feature-events';
import {
  connectJetStream,
  ensureEventStream,
  JetStreamSource,
  streamLastSequence,
} from './jetstream/jetstream';
import { commitStreamRows } from './offline-batches';
import { streamOperatorFor, type StreamOperator } from './operators';
import { partitionOf } from './partition';
import type { NormalizedStreamPipelineSpec } from './pipeline-spec';
import { streamMetrics } from './metrics';
import { RollingStats } from './rolling-stats';
import { eventStreamNames } from './subjects';

/** Adapters a streaming consumer needs: the feature store's, plus the broker. */
export interface StreamingDeps extends IngestionDeps {
  readonly natsUrl: string;
}

/** What a consumer reports in each heartbeat, in `fti stream status` and in its result. */
export interface StreamPartitionStatus {
  readonly pipeline: string;
  readonly partition: number;
  readonly partitions: number;
  readonly phase: 'starting' | 'consuming' | 'committing' | 'stopped';
  /** Last stream sequence whose effects are checkpointed. */
  readonly position: number;
  /** Last sequence read (processed, not yet checkpointed when above `position`). */
  readonly processed: number;
  /** Newest sequence in the stream when last asked. */
  readonly lastSequence: number;
  /** Events in the stream not yet processed by this consumer. */
  readonly lag: number;
  /** Events of this partition processed per second (last minute). */
  readonly eventsPerSecond: number;
  /** Event time → row visible online, ms (last minute); null without samples. */
  readonly freshnessP50Ms: number | null;
  readonly freshnessP99Ms: number | null;
  /** Stored in the stream → row visible online, ms (last minute). */
  readonly latencyP50Ms: number | null;
  readonly latencyP99Ms: number | null;
  readonly counters: StreamCounters;
  readonly lastCommitId: number | null;
  readonly keys: number;
  readonly retainedEvents: number;
}

/** Options of {@link runStreamPartition}. */
export interface PartitionRunOptions {
  /** The pipeline, with feature group versions resolved. */
  readonly spec: NormalizedStreamPipelineSpec;
  readonly partition: number;
  /** Return (after a final commit) once this long has passed: the workflow continues as new. */
  readonly runForMs: number;
  /** Aborted when the pipeline is stopped: the consumer commits what it has, then returns. */
  readonly signal: AbortSignal;
  /** Called about once a second with the current figures (activity heartbeats, metrics). */
  readonly onStatus?: (status: StreamPartitionStatus) => void;
  /**
   * Called after every micro-batch whose rows are visible online, with the highest sequence read
   * and the partition's cumulative event count: cheap (no percentiles), for callers that measure.
   */
  readonly onMicroBatch?: (processed: number, events: number) => void;
}

/**
 * Consumes one key partition of a streaming pipeline until stopped or `runForMs` has passed.
 *
 * Exactly-once effect: the consumer claims its partition (fencing any earlier one), restores window
 * state and position from the checkpoint and re-creates its durable consumer right after that
 * position. Each micro-batch's rows are upserted online at once (upsert-if-newer, so rewriting them
 * after a crash changes nothing); every `commitIntervalSeconds` the rows since the last checkpoint
 * are committed offline as one upsert whose idempotency key is the stream range, and the checkpoint
 * (state + position) is written in the same transaction; only then are the events acked. A crash at
 * any point replays from the last checkpoint and, the operator being deterministic, writes exactly
 * the same rows. Events that cannot be decoded or validated, events later than the allowed
 * lateness, and rows the group refuses go to the dead-letter stream with the reason.
 */
export async function runStreamPartition(
  deps: StreamingDeps,
  options: PartitionRunOptions,
): Promise<StreamPartitionStatus> {
  const { spec, partition } = options;
  const sourceGroup = await getFeatureGroup(deps.db, spec.source.name, spec.source.version);
  const targetRef = spec.featureGroup ?? spec.source;
  const targetGroup = await getFeatureGroup(deps.db, targetRef.name, targetRef.version);
  assertWritableGroup(targetGroup.spec, `streaming pipeline ${spec.name}`);
  const transformation = spec.transformation ? deps.transformations.get(spec.transformation) : undefined;
  const checkpoints = new CheckpointStore(deps.db);
  const claimed = await checkpoints.claim(spec.name, partition, spec.partitions);
  const operator = streamOperatorFor({
    transformationName: spec.transformation,
    transformation,
    source: sourceGroup.spec,
    allowedLatenessMs: spec.allowedLatenessSeconds * 1000,
    state: claimed.state,
  });
  const nc = await connectJetStream({ url: deps.natsUrl, name: `fti-stream-${spec.name}-p${partition}` });
  const duck = await DuckSession.open({ threads: 1 });
  try {
    const names = eventStreamNames(sourceGroup.spec.name, sourceGroup.spec.version);
    await ensureEventStream(nc, names.stream, names.subject);
    const consumer = new PartitionConsumer(deps, options, {
      sourceGroup,
      targetGroup,
      operator,
      checkpoints,
      epoch: claimed.epoch,
      generation: claimed.generation,
      position: claimed.position,
      counters: claimed.counters,
      lastCommitId: claimed.lastCommitId,
      deadLetters: new DeadLetterSink(nc, spec.name),
      duck,
    });
    let startAfter = claimed.position;
    const fresh = claimed.position === 0 && claimed.state === null && claimed.counters.events === 0;
    if (fresh && spec.startFrom !== 'earliest') {
      // Where a new pipeline starts is decided once and checkpointed, so a crash before the first
      // commit does not move it.
      startAfter =
        spec.startFrom === 'latest'
          ? await streamLastSequence(nc, names.stream)
          : spec.startFrom.sequence - 1;
      await consumer.checkpointAt(startAfter);
    }
    const source = await JetStreamSource.open(nc, {
      stream: names.stream,
      consumer: consumerName(spec.name, partition),
      startAfter,
      bufferEvents: Math.max(4096, spec.maxBatchEvents * 2),
    });
    try {
      return await consumer.run(source);
    } finally {
      await source.close();
    }
  } finally {
    duck.close();
    await nc.close().catch(() => undefined);
  }
}

/** A platform-built row, refused only for a non-finite number (a sum that overflowed). */
function finiteRow(row: Readonly<Record<string, unknown>>): Readonly<Record<string, unknown>> {
  for (const [name, value] of Object.entries(row)) {
    if (typeof value === 'number' && !Number.isFinite(value))
      throw new ValidationError(`row field "${name}" is not a finite number (an aggregate overflowed).`);
  }
  return row;
}

/** Durable consumer name of a partition (shown by `nats consumer ls`). */
export function consumerName(pipeline: string, partition: number): string {
  return `fti_${pipeline}_p${partition}`;
}

interface ConsumerState {
  readonly sourceGroup: FeatureGroupRecord;
  readonly targetGroup: FeatureGroupRecord;
  readonly operator: StreamOperator;
  readonly checkpoints: CheckpointStore;
  readonly epoch: number;
  readonly generation: string;
  position: number;
  counters: StreamCounters;
  lastCommitId: number | null;
  readonly deadLetters: DeadLetterSink;
  readonly duck: DuckSession;
}

class PartitionConsumer {
  private processed: number;
  private lastSequence = 0;
  private phase: StreamPartitionStatus['phase'] = 'starting';
  /** Rows since the last checkpoint, one per record key (the last wins). */
  private readonly offline = new Map<string, Readonly<Record<string, unknown>>>();
  private readonly rolling = new RollingStats();
  private readonly rollingLatency = new RollingStats();
  private readonly table: OfflineTable;
  private readonly emitFromMs: number | undefined;
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  /** Counters, updated in place per event (copied into checkpoints and status). */
  private readonly counts: { -readonly [K in keyof StreamCounters]: StreamCounters[K] };
  private readonly deadLetterSends: Promise<void>[] = [];
  private readonly recordKeyColumns: readonly string[];
  /** Last sequence handed to a commit (landed or in flight). */
  private planned: number;
  private inFlight: Promise<void> | undefined;
  /**
   * Window rows are built by the platform from validated events, and events written as they are
   * were validated against this very group: only user row functions need the full check.
   */
  private readonly trustedOutput: boolean;

  constructor(
    private readonly deps: StreamingDeps,
    private readonly options: PartitionRunOptions,
    private readonly s: ConsumerState,
  ) {
    this.processed = s.position;
    this.planned = s.position;
    this.counts = { ...s.counters };
    this.recordKeyColumns = [...s.targetGroup.spec.primaryKey, s.targetGroup.spec.eventTime];
    this.table = new OfflineTable(deps, s.targetGroup);
    this.emitFromMs = options.spec.emitFrom ? Date.parse(options.spec.emitFrom) : undefined;
    this.trustedOutput =
      s.operator.kind === 'window' || (s.operator.kind === 'events' && s.sourceGroup.id === s.targetGroup.id);
  }

  private get target(): FeatureGroupSpec {
    return this.s.targetGroup.spec;
  }

  async run(source: JetStreamSource): Promise<StreamPartitionStatus> {
    const { spec } = this.options;
    const deadline = Date.now() + this.options.runForMs;
    const intervalMs = spec.commitIntervalSeconds * 1000;
    let nextCommitAt = Date.now() + intervalMs;
    let nextLagCheck = 0;
    let nextStatusAt = 0;
    this.phase = 'consuming';
    while (!this.options.signal.aborted && Date.now() < deadline) {
      const waitMs = Math.max(
        10,
        Math.min(spec.maxBatchWaitMs, nextCommitAt - Date.now(), deadline - Date.now()),
      );
      const batch = await source.fetch({ maxEvents: spec.maxBatchEvents, maxWaitMs: waitMs });
      const online: Readonly<Record<string, unknown>>[] = [];
      const eventTimes: number[] = [];
      const storedAt: number[] = [];
      let mine = 0;
      let valid = 0;
      for (const event of batch.events) {
        if (event.sequence <= this.processed) continue; // already safe (a redelivery)
        this.processed = event.sequence;
        const outcome = this.process(event.sequence, event.subject, event.data);
        if (outcome === 'other-partition') continue;
        mine += 1;
        if (outcome === 'dead') continue;
        valid += 1;
        for (const row of outcome.rows) {
          online.push(row);
          this.offline.set(this.recordKey(row), row);
        }
        // Freshness is about rows that became visible: warm-up events (before emitFrom) have none.
        if (outcome.rows.length > 0) {
          eventTimes.push(outcome.eventTimeMs);
          storedAt.push(event.storedAtMs);
        }
      }
      if (this.deadLetterSends.length > 0) {
        const sends = this.deadLetterSends.splice(0);
        await Promise.all(sends);
      }
      if (online.length > 0 && this.target.online.enabled)
        await this.deps.online.writeRows(this.target, online);
      if (batch.events.length > 0) this.options.onMicroBatch?.(this.processed, this.counts.events);
      const now = Date.now();
      const labels = { pipeline: spec.name, partition: String(this.options.partition) };
      if (valid > 0) streamMetrics.events.inc(labels, valid);
      for (const t of eventTimes) streamMetrics.freshness.observe(labels, (now - t) / 1000);
      this.rolling.record(
        now,
        mine,
        eventTimes.map((t) => now - t),
      );
      this.rollingLatency.record(
        now,
        0,
        storedAt.map((t) => now - t),
      );
      if (now >= nextLagCheck) {
        this.lastSequence = await source.lastSequence().catch(() => this.lastSequence);
        nextLagCheck = now + 1000;
      }
      if (now >= nextCommitAt) {
        // The commit runs while the loop goes on writing online; at most one is in flight.
        await this.commitInBackground(source);
        nextCommitAt = Date.now() + intervalMs;
      }
      if (now >= nextStatusAt) {
        // Percentiles sort a minute of samples: once a second is enough for heartbeats and metrics.
        const status = this.status();
        streamMetrics.report(status);
        this.options.onStatus?.(status);
        nextStatusAt = now + 1000;
      }
    }
    await this.landCommit();
    await this.commitInBackground(source);
    await this.landCommit();
    this.phase = 'stopped';
    return this.status();
  }

  /** Decodes, validates and routes one event; returns its rows, or why it produced none. */
  private process(
    sequence: number,
    subject: string,
    data: Uint8Array,
  ):
    'other-partition' | 'dead' | { rows: readonly Readonly<Record<string, unknown>>[]; eventTimeMs: number } {
    const { spec, partition } = this.options;
    const source = this.s.sourceGroup.spec;
    const operator = this.s.operator;
    let parsed: unknown;
    try {
      parsed = JSON.parse(this.decoder.decode(data));
    } catch {
      // Nobody can tell its key: partition 0 reports it, once.
      if (partition === 0) this.dead(sequence, subject, data, 'undecodable', 'not UTF-8 JSON');
      return partition === 0 ? 'dead' : 'other-partition';
    }
    // Route on the raw key values before validating: every consumer reads every event, and only the
    // key's owner pays for checking it (and reports it when it is invalid).
    const fields =
      typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
        ? (parsed as Record<string, unknown>)
        : {};
    if (
      partitionOf(
        operator.partitionBy.map((c) => fields[c] ?? null),
        spec.partitions,
      ) !== partition
    )
      return 'other-partition';
    let event: FeatureEvent;
    try {
      event = validateFeatureEvent(source, parsed, `event ${sequence}`);
    } catch (error) {
      this.dead(sequence, subject, data, 'invalid', describeError(error));
      return 'dead';
    }
    const eventTimeMs = Date.parse(String(event[source.eventTime]));
    const result = operator.add(event);
    if (result.late) {
      this.counts.late += 1;
      this.dead(
        sequence,
        subject,
        data,
        'late',
        `event time is ${Math.round((result.watermarkMs - eventTimeMs) / 1000)} s before the watermark (newest event time minus the allowed lateness of ${spec.allowedLatenessSeconds} s)`,
      );
      return 'dead';
    }
    const rows: Readonly<Record<string, unknown>>[] = [];
    for (const row of result.rows) {
      let checked: Readonly<Record<string, unknown>>;
      try {
        checked = this.trustedOutput
          ? finiteRow(row)
          : validateFeatureEvent(this.target, row, `row from event ${sequence}`);
      } catch (error) {
        this.dead(sequence, subject, data, 'invalid_output', describeError(error));
        continue;
      }
      if (
        this.emitFromMs !== undefined &&
        Date.parse(String(checked[this.target.eventTime])) < this.emitFromMs
      )
        continue;
      rows.push(checked);
    }
    this.counts.events += 1;
    this.counts.rows += rows.length;
    return { rows, eventTimeMs };
  }

  /**
   * Sends an event to the dead-letter stream; the publish is awaited with its micro-batch (before
   * any checkpoint can cover the event), not per event.
   */
  private dead(
    sequence: number,
    subject: string,
    data: Uint8Array,
    reason: DeadLetterReason,
    detail: string,
  ): void {
    this.counts.deadLetters += 1;
    streamMetrics.deadLetters.inc({
      pipeline: this.options.spec.name,
      partition: String(this.options.partition),
      reason,
    });
    const sent = this.s.deadLetters.send({
      pipeline: this.options.spec.name,
      partition: this.options.partition,
      sequence,
      subject,
      reason,
      detail,
      data: Buffer.from(data).toString('utf8'),
    });
    sent.catch(() => undefined); // surfaced when the batch awaits it
    this.deadLetterSends.push(sent);
  }

  private recordKey(row: Readonly<Record<string, unknown>>): string {
    // Joined with a separator no key holds (checked); JSON only for the odd key that does.
    let key = '';
    for (const c of this.recordKeyColumns) {
      const part = String(row[c]);
      if (part.includes('\u0001')) return JSON.stringify(this.recordKeyColumns.map((k) => row[k]));
      key += `${part}\u0001`;
    }
    return key;
  }

  /** Writes a checkpoint at `position` with no offline rows (a new pipeline's starting point). */
  async checkpointAt(position: number): Promise<void> {
    await this.s.checkpoints.save(this.deps.db, this.checkpoint(position));
    this.s.position = position;
    this.processed = position;
    this.planned = position;
  }

  private checkpoint(position: number) {
    const watermarkMs = this.s.operator.watermarkMs();
    return {
      pipeline: this.options.spec.name,
      partition: this.options.partition,
      epoch: this.s.epoch,
      position,
      state: this.s.operator.snapshot(),
      counters: { ...this.counts, ...(watermarkMs !== undefined ? { watermarkMs } : {}) },
    };
  }

  /** Waits for the commit in flight, if any; its failure fails the consumer (the checkpoint did not move). */
  private async landCommit(): Promise<void> {
    const pending = this.inFlight;
    this.inFlight = undefined;
    if (pending) await pending;
  }

  /**
   * Makes everything processed so far safe, in the background: the rows since the last planned
   * commit become one offline commit keyed by their stream range, with the checkpoint (window state
   * taken now, position, counters) in the same transaction — or the checkpoint alone when there are
   * no rows — and the events are acked once it landed. The previous commit lands first, so ranges
   * are consecutive and the checkpoint only moves forward.
   */
  private async commitInBackground(source: JetStreamSource): Promise<void> {
    await this.landCommit();
    if (this.processed <= this.planned) return;
    const { spec, partition } = this.options;
    const from = this.planned + 1;
    const to = this.processed;
    this.planned = to;
    const rows = [...this.offline.values()];
    this.offline.clear();
    if (rows.length > 0) {
      this.counts.commits += 1;
      this.counts.lastCommitAt = new Date().toISOString();
    }
    const checkpoint = this.checkpoint(to);
    this.phase = 'committing';
    this.inFlight = (async () => {
      if (rows.length > 0) {
        const result = await commitStreamRows(
          {
            table: this.table,
            duck: this.s.duck,
            spec: this.target,
            scratchDir: this.deps.scratchDir || path.join(os.tmpdir(), 'fti-stream'),
          },
          rows,
          {
            idempotencyKey: `stream:${spec.name}:${this.s.generation}:p${partition}:${from}-${to}`,
            // A large micro-batch can take seconds to write: keep the heartbeat going meanwhile.
            onProgress: () => this.options.onStatus?.(this.status()),
            alongside: async (tx, commit) => {
              await this.s.checkpoints.save(tx, { ...checkpoint, lastCommitId: commit.id });
            },
          },
        );
        if (result.reused) {
          // A consumer fenced after committing this very range: its checkpoint moved with it.
          throw new Error(
            `streaming pipeline ${spec.name} partition ${partition}: range ${from}-${to} was already committed by another consumer; restarting from the checkpoint.`,
          );
        }
        this.s.lastCommitId = result.commit.id;
      } else {
        await this.s.checkpoints.save(this.deps.db, checkpoint);
      }
      this.s.position = to;
      await source.ackThrough(to);
      this.phase = 'consuming';
    })();
    // Surfaced by landCommit; never an unhandled rejection meanwhile.
    this.inFlight.catch(() => undefined);
  }

  private status(): StreamPartitionStatus {
    const now = Date.now();
    const [f50, f99] = this.rolling.percentiles(now, [50, 99]);
    const [l50, l99] = this.rollingLatency.percentiles(now, [50, 99]);
    const stats = this.s.operator.stats();
    const lastSequence = Math.max(this.lastSequence, this.processed);
    return {
      pipeline: this.options.spec.name,
      partition: this.options.partition,
      partitions: this.options.spec.partitions,
      phase: this.phase,
      position: this.s.position,
      processed: this.processed,
      lastSequence,
      lag: lastSequence - this.processed,
      eventsPerSecond: Math.round(this.rolling.rate(now) * 10) / 10,
      freshnessP50Ms: f50 ?? null,
      freshnessP99Ms: f99 ?? null,
      latencyP50Ms: l50 ?? null,
      latencyP99Ms: l99 ?? null,
      counters: { ...this.counts },
      lastCommitId: this.s.lastCommitId,
      keys: stats.keys,
      retainedEvents: stats.retainedEvents,
    };
  }
}
