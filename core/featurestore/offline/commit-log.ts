import { and, asc, desc, eq, gt, inArray, isNotNull, lte, or, sql } from 'drizzle-orm';
import type { Database, DatabaseTransaction } from '../../db';
import { tables } from '../../db';
import { CommitFencedError, CommitNotFoundError, WriteConflictError } from '../errors';
import {
  commitFromRow,
  formatInstant,
  mayOverlap,
  type AsOf,
  type CommitFile,
  type CommitInfo,
  type EventRange,
  type LiveFile,
  type WriteOperation,
} from './commits';

/** The attempt that holds a commit: the commit row and its fencing token. */
export interface CommitAttempt {
  readonly commitId: number;
  readonly attempt: number;
}

/** What a commit attempt declares when it asks to complete. */
export interface CompletionRequest {
  readonly files: readonly CommitFile[];
  readonly rowsInserted: number;
  readonly rowsUpdated: number;
  readonly rowsDeleted: number;
  /**
   * How the write depends on what it read. `blind`: nothing (upsert). `read`: the snapshot at
   * `readSequence` within `range` (insert, delete, supersede) — a later commit overlapping the range
   * is a conflict. `overwrite`: replaces every file live at completion. `compaction`: replaces exactly
   * `inputs`, which must all still be live.
   */
  readonly dependency:
    | { readonly kind: 'blind' }
    | { readonly kind: 'read'; readonly readSequence: number; readonly range: EventRange }
    | { readonly kind: 'overwrite' }
    | { readonly kind: 'compaction'; readonly inputs: readonly string[] };
  /**
   * Runs inside the completing transaction, after the fencing and conflict checks: what it writes
   * becomes visible together with the commit or not at all (a streaming pipeline's checkpoint).
   * Throwing aborts the completion; the commit stays unfinished.
   */
  readonly alongside?: (tx: DatabaseTransaction, commit: CommitInfo) => Promise<void>;
}

/** Fields recorded when a commit is begun. */
export interface BeginRequest {
  readonly operation: WriteOperation | 'compaction' | 'external';
  readonly idempotencyKey: string;
  readonly pipelineRunId?: number;
  readonly window?: { readonly start: Date; readonly end: Date };
  readonly contentHash?: string;
  readonly supersedesCommitId?: number;
}

/**
 * A feature group's commit timeline in PostgreSQL, with fencing. Every attempt at a commit holds a
 * token (`attempt`); taking a commit over bumps it, and completion is a compare-and-set on it, so an
 * attempt that was taken over (a Temporal retry after a missed heartbeat, or the abandoned-commit
 * cleaner) can never complete. Completions are serialised per group by a row lock, so timeline
 * order is completion order and the conflict checks see every earlier commit.
 */
export class CommitLog {
  constructor(
    private readonly db: Database,
    private readonly featureGroupId: number,
    private readonly label: string,
  ) {}

  /** The commit with this idempotency key, if any. */
  async findByKey(idempotencyKey: string): Promise<CommitInfo | undefined> {
    const t = tables.featureGroupCommits;
    const [row] = await this.db
      .select()
      .from(t)
      .where(and(eq(t.featureGroupId, this.featureGroupId), eq(t.idempotencyKey, idempotencyKey)));
    return row ? commitFromRow(row) : undefined;
  }

  /** A completed commit of this group by id. */
  async completedById(commitId: number): Promise<CommitInfo> {
    const t = tables.featureGroupCommits;
    const [row] = await this.db
      .select()
      .from(t)
      .where(and(eq(t.featureGroupId, this.featureGroupId), eq(t.id, commitId), eq(t.state, 'completed')));
    if (!row) throw new CommitNotFoundError(this.label, `with id ${commitId}`);
    return commitFromRow(row);
  }

  /**
   * Creates the commit row for a key, or takes over the existing unfinished one by bumping its
   * token (which fences the previous holder). Returns the new attempt and the tokens it superseded.
   */
  async begin(request: BeginRequest): Promise<CommitAttempt & { previousAttempts: number[] }> {
    const t = tables.featureGroupCommits;
    const fields = {
      operation: request.operation,
      pipelineRunId: request.pipelineRunId ?? null,
      windowStart: request.window?.start ?? null,
      windowEnd: request.window?.end ?? null,
      contentHash: request.contentHash ?? null,
      supersedesCommitId: request.supersedesCommitId ?? null,
      heartbeatAt: new Date(),
    };
    for (let attempt = 0; attempt < 50; attempt++) {
      const [taken] = await this.db
        .update(t)
        .set({ ...fields, state: 'inflight', attempt: sql`${t.attempt} + 1` })
        .where(
          and(
            eq(t.featureGroupId, this.featureGroupId),
            eq(t.idempotencyKey, request.idempotencyKey),
            inArray(t.state, ['requested', 'inflight', 'aborted']),
          ),
        )
        .returning({ id: t.id, attempt: t.attempt });
      if (taken) {
        const previous = Array.from({ length: taken.attempt }, (_, i) => i);
        return { commitId: taken.id, attempt: taken.attempt, previousAttempts: previous };
      }
      const [created] = await this.db
        .insert(t)
        .values({
          ...fields,
          featureGroupId: this.featureGroupId,
          instant: formatInstant(new Date(Date.now() + attempt)),
          idempotencyKey: request.idempotencyKey,
          state: 'inflight',
          attempt: 1,
        })
        .onConflictDoNothing()
        .returning({ id: t.id });
      if (created) return { commitId: created.id, attempt: 1, previousAttempts: [] };
      // The instant collided (next millisecond), or a concurrent writer created the key (take it over),
      // or it completed meanwhile (the caller re-checks).
      const raced = await this.findByKey(request.idempotencyKey);
      if (raced?.state === 'completed') throw new CommitCompletedMeanwhile(raced);
    }
    throw new Error(`${this.label}: could not allocate a commit instant`);
  }

  /** Records that the attempt is alive; false when it was fenced (taken over or aborted). */
  async heartbeat(holder: CommitAttempt): Promise<boolean> {
    const t = tables.featureGroupCommits;
    const rows = await this.db
      .update(t)
      .set({ heartbeatAt: new Date() })
      .where(and(eq(t.id, holder.commitId), eq(t.attempt, holder.attempt), eq(t.state, 'inflight')))
      .returning({ id: t.id });
    return rows.length > 0;
  }

  /**
   * Completes the commit if the attempt still holds it and nothing it depends on changed: assigns
   * the next timeline position in the same transaction.
   * @throws {CommitFencedError} the attempt was taken over or aborted.
   * @throws {WriteConflictError} a concurrent commit invalidated what the attempt read.
   */
  async complete(holder: CommitAttempt, request: CompletionRequest): Promise<CommitInfo> {
    const t = tables.featureGroupCommits;
    const lf = tables.featureGroupLiveFiles;
    return this.db.transaction(async (tx) => {
      await tx.execute(sql`SELECT id FROM feature_groups WHERE id = ${this.featureGroupId} FOR UPDATE`);
      const [mine] = await tx.select().from(t).where(eq(t.id, holder.commitId)).for('update');
      if (!mine || mine.state !== 'inflight' || mine.attempt !== holder.attempt) {
        throw new CommitFencedError(this.label, holder.commitId, holder.attempt, mine?.attempt ?? 0);
      }
      let replacedFiles: string[] = [];
      const dependency = request.dependency;
      if (dependency.kind === 'read') {
        const later = (
          await tx
            .select()
            .from(t)
            .where(
              and(
                eq(t.featureGroupId, this.featureGroupId),
                eq(t.state, 'completed'),
                gt(t.sequence, dependency.readSequence),
              ),
            )
        ).map(commitFromRow);
        const conflicting = later.find(
          (c) =>
            c.operation !== 'compaction' &&
            (c.operation === 'overwrite' || c.files.some((f) => mayOverlap(f, dependency.range))),
        );
        if (conflicting) throw new WriteConflictError(this.label, holder.commitId, conflicting.id);
      } else if (dependency.kind === 'overwrite' || dependency.kind === 'compaction') {
        const live = new Set(
          (await tx.select({ key: lf.key }).from(lf).where(eq(lf.featureGroupId, this.featureGroupId))).map(
            (r) => r.key,
          ),
        );
        if (dependency.kind === 'overwrite') replacedFiles = [...live];
        else {
          const gone = dependency.inputs.find((key) => !live.has(key));
          if (gone !== undefined) throw new WriteConflictError(this.label, holder.commitId, undefined, gone);
          replacedFiles = [...dependency.inputs];
        }
      }
      const [next] = await tx
        .select({ seq: sql<number>`coalesce(max(${t.sequence}), 0) + 1` })
        .from(t)
        .where(eq(t.featureGroupId, this.featureGroupId));
      const [row] = await tx
        .update(t)
        .set({
          files: request.files,
          replacedFiles,
          rowsInserted: request.rowsInserted,
          rowsUpdated: request.rowsUpdated,
          rowsDeleted: request.rowsDeleted,
          state: 'completed',
          sequence: Number(next!.seq),
          completedAt: new Date(),
        })
        .where(eq(t.id, holder.commitId))
        .returning();
      const commit = commitFromRow(row!);
      await request.alongside?.(tx, commit);
      // The live-file list moves with the timeline, in the same transaction.
      if (replacedFiles.length > 0) {
        await tx
          .delete(lf)
          .where(and(eq(lf.featureGroupId, this.featureGroupId), inArray(lf.key, replacedFiles)));
      }
      if (commit.files.length > 0) {
        await tx.insert(lf).values(
          commit.files.map((f) => ({
            featureGroupId: this.featureGroupId,
            key: f.key,
            commitId: commit.id,
            dataSequence: f.dataSequence ?? commit.sequence!,
            rows: f.rows,
            bytes: f.bytes,
            minEventTimeUs: f.minEventTimeUs ?? null,
            maxEventTimeUs: f.maxEventTimeUs ?? null,
            partition: f.partition ?? null,
          })),
        );
      }
      return commit;
    });
  }

  /**
   * The latest completed commit and the files of its snapshot, read consistently (one repeatable-read
   * transaction), without replaying the timeline: the cost follows the number of live files, which
   * compaction bounds, not the number of commits.
   */
  async headSnapshot(): Promise<{ head: CommitInfo | undefined; files: LiveFile[] }> {
    const t = tables.featureGroupCommits;
    const lf = tables.featureGroupLiveFiles;
    return this.db.transaction(
      async (tx) => {
        const [row] = await tx
          .select()
          .from(t)
          .where(
            and(eq(t.featureGroupId, this.featureGroupId), eq(t.state, 'completed'), isNotNull(t.sequence)),
          )
          .orderBy(desc(t.sequence))
          .limit(1);
        const files = await tx
          .select()
          .from(lf)
          .where(eq(lf.featureGroupId, this.featureGroupId))
          .orderBy(asc(lf.dataSequence), asc(lf.commitId), asc(lf.key));
        return {
          head: row ? commitFromRow(row) : undefined,
          files: files.map((f) => ({
            key: f.key,
            sequence: f.dataSequence,
            rows: f.rows,
            bytes: f.bytes,
            ...(f.minEventTimeUs !== null && { minEventTimeUs: f.minEventTimeUs }),
            ...(f.maxEventTimeUs !== null && { maxEventTimeUs: f.maxEventTimeUs }),
            ...(f.partition !== null && { partition: f.partition }),
          })),
        };
      },
      { isolationLevel: 'repeatable read', accessMode: 'read only' },
    );
  }

  /** The latest completed commit at or before a time (or overall), without reading the timeline. */
  async head(asOfTime?: Date): Promise<CommitInfo | undefined> {
    const t = tables.featureGroupCommits;
    const conditions = [
      eq(t.featureGroupId, this.featureGroupId),
      eq(t.state, 'completed'),
      isNotNull(t.sequence),
    ];
    if (asOfTime) conditions.push(lte(t.completedAt, asOfTime));
    const [row] = await this.db
      .select()
      .from(t)
      .where(and(...conditions))
      .orderBy(desc(t.sequence))
      .limit(1);
    return row ? commitFromRow(row) : undefined;
  }

  /**
   * Aborts the commit if `attempt` still holds it, bumping the token so that attempt is fenced.
   * Returns whether it did.
   */
  async abort(holder: CommitAttempt): Promise<boolean> {
    const t = tables.featureGroupCommits;
    const rows = await this.db
      .update(t)
      .set({ state: 'aborted', attempt: sql`${t.attempt} + 1` })
      .where(
        and(
          eq(t.id, holder.commitId),
          eq(t.attempt, holder.attempt),
          inArray(t.state, ['requested', 'inflight']),
        ),
      )
      .returning({ id: t.id });
    return rows.length > 0;
  }

  /** Unfinished commits whose holder gave no sign of life since `cutoff`. */
  async silentSince(cutoff: Date): Promise<CommitInfo[]> {
    const t = tables.featureGroupCommits;
    const rows = await this.db
      .select()
      .from(t)
      .where(
        and(
          eq(t.featureGroupId, this.featureGroupId),
          inArray(t.state, ['requested', 'inflight']),
          or(lte(t.heartbeatAt, cutoff), and(sql`${t.heartbeatAt} IS NULL`, lte(t.createdAt, cutoff))),
        ),
      );
    return rows.map(commitFromRow);
  }

  /** Commits that were ever taken over or aborted (their prefixes may hold a fenced attempt's files). */
  async takenOver(): Promise<CommitInfo[]> {
    const t = tables.featureGroupCommits;
    const rows = await this.db
      .select()
      .from(t)
      .where(and(eq(t.featureGroupId, this.featureGroupId), or(gt(t.attempt, 1), eq(t.state, 'aborted'))));
    return rows.map(commitFromRow);
  }

  /** Completed commits in timeline order, up to a commit or a time. */
  async timeline(asOf?: AsOf): Promise<CommitInfo[]> {
    const t = tables.featureGroupCommits;
    const conditions = [
      eq(t.featureGroupId, this.featureGroupId),
      eq(t.state, 'completed'),
      isNotNull(t.sequence),
    ];
    if (asOf && 'time' in asOf) conditions.push(lte(t.completedAt, asOf.time));
    const rows = await this.db
      .select()
      .from(t)
      .where(and(...conditions))
      .orderBy(asc(t.sequence));
    const commits = rows.map(commitFromRow);
    if (asOf && 'commitId' in asOf) {
      const index = commits.findIndex((c) => c.id === asOf.commitId);
      if (index < 0) throw new CommitNotFoundError(this.label, `with id ${asOf.commitId}`);
      return commits.slice(0, index + 1);
    }
    if (asOf && 'time' in asOf && commits.length === 0)
      throw new CommitNotFoundError(this.label, `at or before ${asOf.time.toISOString()}`);
    return commits;
  }

  /** Every commit of the group, newest first (Hopsworks' `commit_details()`). */
  async details(limit: number): Promise<CommitInfo[]> {
    const t = tables.featureGroupCommits;
    const rows = await this.db
      .select()
      .from(t)
      .where(eq(t.featureGroupId, this.featureGroupId))
      .orderBy(sql`${t.sequence} DESC NULLS FIRST`, sql`${t.id} DESC`)
      .limit(limit);
    return rows.map(commitFromRow);
  }
}

/** Thrown by {@link CommitLog.begin} when the key's commit completed while this attempt started. */
export class CommitCompletedMeanwhile extends Error {
  constructor(readonly commit: CommitInfo) {
    super(`commit ${commit.id} completed meanwhile`);
  }
}
