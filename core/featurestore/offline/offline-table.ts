import fs from 'node:fs';
import { and, asc, eq, inArray, isNotNull, lte, sql } from 'drizzle-orm';
import type { Database } from '../../db';
import { tables } from '../../db';
import { sqlPath, type DuckSession } from '../../duckdb';
import { ValidationError } from '../../errors';
import { quoteIdent } from '../../identifiers';
import { joinKey, type ObjectCache, type ObjectStore } from '../../storage';
import { DUCK_TYPES } from '../conform';
import { CommitNotFoundError } from '../errors';
import type { FeatureGroupRecord } from '../feature-group-repository';
import {
  commitFromRow,
  formatInstant,
  liveFilesOf,
  type AsOf,
  type CommitFile,
  type CommitInfo,
  type WriteOperation,
} from './commits';

/** Adapters the offline table uses. */
export interface OfflineStoreDeps {
  readonly db: Database;
  readonly store: ObjectStore;
  readonly cache: ObjectCache;
}

/** Options of {@link OfflineTable.write}. */
export interface WriteOptions {
  readonly operation: WriteOperation;
  /** Same key → same single commit: a retry or re-run returns the completed commit unchanged. */
  readonly idempotencyKey: string;
  readonly pipelineRunId?: number;
  readonly window?: { readonly start: Date; readonly end: Date };
  /** Called with a short description of each phase (for activity heartbeats). */
  readonly onProgress?: (phase: string) => void;
}

/** What {@link OfflineTable.write} returns. */
export interface WriteResult {
  readonly commit: CommitInfo;
  /** True when the idempotency key already had a completed commit and nothing was written. */
  readonly reused: boolean;
}

const OP = '_fti_op';
const SEQ = '_fti_seq';

/**
 * A feature group's offline table: an incremental table with a commit timeline (Hudi-like) over
 * Parquet files in the object store and commit rows in PostgreSQL.
 *
 * Guarantees:
 * - record key = primary key + event time; a snapshot holds at most one row per record key, the
 *   one from the latest commit on the timeline; a delete writes tombstones;
 * - files are written under a commit-specific prefix first; a commit becomes visible only when its
 *   row turns `completed` in one transaction, which also assigns its timeline position;
 * - an idempotency key maps to exactly one completed commit; a retry after a crash removes the
 *   abandoned attempt's files and writes again;
 * - compaction rewrites the live files into one without changing any query result.
 */
export class OfflineTable {
  readonly keyColumns: readonly string[];
  private readonly label: string;

  constructor(
    private readonly deps: OfflineStoreDeps,
    readonly featureGroup: FeatureGroupRecord,
  ) {
    this.keyColumns = [...featureGroup.spec.primaryKey, featureGroup.spec.eventTime];
    this.label = `${featureGroup.spec.name} v${featureGroup.spec.version}`;
  }

  /** Object-key prefix of all files of this feature group version. */
  get prefix(): string {
    return joinKey('offline', this.featureGroup.spec.name, `v${this.featureGroup.spec.version}`);
  }

  /**
   * Writes DuckDB table `batch` (conformed: every column typed, plus `_fti_row` for input order) as one
   * commit. Duplicates within the batch collapse to the last one in input order. `insert` adds only
   * record keys not yet present; `upsert` replaces existing ones; `delete` removes the record keys (or,
   * when `batch` has no event-time values, every row of the given primary keys); `overwrite` replaces
   * the whole snapshot.
   */
  async write(duck: DuckSession, batch: string, options: WriteOptions): Promise<WriteResult> {
    const existing = await this.findByKey(options.idempotencyKey);
    if (existing?.state === 'completed') return { commit: existing, reused: true };
    const commitId = await this.begin(existing, options);
    const commitPrefix = joinKey(this.prefix, `commit=${commitId}`);
    try {
      // A previous attempt may have left files behind before it died.
      await this.deps.store.deletePrefix(`${commitPrefix}/`);
      options.onProgress?.('resolving record keys');
      const keys = this.keyColumns.map(quoteIdent).join(', ');
      await duck.run(
        `CREATE OR REPLACE TEMP TABLE _fti_batch AS SELECT * EXCLUDE (_fti_row) FROM ${batch}
         QUALIFY row_number() OVER (PARTITION BY ${keys} ORDER BY _fti_row DESC) = 1`,
      );
      if (options.operation !== 'overwrite') await this.registerSnapshot(duck, '_fti_current');
      const counts = await this.prepareOutput(duck, options.operation, keys);
      const live = options.operation === 'overwrite' ? liveFilesOf(await this.timeline()) : [];

      const files: CommitFile[] = [];
      if (counts.outRows > 0) {
        options.onProgress?.(`writing ${counts.outRows} rows to Parquet`);
        const key = joinKey(commitPrefix, 'part-00000.parquet');
        const local = await this.deps.cache.scratchPath('part.parquet');
        await duck.run(
          `COPY _fti_out TO ${sqlPath(local)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)`,
        );
        const bytes = (await fs.promises.stat(local)).size;
        options.onProgress?.(`uploading ${bytes} bytes`);
        await this.deps.store.putFile(key, local, { immutable: true });
        await this.deps.cache.adopt(key, local);
        files.push({ key, rows: counts.outRows, bytes });
      }
      const commit = await this.complete(commitId, {
        files,
        replacedFiles: live.map((f) => f.key),
        rowsInserted: counts.inserted,
        rowsUpdated: counts.updated,
        rowsDeleted: counts.deleted,
      });
      return { commit, reused: false };
    } finally {
      await duck.run(
        'DROP TABLE IF EXISTS _fti_batch; DROP TABLE IF EXISTS _fti_out; DROP VIEW IF EXISTS _fti_current',
      );
    }
  }

  private async prepareOutput(duck: DuckSession, operation: WriteOperation, keys: string) {
    const n = async (q: string) =>
      Number((await duck.one<{ n: bigint }>(`SELECT count(*) AS n FROM ${q}`))?.n ?? 0);
    const batchRows = await n('_fti_batch');
    switch (operation) {
      case 'insert': {
        await duck.run(
          `CREATE OR REPLACE TEMP TABLE _fti_out AS SELECT b.*, 'U' AS ${OP} FROM _fti_batch b ANTI JOIN _fti_current c USING (${keys})`,
        );
        const inserted = await n('_fti_out');
        return { outRows: inserted, inserted, updated: 0, deleted: 0 };
      }
      case 'upsert': {
        await duck.run(`CREATE OR REPLACE TEMP TABLE _fti_out AS SELECT b.*, 'U' AS ${OP} FROM _fti_batch b`);
        const updated = await n(`_fti_batch b SEMI JOIN _fti_current c USING (${keys})`);
        return { outRows: batchRows, inserted: batchRows - updated, updated, deleted: 0 };
      }
      case 'overwrite': {
        await duck.run(`CREATE OR REPLACE TEMP TABLE _fti_out AS SELECT b.*, 'U' AS ${OP} FROM _fti_batch b`);
        return { outRows: batchRows, inserted: batchRows, updated: 0, deleted: 0 };
      }
      case 'delete': {
        const et = quoteIdent(this.featureGroup.spec.eventTime);
        const pk = this.featureGroup.spec.primaryKey.map(quoteIdent).join(', ');
        const withTime = await n(`_fti_batch WHERE ${et} IS NOT NULL`);
        const match = withTime > 0 ? `USING (${keys})` : `USING (${pk})`;
        await duck.run(
          `CREATE OR REPLACE TEMP TABLE _fti_out AS SELECT c.*, 'D' AS ${OP} FROM _fti_current c SEMI JOIN _fti_batch b ${match}`,
        );
        const deleted = await n('_fti_out');
        return { outRows: deleted, inserted: 0, updated: 0, deleted };
      }
    }
  }

  /**
   * Creates DuckDB view `view` holding the snapshot (one row per record key, schema order) as of the
   * latest commit, a commit id, or a wall-clock time. Returns the commit it reflects (undefined for an
   * empty table).
   */
  async registerSnapshot(duck: DuckSession, view: string, asOf?: AsOf): Promise<CommitInfo | undefined> {
    const timeline = await this.timeline(asOf);
    const live = liveFilesOf(timeline);
    await this.registerResolved(duck, view, live, false);
    return timeline.at(-1);
  }

  /**
   * Creates DuckDB view `view` with the changes after commit `fromCommitId` up to and including
   * `toCommitId` (default: latest): the latest version of every changed record key, with a `_change`
   * column of `upsert` or `delete`. Compactions carry no changes.
   */
  async registerIncremental(
    duck: DuckSession,
    view: string,
    fromCommitId: number,
    toCommitId?: number,
  ): Promise<CommitInfo[]> {
    const all = await this.timeline();
    const from = all.find((c) => c.id === fromCommitId);
    if (!from) throw new CommitNotFoundError(this.label, `with id ${fromCommitId}`);
    const to = toCommitId === undefined ? all.at(-1)! : all.find((c) => c.id === toCommitId);
    if (!to) throw new CommitNotFoundError(this.label, `with id ${toCommitId}`);
    if ((to.sequence ?? 0) < (from.sequence ?? 0)) {
      throw new ValidationError(
        `incremental read of ${this.label}: commit ${toCommitId} is before commit ${fromCommitId}; swap them.`,
      );
    }
    const range = all.filter(
      (c) =>
        (c.sequence ?? 0) > (from.sequence ?? 0) &&
        (c.sequence ?? 0) <= (to.sequence ?? 0) &&
        c.operation !== 'compaction',
    );
    const files = range.flatMap((c) => c.files.map((f) => ({ key: f.key, sequence: c.sequence ?? 0 })));
    await this.registerResolved(duck, view, files, true);
    return range;
  }

  private async registerResolved(
    duck: DuckSession,
    view: string,
    files: readonly { key: string; sequence: number }[],
    changes: boolean,
  ): Promise<void> {
    const columns = this.featureGroup.spec.features.map((f) => quoteIdent(f.name)).join(', ');
    const out = changes
      ? `${columns}, CASE ${OP} WHEN 'D' THEN 'delete' ELSE 'upsert' END AS _change`
      : columns;
    if (files.length === 0) {
      const empty = this.featureGroup.spec.features
        .map((f) => `NULL::${DUCK_TYPES[f.type]} AS ${quoteIdent(f.name)}`)
        .join(', ');
      await duck.run(
        `CREATE OR REPLACE TEMP VIEW ${view} AS SELECT ${empty}${changes ? ', NULL::VARCHAR AS _change' : ''} WHERE FALSE`,
      );
      return;
    }
    const paths = await this.deps.cache.localPaths(files.map((f) => f.key));
    const filter = changes ? '' : `WHERE ${OP} = 'U'`;
    // Files written before nullable features were appended lack those columns: union_by_name fills NULL.
    if (files.length === 1) {
      await duck.run(
        `CREATE OR REPLACE TEMP VIEW ${view} AS SELECT ${out} FROM read_parquet([${sqlPath(paths[0]!)}], union_by_name = true) ${filter}`,
      );
      return;
    }
    const keys = this.keyColumns.map(quoteIdent).join(', ');
    const seqTable = `${view}_files`;
    await duck.run(`CREATE OR REPLACE TEMP TABLE ${seqTable} (path VARCHAR, ${SEQ} BIGINT)`);
    await duck.run(
      `INSERT INTO ${seqTable} VALUES ${paths.map((p, i) => `(${sqlPath(p)}, ${Number(files[i]!.sequence)})`).join(', ')}`,
    );
    await duck.run(
      `CREATE OR REPLACE TEMP VIEW ${view} AS SELECT ${out} FROM (
         SELECT r.*, f.${SEQ} FROM read_parquet([${paths.map(sqlPath).join(', ')}], union_by_name = true, filename = true) r
         JOIN ${seqTable} f ON r.filename = f.path
         QUALIFY row_number() OVER (PARTITION BY ${keys} ORDER BY f.${SEQ} DESC) = 1
       ) ${filter}`,
    );
  }

  /** Completed commits in timeline order, up to a commit or a time. */
  async timeline(asOf?: AsOf): Promise<CommitInfo[]> {
    const t = tables.featureGroupCommits;
    const conditions = [
      eq(t.featureGroupId, this.featureGroup.id),
      eq(t.state, 'completed'),
      isNotNull(t.sequence),
    ];
    if (asOf && 'time' in asOf) conditions.push(lte(t.completedAt, asOf.time));
    const rows = await this.deps.db
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

  /** Every commit of the group, newest first, with its state and statistics (Hopsworks' `commit_details()`). */
  async commitDetails(limit = 100): Promise<CommitInfo[]> {
    const t = tables.featureGroupCommits;
    const rows = await this.deps.db
      .select()
      .from(t)
      .where(eq(t.featureGroupId, this.featureGroup.id))
      .orderBy(sql`${t.sequence} DESC NULLS FIRST`, sql`${t.id} DESC`)
      .limit(limit);
    return rows.map(commitFromRow);
  }

  /**
   * Rewrites the live files into one file holding the resolved snapshot (tombstones dropped) when
   * there are at least `minFiles` of them. Query results, as of any commit, are unchanged: older
   * commits keep their files for time travel until retention removes them.
   */
  async compact(
    duck: DuckSession,
    options: { minFiles?: number; idempotencyKey?: string } = {},
  ): Promise<CommitInfo | undefined> {
    const timeline = await this.timeline();
    const live = liveFilesOf(timeline);
    if (live.length < (options.minFiles ?? 2)) return undefined;
    const head = timeline.at(-1)!;
    const idempotencyKey = options.idempotencyKey ?? `compaction-after-${head.id}`;
    const existing = await this.findByKey(idempotencyKey);
    if (existing?.state === 'completed') return existing;
    const commitId = await this.begin(existing, { operation: 'upsert', idempotencyKey }, 'compaction');
    const commitPrefix = joinKey(this.prefix, `commit=${commitId}`);
    await this.deps.store.deletePrefix(`${commitPrefix}/`);
    await this.registerSnapshot(duck, '_fti_compact', { commitId: head.id });
    const local = await this.deps.cache.scratchPath('compact.parquet');
    await duck.run(
      `COPY (SELECT *, 'U' AS ${OP} FROM _fti_compact) TO ${sqlPath(local)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)`,
    );
    const rows = Number((await duck.one<{ n: bigint }>('SELECT count(*) AS n FROM _fti_compact'))?.n ?? 0);
    await duck.run('DROP VIEW IF EXISTS _fti_compact');
    const key = joinKey(commitPrefix, 'part-00000.parquet');
    const bytes = (await fs.promises.stat(local)).size;
    await this.deps.store.putFile(key, local, { immutable: true });
    await this.deps.cache.adopt(key, local);
    // A commit that completed while we compacted must not lose its files: replace only what we read.
    return this.complete(commitId, {
      files: [{ key, rows, bytes }],
      replacedFiles: live.map((f) => f.key),
      rowsInserted: 0,
      rowsUpdated: 0,
      rowsDeleted: 0,
    });
  }

  /**
   * Removes commits that never completed (crashed writers) older than `olderThanMs`: their files are
   * deleted and the commit marked `aborted`. Returns how many were cleaned.
   */
  async cleanAbandoned(olderThanMs = 60 * 60 * 1000): Promise<number> {
    const t = tables.featureGroupCommits;
    const cutoff = new Date(Date.now() - olderThanMs);
    const stale = await this.deps.db
      .select()
      .from(t)
      .where(
        and(
          eq(t.featureGroupId, this.featureGroup.id),
          inArray(t.state, ['requested', 'inflight']),
          lte(t.createdAt, cutoff),
        ),
      );
    for (const row of stale) {
      await this.deps.store.deletePrefix(`${joinKey(this.prefix, `commit=${row.id}`)}/`);
      await this.deps.db.update(t).set({ state: 'aborted' }).where(eq(t.id, row.id));
    }
    return stale.length;
  }

  /**
   * Applies the retention setting: deletes files no longer live whose replacing commit completed more
   * than `retentionDays` ago. Time travel to commits that needed them then fails with a clear error.
   */
  async applyRetention(now = new Date()): Promise<{ deletedFiles: number }> {
    const days = this.featureGroup.spec.retentionDays;
    if (!days) return { deletedFiles: 0 };
    const cutoff = now.getTime() - days * 86_400_000;
    const timeline = await this.timeline();
    const live = new Set(liveFilesOf(timeline).map((f) => f.key));
    const expired = timeline
      .filter((c) => c.completedAt && c.completedAt.getTime() < cutoff)
      .flatMap((c) => c.replacedFiles)
      .filter((key) => !live.has(key));
    await this.deps.store.delete(expired);
    return { deletedFiles: expired.length };
  }

  private async findByKey(idempotencyKey: string): Promise<CommitInfo | undefined> {
    const t = tables.featureGroupCommits;
    const [row] = await this.deps.db
      .select()
      .from(t)
      .where(and(eq(t.featureGroupId, this.featureGroup.id), eq(t.idempotencyKey, idempotencyKey)));
    return row ? commitFromRow(row) : undefined;
  }

  /** Creates (or takes over an abandoned) commit row and moves it to `inflight`. */
  private async begin(
    existing: CommitInfo | undefined,
    options: Pick<WriteOptions, 'operation' | 'idempotencyKey' | 'pipelineRunId' | 'window'>,
    operation: WriteOperation | 'compaction' = options.operation,
  ): Promise<number> {
    const t = tables.featureGroupCommits;
    const fields = {
      operation,
      pipelineRunId: options.pipelineRunId ?? null,
      windowStart: options.window?.start ?? null,
      windowEnd: options.window?.end ?? null,
    };
    if (existing) {
      await this.deps.db
        .update(t)
        .set({ ...fields, state: 'inflight' })
        .where(eq(t.id, existing.id));
      return existing.id;
    }
    for (let attempt = 0; ; attempt++) {
      const instant = formatInstant(new Date(Date.now() + attempt));
      const [row] = await this.deps.db
        .insert(t)
        .values({
          ...fields,
          featureGroupId: this.featureGroup.id,
          instant,
          idempotencyKey: options.idempotencyKey,
          state: 'requested',
        })
        .onConflictDoNothing()
        .returning({ id: t.id });
      if (row) {
        await this.deps.db.update(t).set({ state: 'inflight' }).where(eq(t.id, row.id));
        return row.id;
      }
      // Either the instant collided (retry with the next millisecond) or a concurrent writer took the key.
      const raced = await this.findByKey(options.idempotencyKey);
      if (raced) return raced.id;
      if (attempt > 50) throw new Error('could not allocate a commit instant');
    }
  }

  /** Marks a commit completed and gives it the next timeline position, in one transaction. */
  private async complete(
    commitId: number,
    result: {
      files: CommitFile[];
      replacedFiles: string[];
      rowsInserted: number;
      rowsUpdated: number;
      rowsDeleted: number;
    },
  ): Promise<CommitInfo> {
    const t = tables.featureGroupCommits;
    return this.deps.db.transaction(async (tx) => {
      // The row lock serialises completions per feature group, so sequence order = completion order.
      await tx.execute(sql`SELECT id FROM feature_groups WHERE id = ${this.featureGroup.id} FOR UPDATE`);
      const [next] = await tx
        .select({ seq: sql<number>`coalesce(max(${t.sequence}), 0) + 1` })
        .from(t)
        .where(eq(t.featureGroupId, this.featureGroup.id));
      const [row] = await tx
        .update(t)
        .set({ ...result, state: 'completed', sequence: Number(next!.seq), completedAt: new Date() })
        .where(eq(t.id, commitId))
        .returning();
      return commitFromRow(row!);
    });
  }
}
