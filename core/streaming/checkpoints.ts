import { and, eq, sql } from 'drizzle-orm';
import { tables, type Database, type DatabaseTransaction } from '../db';
import { FtiError, ValidationError } from '../errors';

/** Cumulative counters of one partition, kept with its checkpoint so they survive restarts. */
export interface StreamCounters {
  /** Events of this partition's keys processed (valid, on time). */
  readonly events: number;
  /** Events later than the allowed lateness (sent to the dead-letter stream). */
  readonly late: number;
  /** Events sent to the dead-letter stream for any reason (late included). */
  readonly deadLetters: number;
  /** Rows written (online and offline). */
  readonly rows: number;
  /** Offline micro-batch commits written. */
  readonly commits: number;
  /** Watermark (ms since epoch) of a window operator, if any. */
  readonly watermarkMs?: number;
  /** When the last offline commit completed (ISO-8601). */
  readonly lastCommitAt?: string;
}

/** A partition's durable progress as read when a consumer claims it. */
export interface StreamCheckpoint {
  readonly pipeline: string;
  readonly partition: number;
  readonly partitions: number;
  /** This history's id: part of offline commit keys, new after a replay. */
  readonly generation: string;
  /** Fencing token of the consumer that claimed it. */
  readonly epoch: number;
  /** Last stream sequence whose effects are safe (0: nothing yet). */
  readonly position: number;
  readonly state: Uint8Array | null;
  readonly counters: StreamCounters;
  readonly lastCommitId: number | null;
  readonly updatedAt: Date;
}

/** A consumer's checkpoint was taken over by a newer consumer of the same partition. */
export class StreamFencedError extends FtiError {
  constructor(pipeline: string, partition: number, epoch: number) {
    super(
      `streaming pipeline ${pipeline} partition ${partition}: this consumer (epoch ${epoch}) was replaced by a newer one; it stops without writing its checkpoint.`,
      { retryable: false },
    );
  }
}

export const ZERO_COUNTERS: StreamCounters = { events: 0, late: 0, deadLetters: 0, rows: 0, commits: 0 };

type Executor = Database | DatabaseTransaction;

/**
 * Checkpoints of streaming pipelines in PostgreSQL. A consumer claims its partition (bumping the
 * epoch, which fences any earlier consumer still running), restores state and position from it, and
 * saves with a compare-and-set on its epoch — in the transaction of the offline commit the
 * checkpoint belongs to, so rows, state and position move together.
 */
export class CheckpointStore {
  constructor(private readonly db: Database) {}

  /**
   * Claims a partition for a new consumer: creates its row on first use, bumps the epoch. Refuses a
   * partition count different from the one the pipeline's state was built with.
   */
  async claim(pipeline: string, partition: number, partitions: number): Promise<StreamCheckpoint> {
    const t = tables.streamCheckpoints;
    await this.db.insert(t).values({ pipeline, partition, partitions }).onConflictDoNothing();
    const [row] = await this.db
      .update(t)
      .set({ epoch: sql`${t.epoch} + 1` })
      .where(and(eq(t.pipeline, pipeline), eq(t.partition, partition)))
      .returning();
    if (!row) throw new Error(`checkpoint of ${pipeline} partition ${partition} vanished while claiming it`);
    if (row.partitions !== partitions) {
      throw new ValidationError(
        `streaming pipeline ${pipeline} was checkpointed with ${row.partitions} partitions, not ${partitions}: its window state is split by key partition. Start it with --partitions ${row.partitions}, or replay it from the stream with \`fti stream replay ${pipeline} --partitions ${partitions}\`.`,
        { location: 'partitions' },
      );
    }
    return toCheckpoint(row);
  }

  /**
   * Saves a checkpoint if `epoch` still owns the partition; otherwise throws
   * {@link StreamFencedError} (and, inside a transaction, aborts what was written with it).
   */
  async save(
    executor: Executor,
    checkpoint: {
      readonly pipeline: string;
      readonly partition: number;
      readonly epoch: number;
      readonly position: number;
      readonly state: Uint8Array | null;
      readonly counters: StreamCounters;
      readonly lastCommitId?: number | null;
    },
  ): Promise<void> {
    const t = tables.streamCheckpoints;
    const updated = await executor
      .update(t)
      .set({
        position: checkpoint.position,
        state: checkpoint.state ? Buffer.from(checkpoint.state) : null,
        stats: checkpoint.counters,
        ...(checkpoint.lastCommitId !== undefined ? { lastCommitId: checkpoint.lastCommitId } : {}),
        updatedAt: new Date(),
      })
      .where(
        and(
          eq(t.pipeline, checkpoint.pipeline),
          eq(t.partition, checkpoint.partition),
          eq(t.epoch, checkpoint.epoch),
        ),
      )
      .returning({ partition: t.partition });
    if (updated.length === 0)
      throw new StreamFencedError(checkpoint.pipeline, checkpoint.partition, checkpoint.epoch);
  }

  /** Every partition's checkpoint of a pipeline (state left out), by partition. */
  async list(pipeline: string): Promise<Omit<StreamCheckpoint, 'state'>[]> {
    const t = tables.streamCheckpoints;
    const rows = await this.db
      .select({
        pipeline: t.pipeline,
        partition: t.partition,
        partitions: t.partitions,
        generation: t.generation,
        epoch: t.epoch,
        position: t.position,
        stats: t.stats,
        lastCommitId: t.lastCommitId,
        updatedAt: t.updatedAt,
      })
      .from(t)
      .where(eq(t.pipeline, pipeline))
      .orderBy(t.partition);
    return rows.map(({ stats, ...r }) => ({
      ...r,
      counters: { ...ZERO_COUNTERS, ...(stats as Partial<StreamCounters>) },
    }));
  }

  /**
   * Resolves once every partition of `pipeline` has checkpointed `position` (a stream sequence): its
   * online rows and offline commit cover every event up to there. Polls every `pollMs`; throws
   * naming the partitions' positions when `timeoutMs` passes first.
   */
  async waitForPosition(
    pipeline: string,
    position: number,
    options: { readonly timeoutMs?: number; readonly pollMs?: number } = {},
  ): Promise<void> {
    const timeoutMs = options.timeoutMs ?? 120_000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const rows = await this.list(pipeline);
      if (rows.length > 0 && rows.every((r) => r.position >= position)) return;
      if (Date.now() > deadline) {
        const at =
          rows.length === 0
            ? 'no checkpoint yet'
            : `positions ${rows.map((r) => `p${r.partition}=${r.position}`).join(', ')}`;
        throw new Error(
          `streaming pipeline ${pipeline} did not checkpoint stream position ${position} within ${timeoutMs / 1000} s (${at})`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 200));
    }
  }

  /** Forgets a pipeline's checkpoints (a replay starts from the stream again). Returns rows removed. */
  async reset(pipeline: string): Promise<number> {
    const t = tables.streamCheckpoints;
    const removed = await this.db.delete(t).where(eq(t.pipeline, pipeline)).returning({ p: t.partition });
    return removed.length;
  }
}

function toCheckpoint(row: typeof tables.streamCheckpoints.$inferSelect): StreamCheckpoint {
  return {
    pipeline: row.pipeline,
    partition: row.partition,
    partitions: row.partitions,
    generation: row.generation,
    epoch: row.epoch,
    position: row.position,
    state: row.state ? new Uint8Array(row.state) : null,
    counters: { ...ZERO_COUNTERS, ...(row.stats as Partial<StreamCounters>) },
    lastCommitId: row.lastCommitId,
    updatedAt: row.updatedAt,
  };
}
