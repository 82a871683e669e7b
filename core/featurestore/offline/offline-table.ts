import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Database, DatabaseTransaction } from '../../db';
import { sqlPath, withDuck, type DuckSession } from '../../duckdb';
import { ServiceUnavailableError, ValidationError } from '../../errors';
import { mapLimited } from '../../concurrency';
import { quoteIdent } from '../../identifiers';
import { joinKey, type ObjectCache, type ObjectStore } from '../../storage';
import { DUCK_TYPES } from '../conform';
import { CommitFencedError, CommitNotFoundError, WriteConflictError } from '../errors';
import { describeExternalSource, externalFingerprint, loadExternalRows } from '../external/external-source';
import type { FeatureGroupRecord } from '../feature-group-repository';
import { CommitCompletedMeanwhile, CommitLog, type CommitAttempt } from './commit-log';
import {
  liveFilesOf,
  mayOverlap,
  unionRange,
  type AsOf,
  type CommitFile,
  type CommitInfo,
  type EventRange,
  type LiveFile,
  type WriteOperation,
} from './commits';
import { planCompaction, type CompactionPolicy } from './compaction-plan';
import {
  checkPartitionName,
  checkSnapshotFilter,
  fileMayMatch,
  keyBucketSql,
  partitioningOf,
  partitionSql,
  type Partitioning,
  type SnapshotFilter,
} from './partitioning';
import { upsertsOnly } from './upserts-only';

/** Adapters the offline table uses. */
export interface OfflineStoreDeps {
  readonly db: Database;
  readonly store: ObjectStore;
  readonly cache: ObjectCache;
  /** Local scratch space (external groups' reads). @default the OS temp folder */
  readonly scratchDir?: string;
}

/** Options of {@link OfflineTable.write}. */
export interface WriteOptions {
  readonly operation: WriteOperation;
  /** Same key → same single commit: a retry or re-run returns the completed commit unchanged. */
  readonly idempotencyKey: string;
  readonly pipelineRunId?: number;
  readonly window?: { readonly start: Date; readonly end: Date };
  /** Order-independent hash of the source rows, stored so a re-run can tell whether its source changed. */
  readonly contentHash?: string;
  /**
   * A completed commit this write supersedes (a window re-run): the batch is upserted and every
   * record key the superseded commit wrote that is absent from the batch, and still holds the value
   * that commit wrote, is deleted. Only with `upsert`.
   */
  readonly supersedes?: number;
  /** Called with a short description of each phase (for activity heartbeats). */
  readonly onProgress?: (phase: string) => void;
  /**
   * Written in the transaction that completes the commit (see `CompletionRequest.alongside`):
   * a streaming pipeline stores its checkpoint here, so the offline rows and the stream position
   * move together. Not called when the key's commit already existed (`reused`).
   */
  readonly alongside?: (tx: DatabaseTransaction, commit: CommitInfo) => Promise<void>;
}

/** What {@link OfflineTable.write} returns. */
export interface WriteResult {
  readonly commit: CommitInfo;
  /** True when the idempotency key already had a completed commit and nothing was written. */
  readonly reused: boolean;
}

/** Options of {@link OfflineTable.compact}. */
export interface CompactOptions extends CompactionPolicy {
  readonly idempotencyKey?: string;
  /**
   * Compact only these partitions (a partitioned group): maintenance splits a large group's
   * compaction into commits of a few partitions each, made side by side by several workers. Their
   * inputs never overlap, so the commits never conflict.
   */
  readonly partitions?: readonly string[];
  /** Called (and awaited) at each phase, e.g. for heartbeats; `merged` comes just before completion. */
  readonly onProgress?: (phase: 'merging' | 'merged') => void | Promise<void>;
}

const OP = '_fti_op';
const SEQ = '_fti_seq';
/** How often a write is redone after a concurrent commit invalidated what it read. */
const MAX_CONFLICT_RETRIES = 25;
const PARQUET_OPTIONS = 'FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880';

/** What a snapshot read opened, out of the snapshot's files (see {@link OfflineTable.registerSnapshot}). */
export interface SnapshotRead {
  readonly files: number;
  readonly bytes: number;
  readonly snapshotFiles: number;
  readonly snapshotBytes: number;
}

function sumBytes(files: readonly LiveFile[]): number {
  return files.reduce((sum, f) => sum + (f.bytes ?? 0), 0);
}

/** How a resolved view presents rows: the snapshot, changes (with `_change`), or raw (`_fti_op`, tombstones kept). */
type ResolvedMode = 'snapshot' | 'changes' | 'raw';

/**
 * A feature group's offline table: an incremental table with a commit timeline (Hudi-like) over
 * Parquet files in the object store and commit rows in PostgreSQL.
 *
 * Guarantees:
 * - record key = primary key + event time; a snapshot holds at most one row per record key, the
 *   one with the highest data sequence (timeline position of the commit that wrote it); a delete
 *   writes tombstones;
 * - files are written under a prefix of their own commit attempt first; a commit becomes visible
 *   only when its row turns `completed` in one transaction, which also assigns its timeline position;
 * - writers are fenced: each attempt holds a token, a newer attempt (or the cleaner) takes the commit
 *   over by bumping it, and a stale attempt can neither complete nor delete the live attempt's files;
 * - concurrent writers serialise: a write that depends on what it read (insert, delete, supersede)
 *   is redone when a commit overlapping its event-time range completed after its read;
 * - an idempotency key maps to exactly one completed commit;
 * - compaction and retention never change what any retained snapshot returns, with writers running.
 */
export class OfflineTable {
  readonly keyColumns: readonly string[];
  private readonly label: string;
  private readonly log: CommitLog;

  constructor(
    private readonly deps: OfflineStoreDeps,
    readonly featureGroup: FeatureGroupRecord,
  ) {
    this.keyColumns = [...featureGroup.spec.primaryKey, featureGroup.spec.eventTime];
    this.label = `${featureGroup.spec.name} v${featureGroup.spec.version}`;
    this.log = new CommitLog(deps.db, featureGroup.id, this.label);
  }

  /** Object-key prefix of all files of this feature group version. */
  get prefix(): string {
    return joinKey('offline', this.featureGroup.spec.name, `v${this.featureGroup.spec.version}`);
  }

  private commitPrefix(commitId: number): string {
    return joinKey(this.prefix, `commit=${commitId}`);
  }

  private attemptPrefix(holder: CommitAttempt): string {
    return joinKey(this.commitPrefix(holder.commitId), `attempt=${holder.attempt}`);
  }

  /** Removes what fenced attempts of a commit left (attempt 0: the layout before attempts had prefixes). */
  private async removeAttempts(commitId: number, attempts: readonly number[]): Promise<void> {
    for (const attempt of attempts) {
      const prefix =
        attempt === 0
          ? `${this.commitPrefix(commitId)}/part-`
          : `${this.commitPrefix(commitId)}/attempt=${attempt}/`;
      await this.deps.store.deletePrefix(prefix);
    }
  }

  /** The completed commit written under `idempotencyKey`, if there is one. */
  async completedByKey(idempotencyKey: string): Promise<CommitInfo | undefined> {
    const found = await this.log.findByKey(idempotencyKey);
    return found?.state === 'completed' ? found : undefined;
  }

  /**
   * Writes DuckDB table `batch` (conformed: every column typed, plus `_fti_row` for input order) as one
   * commit. Duplicates within the batch collapse to the last one in input order. `insert` adds only
   * record keys not yet present; `upsert` replaces existing ones; `delete` removes the record keys (or,
   * when `batch` has no event-time values, every row of the given primary keys); `overwrite` replaces
   * the whole snapshot. Only files whose event-time range overlaps the batch are read, so appending a
   * small batch costs the same however long the history is.
   */
  async write(duck: DuckSession, batch: string, options: WriteOptions): Promise<WriteResult> {
    this.refuseExternal('it cannot be written; write to the source instead');
    const existing = await this.log.findByKey(options.idempotencyKey);
    if (existing?.state === 'completed') return { commit: existing, reused: true };
    if (options.supersedes !== undefined && options.operation !== 'upsert') {
      throw new ValidationError(
        `${this.label}: superseding commit ${options.supersedes} needs operation upsert, not ${options.operation}.`,
      );
    }
    const superseded =
      options.supersedes === undefined ? undefined : await this.log.completedById(options.supersedes);
    let holder: CommitAttempt;
    try {
      const begun = await this.log.begin({
        ...options,
        ...(superseded && { supersedesCommitId: superseded.id }),
      });
      await this.removeAttempts(begun.commitId, begun.previousAttempts);
      holder = begun;
    } catch (error) {
      if (error instanceof CommitCompletedMeanwhile) return { commit: error.commit, reused: true };
      throw error;
    }
    const progress = (phase: string) => {
      options.onProgress?.(phase);
      void this.log.heartbeat(holder).catch(() => undefined);
    };
    try {
      const keys = this.keyColumns.map(quoteIdent).join(', ');
      await duck.run(
        `CREATE OR REPLACE TEMP TABLE _fti_batch AS SELECT * EXCLUDE (_fti_row) FROM ${batch}
         QUALIFY row_number() OVER (PARTITION BY ${keys} ORDER BY _fti_row DESC) = 1`,
      );
      const range = await this.readRange(duck, options.operation, superseded);
      for (let round = 0; ; round++) {
        progress(
          round === 0 ? 'resolving record keys' : `redoing after a concurrent commit (round ${round + 1})`,
        );
        const { head, files: live } =
          options.operation === 'overwrite' ? { head: undefined, files: [] } : await this.log.headSnapshot();
        const readSequence = head?.sequence ?? 0;
        if (options.operation !== 'overwrite') {
          const overlapping = range === undefined ? [] : live.filter((f) => mayOverlap(f, range));
          await this.registerResolved(duck, '_fti_current', overlapping, 'snapshot');
        }
        const counts = await this.prepareOutput(duck, options.operation, keys, superseded);
        const files =
          counts.outRows > 0 ? await this.writeFiles(duck, '_fti_out', holder, round, progress) : [];
        try {
          const commit = await this.log.complete(holder, {
            files,
            rowsInserted: counts.inserted,
            rowsUpdated: counts.updated,
            rowsDeleted: counts.deleted,
            dependency:
              options.operation === 'overwrite'
                ? { kind: 'overwrite' }
                : options.operation === 'upsert' && !superseded
                  ? { kind: 'blind' }
                  : { kind: 'read', readSequence, range: range ?? 'all' },
            ...(options.alongside ? { alongside: options.alongside } : {}),
          });
          return { commit, reused: false };
        } catch (error) {
          if (!(error instanceof WriteConflictError) || round >= MAX_CONFLICT_RETRIES) throw error;
          await this.deps.store.delete(files.map((f) => f.key));
          await new Promise((resolve) => setTimeout(resolve, 10 + Math.random() * 40 * (round + 1)));
        }
      }
    } finally {
      await duck.run(
        'DROP TABLE IF EXISTS _fti_batch; DROP TABLE IF EXISTS _fti_out; DROP VIEW IF EXISTS _fti_current; DROP VIEW IF EXISTS _fti_superseded',
      );
    }
  }

  /**
   * The event-time range the write reads (undefined: it reads nothing). A delete without event
   * times matches every row of its primary keys, whatever their time.
   */
  private async readRange(
    duck: DuckSession,
    operation: WriteOperation,
    superseded: CommitInfo | undefined,
  ): Promise<EventRange | undefined> {
    if (operation === 'overwrite') return undefined;
    const et = quoteIdent(this.featureGroup.spec.eventTime);
    const bounds = await duck.one<{ lo: bigint | null; hi: bigint | null }>(
      `SELECT epoch_us(min(${et})::TIMESTAMP) AS lo, epoch_us(max(${et})::TIMESTAMP) AS hi FROM _fti_batch`,
    );
    let range: EventRange | undefined =
      bounds?.lo === null || bounds?.lo === undefined
        ? undefined
        : { minUs: Number(bounds.lo), maxUs: Number(bounds.hi) };
    if (operation === 'delete' && range === undefined) range = 'all';
    for (const file of superseded?.files ?? []) {
      range = unionRange(
        range,
        file.minEventTimeUs === undefined || file.maxEventTimeUs === undefined
          ? 'all'
          : { minUs: file.minEventTimeUs, maxUs: file.maxEventTimeUs },
      );
    }
    return range;
  }

  /** The group's partitioning (fixed for its version). */
  get partitioning(): Partitioning {
    return partitioningOf(this.featureGroup.spec);
  }

  /**
   * Writes a DuckDB relation as the attempt's files: one file, or for a partitioned group one file per
   * partition the rows fall in, written in one pass (DuckDB's partitioned COPY) and uploaded in
   * parallel, each with its partition and event-time bounds.
   */
  private async writeFiles(
    duck: DuckSession,
    relation: string,
    holder: CommitAttempt,
    round: number,
    progress: (phase: string) => void,
  ): Promise<CommitFile[]> {
    const expression = partitionSql(this.partitioning, this.featureGroup.spec);
    if (expression === undefined) return [await this.writeFile(duck, relation, holder, round, progress)];
    const et = quoteIdent(this.featureGroup.spec.eventTime);
    await duck.run(
      `CREATE OR REPLACE TEMP TABLE _fti_parted AS
       SELECT *, dense_rank() OVER (ORDER BY _fti_partition) - 1 AS _fti_pidx
       FROM (SELECT *, ${expression} AS _fti_partition FROM ${relation})`,
    );
    try {
      const parts = await duck.all<{ p: string; i: bigint; n: bigint; lo: bigint; hi: bigint }>(
        `SELECT _fti_partition AS p, _fti_pidx AS i, count(*) AS n, epoch_us(min(${et})::TIMESTAMP) AS lo,
                epoch_us(max(${et})::TIMESTAMP) AS hi
         FROM _fti_parted GROUP BY ALL ORDER BY i`,
      );
      const stem = `part-${String(round).padStart(5, '0')}.parquet`;
      if (parts.length === 1) {
        const only = parts[0]!;
        return [
          await this.writeFile(
            duck,
            relation,
            holder,
            round,
            progress,
            undefined,
            checkPartitionName(only.p),
          ),
        ];
      }
      progress(`writing ${parts.length} partitions to Parquet`);
      const dir = await this.deps.cache.scratchPath('partitions');
      await fs.promises.mkdir(dir, { recursive: true });
      try {
        // Partitioned by a dense index rather than the name: directory names stay plain digits.
        await duck.run(
          `COPY (SELECT * EXCLUDE (_fti_partition) FROM _fti_parted) TO ${sqlPath(dir)}
           (${PARQUET_OPTIONS}, PARTITION_BY (_fti_pidx), FILENAME_PATTERN 'part')`,
        );
        progress(`uploading ${parts.length} partition files`);
        return await mapLimited(parts, 8, async (part) => {
          const partition = checkPartitionName(part.p);
          const folder = path.join(dir, `_fti_pidx=${Number(part.i)}`);
          const written = await fs.promises.readdir(folder);
          if (written.length !== 1)
            throw new Error(
              `${this.label}: partition ${partition} came out as ${written.length} files, expected 1`,
            );
          const local = path.join(folder, written[0]!);
          const key = joinKey(this.attemptPrefix(holder), partition, stem);
          const bytes = (await fs.promises.stat(local)).size;
          await this.deps.store.putFile(key, local, { immutable: true });
          await this.deps.cache.adopt(key, local);
          return {
            key,
            rows: Number(part.n),
            bytes,
            partition,
            minEventTimeUs: Number(part.lo),
            maxEventTimeUs: Number(part.hi),
          };
        });
      } finally {
        await fs.promises.rm(dir, { recursive: true, force: true });
      }
    } finally {
      await duck.run('DROP TABLE IF EXISTS _fti_parted');
    }
  }

  /** Writes a DuckDB relation to one Parquet file under the attempt's prefix, with its event-time bounds. */
  private async writeFile(
    duck: DuckSession,
    relation: string,
    holder: CommitAttempt,
    index: number,
    progress: (phase: string) => void,
    dataSequence?: number,
    partition?: string,
  ): Promise<CommitFile> {
    const et = quoteIdent(this.featureGroup.spec.eventTime);
    const stats = await duck.one<{ n: bigint; lo: bigint | null; hi: bigint | null }>(
      `SELECT count(*) AS n, epoch_us(min(${et})::TIMESTAMP) AS lo, epoch_us(max(${et})::TIMESTAMP) AS hi FROM ${relation}`,
    );
    const rows = Number(stats?.n ?? 0);
    progress(`writing ${rows} rows to Parquet`);
    const stem = `part-${String(index).padStart(5, '0')}.parquet`;
    const key = partition
      ? joinKey(this.attemptPrefix(holder), partition, stem)
      : joinKey(this.attemptPrefix(holder), stem);
    const local = await this.deps.cache.scratchPath('part.parquet');
    await duck.run(`COPY ${relation} TO ${sqlPath(local)} (${PARQUET_OPTIONS})`);
    const bytes = (await fs.promises.stat(local)).size;
    progress(`uploading ${bytes} bytes`);
    await this.deps.store.putFile(key, local, { immutable: true });
    await this.deps.cache.adopt(key, local);
    return {
      key,
      rows,
      bytes,
      ...(partition !== undefined && { partition }),
      ...(dataSequence !== undefined && { dataSequence }),
      ...(stats?.lo !== null &&
        stats?.lo !== undefined && { minEventTimeUs: Number(stats.lo), maxEventTimeUs: Number(stats.hi) }),
    };
  }

  private async liveFiles(): Promise<LiveFile[]> {
    return (await this.log.headSnapshot()).files;
  }

  private async prepareOutput(
    duck: DuckSession,
    operation: WriteOperation,
    keys: string,
    superseded: CommitInfo | undefined,
  ) {
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
        const updated = await n(`_fti_batch b SEMI JOIN _fti_current c USING (${keys})`);
        await duck.run(`CREATE OR REPLACE TEMP TABLE _fti_out AS SELECT b.*, 'U' AS ${OP} FROM _fti_batch b`);
        let deleted = 0;
        if (superseded) {
          // Keys the superseded commit wrote, gone from the new batch, still holding that commit's value.
          await this.registerResolved(
            duck,
            '_fti_superseded',
            superseded.files.map((f) => ({ key: f.key, sequence: 0, rows: f.rows })),
            'snapshot',
          );
          const same = this.featureGroup.spec.features
            .map((f) => `c.${quoteIdent(f.name)} IS NOT DISTINCT FROM s.${quoteIdent(f.name)}`)
            .join(' AND ');
          await duck.run(
            `INSERT INTO _fti_out SELECT c.*, 'D' AS ${OP} FROM _fti_current c
             WHERE EXISTS (SELECT 1 FROM _fti_superseded s WHERE ${same})
               AND NOT EXISTS (SELECT 1 FROM _fti_batch b WHERE ${this.keyColumns
                 .map((k) => `b.${quoteIdent(k)} = c.${quoteIdent(k)}`)
                 .join(' AND ')})`,
          );
          deleted = (await n('_fti_out')) - batchRows;
        }
        return { outRows: batchRows + deleted, inserted: batchRows - updated, updated, deleted };
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
   *
   * With `filter`, the view holds exactly the snapshot's rows in that event-time range and/or key
   * buckets, and only files that may hold such rows are opened (partition pruning: each file's
   * event-time bounds and partition are in the commit metadata). `onRead` learns how many files and
   * bytes the read opened out of the snapshot's.
   */
  async registerSnapshot(
    duck: DuckSession,
    view: string,
    asOf?: AsOf,
    options: { readonly filter?: SnapshotFilter; readonly onRead?: (read: SnapshotRead) => void } = {},
  ): Promise<CommitInfo | undefined> {
    if (this.featureGroup.spec.external) {
      const commit = await this.registerExternal(duck, view, asOf);
      if (options.filter) await this.filterView(duck, view, options.filter);
      return commit;
    }
    if (options.filter) checkSnapshotFilter(options.filter, `read of ${this.label}`);
    // The head (what pins usually name) comes from the live-file list; older snapshots replay the timeline.
    let commit: CommitInfo | undefined;
    let files: readonly LiveFile[];
    const head = asOf === undefined || 'commitId' in asOf ? await this.log.headSnapshot() : undefined;
    if (head && (asOf === undefined || ('commitId' in asOf && head.head?.id === asOf.commitId))) {
      commit = head.head;
      files = head.files;
    } else {
      const timeline = await this.log.timeline(asOf);
      commit = timeline.at(-1);
      files = liveFilesOf(timeline);
    }
    const wanted = options.filter
      ? files.filter((f) => fileMayMatch(f, options.filter!, this.partitioning))
      : files;
    options.onRead?.({
      files: wanted.length,
      bytes: sumBytes(wanted),
      snapshotFiles: files.length,
      snapshotBytes: sumBytes(files),
    });
    await this.registerResolved(duck, view, wanted, 'snapshot', options.filter);
    return commit;
  }

  /** Narrows an external group's view to a filter's rows (its source has no files to skip). */
  private async filterView(duck: DuckSession, view: string, filter: SnapshotFilter): Promise<void> {
    checkSnapshotFilter(filter, `read of ${this.label}`);
    const where = this.rowFilter(filter, false);
    if (!where) return;
    await duck.run(`CREATE OR REPLACE TEMP TABLE ${view}_unfiltered AS SELECT * FROM ${view}`);
    await duck.run(`CREATE OR REPLACE TEMP VIEW ${view} AS SELECT * FROM ${view}_unfiltered WHERE ${where}`);
  }

  /**
   * The SQL condition a filter puts on rows (undefined: none). Times come from Dates as integers and
   * buckets are validated integers, so nothing user-typed reaches the SQL text. The bucket condition
   * is left out when the files chosen already hold only wanted buckets.
   */
  private rowFilter(filter: SnapshotFilter | undefined, bucketsExact: boolean): string | undefined {
    if (!filter) return undefined;
    const conditions: string[] = [];
    const et = `CAST(${quoteIdent(this.featureGroup.spec.eventTime)} AS TIMESTAMP)`;
    const { start, end } = filter.eventTime ?? {};
    if (start) conditions.push(`${et} >= make_timestamp(${Math.round(start.getTime() * 1000)}::BIGINT)`);
    if (end) conditions.push(`${et} < make_timestamp(${Math.round(end.getTime() * 1000)}::BIGINT)`);
    const buckets = filter.keyBuckets;
    if (buckets && buckets.count > 1 && !bucketsExact) {
      const include =
        buckets.include.length === 0 ? 'NULL' : buckets.include.map((b) => String(Math.trunc(b))).join(', ');
      conditions.push(`${keyBucketSql(this.featureGroup.spec.primaryKey, buckets.count)} IN (${include})`);
    }
    return conditions.length === 0 ? undefined : conditions.join(' AND ');
  }

  /**
   * The commit a read pins (training data, batch retrieval): the latest (or latest at a time) for a
   * stored group; for an external group, a record of this read of its source (see
   * {@link recordExternalRead}) — external sources have no time travel.
   */
  async pin(asOfTime?: Date): Promise<CommitInfo | undefined> {
    if (!this.featureGroup.spec.external) return this.head(asOfTime);
    if (asOfTime)
      throw new ValidationError(
        `${this.label} is external (${describeExternalSource(this.featureGroup.spec.external)}): it is read as it is now and cannot be read as of ${asOfTime.toISOString()}; leave out asOf, or store the group's history in the platform.`,
        { location: 'asOf' },
      );
    return this.recordExternalRead();
  }

  /**
   * Records a read of an external group's source as a commit without files (operation `external`)
   * holding the source's fingerprint (row count, latest event time, or the Parquet files' ETags) —
   * reused while the source is unchanged — so training datasets and predictions name what they read.
   */
  async recordExternalRead(): Promise<CommitInfo> {
    return this.recordRead(await externalFingerprint(this.externalDeps, this.featureGroup.spec));
  }

  private get externalDeps() {
    return { store: this.deps.store, scratchDir: this.scratchDir };
  }

  private async recordRead(
    fingerprint: Awaited<ReturnType<typeof externalFingerprint>>,
    rows?: number,
  ): Promise<CommitInfo> {
    const head = await this.log.head();
    if (head?.contentHash === fingerprint.hash) return head;
    const idempotencyKey = `external:${fingerprint.hash}:after:${head?.id ?? 0}`;
    const recorded = async (): Promise<CommitInfo> => {
      const found = await this.log.findByKey(idempotencyKey);
      if (found?.state === 'completed') return found;
      const holder = await this.log.begin({
        operation: 'external',
        idempotencyKey,
        contentHash: fingerprint.hash,
      });
      // Parquet fingerprints come from the listing alone: count the rows once, for the record.
      const count =
        fingerprint.rows ??
        rows ??
        (await withDuck((duck) =>
          loadExternalRows(duck, this.externalDeps, this.featureGroup.spec, 'counted'),
        ));
      return this.log.complete(holder, {
        files: [],
        rowsInserted: count,
        rowsUpdated: 0,
        rowsDeleted: 0,
        dependency: { kind: 'blind' },
      });
    };
    // Readers that see the same change at once race for the same record: the losers take the winner's.
    for (let attempt = 1; ; attempt++) {
      try {
        return await recorded();
      } catch (error) {
        if (error instanceof CommitCompletedMeanwhile) return error.commit;
        if (!(error instanceof CommitFencedError) || attempt >= 5) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
      }
    }
  }

  private get scratchDir(): string {
    return this.deps.scratchDir ?? os.tmpdir();
  }

  private refuseExternal(what: string): void {
    const external = this.featureGroup.spec.external;
    if (external)
      throw new ValidationError(
        `${this.label} is an external feature group, read in place from ${describeExternalSource(external)}; ${what}.`,
        { location: this.label },
      );
  }

  private async registerExternal(duck: DuckSession, view: string, asOf: AsOf): Promise<CommitInfo> {
    if (asOf && 'time' in asOf) await this.pin(asOf.time);
    const external = this.featureGroup.spec.external!;
    const pinned = asOf && 'commitId' in asOf ? await this.log.completedById(asOf.commitId) : undefined;
    const table = `${view}_external`;
    await fs.promises.mkdir(this.scratchDir, { recursive: true });
    // The source is fingerprinted before and after the load: a read is recorded (or matched to its
    // pin) only when nothing changed meanwhile, so the record describes the rows actually read.
    for (let attempt = 1; ; attempt++) {
      const before = await externalFingerprint(this.externalDeps, this.featureGroup.spec);
      if (pinned && pinned.contentHash !== before.hash)
        throw new ValidationError(
          `${this.label} is external and its source changed since read #${pinned.id}; the platform cannot re-read a past state of ${describeExternalSource(external)}. Read it as it is now (create a new training dataset), or store the group's history in the platform.`,
          { location: this.label },
        );
      const rows = await loadExternalRows(duck, this.externalDeps, this.featureGroup.spec, table);
      const after = await externalFingerprint(this.externalDeps, this.featureGroup.spec);
      if (after.hash === before.hash) {
        await duck.run(`CREATE OR REPLACE TEMP VIEW ${view} AS SELECT * FROM ${table}`);
        return pinned ?? this.recordRead(after, rows);
      }
      if (attempt >= 3)
        throw new ServiceUnavailableError(
          'external-source',
          `${this.label}: ${describeExternalSource(external)} changed during each of ${attempt} reads; try again when its writer is done.`,
        );
    }
  }

  /** A completed commit of this group by id; {@link CommitNotFoundError} when there is none. */
  async completedCommit(commitId: number): Promise<CommitInfo> {
    return this.log.completedById(commitId);
  }

  /** The latest completed commit, or the latest at or before a time; undefined for an empty table. */
  async head(asOfTime?: Date): Promise<CommitInfo | undefined> {
    return this.log.head(asOfTime);
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
    this.refuseExternal('its source keeps no change history, so it has no incremental reads');
    const all = await this.log.timeline();
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
    const files = range.flatMap((c) =>
      c.files.map((f) => ({ key: f.key, sequence: c.sequence ?? 0, rows: f.rows })),
    );
    await this.registerResolved(duck, view, files, 'changes');
    return range;
  }

  private async registerResolved(
    duck: DuckSession,
    view: string,
    files: readonly LiveFile[],
    mode: ResolvedMode,
    wanted?: SnapshotFilter,
  ): Promise<void> {
    const bucketsExact =
      wanted?.keyBuckets !== undefined &&
      wanted.keyBuckets.count === this.partitioning.keyBuckets &&
      files.every((f) => f.partition !== undefined);
    const rows = this.rowFilter(wanted, bucketsExact);
    const columns = this.featureGroup.spec.features.map((f) => quoteIdent(f.name)).join(', ');
    const out =
      mode === 'changes'
        ? `${columns}, CASE ${OP} WHEN 'D' THEN 'delete' ELSE 'upsert' END AS _change`
        : mode === 'raw'
          ? `${columns}, ${OP}`
          : columns;
    if (files.length === 0) {
      const empty = this.featureGroup.spec.features
        .map((f) => `NULL::${DUCK_TYPES[f.type]} AS ${quoteIdent(f.name)}`)
        .join(', ');
      const extra =
        mode === 'changes' ? ', NULL::VARCHAR AS _change' : mode === 'raw' ? `, NULL::VARCHAR AS ${OP}` : '';
      await duck.run(`CREATE OR REPLACE TEMP VIEW ${view} AS SELECT ${empty}${extra} WHERE FALSE`);
      return;
    }
    const paths = await this.deps.cache.localPaths(files.map((f) => f.key));
    // A lone file of upserts needs no op filter, and the filter costs more than its evaluation: DuckDB
    // then estimates a fifth of the rows, and an ASOF join sizes its partitions from that estimate
    // (bench/pit 1M x 2x5M: 1.18-1.19x -> 1.07-1.10x raw ASOF).
    const live = mode === 'snapshot' && !(files.length === 1 && (await upsertsOnly(duck, paths[0]!)));
    // Files written before nullable features were appended lack those columns: union_by_name fills NULL.
    if (files.length === 1) {
      const where = [live ? `${OP} = 'U'` : undefined, rows].filter((c) => c !== undefined);
      await duck.run(
        `CREATE OR REPLACE TEMP VIEW ${view} AS SELECT ${out} FROM read_parquet([${sqlPath(paths[0]!)}], union_by_name = true) ${where.length ? `WHERE ${where.join(' AND ')}` : ''}`,
      );
      return;
    }
    const filter = live ? `WHERE ${OP} = 'U'` : '';
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
         ${rows ? `WHERE ${rows}` : ''}
         QUALIFY row_number() OVER (PARTITION BY ${keys} ORDER BY f.${SEQ} DESC) = 1
       ) ${filter}`,
    );
  }

  /** Completed commits in timeline order, up to a commit or a time. */
  async timeline(asOf?: AsOf): Promise<CommitInfo[]> {
    return this.log.timeline(asOf);
  }

  /** Every commit of the group, newest first, with its state and statistics (Hopsworks' `commit_details()`). */
  async commitDetails(limit = 100): Promise<CommitInfo[]> {
    return this.log.details(limit);
  }

  /**
   * The partitions a compaction by `policy` would merge files in, in name order (empty for an
   * unpartitioned group, whose compaction is one commit).
   */
  async partitionsToCompact(policy: CompactionPolicy = {}): Promise<string[]> {
    if (this.featureGroup.spec.external) return [];
    const runs = planCompaction((await this.log.headSnapshot()).files, policy);
    return [...new Set(runs.flatMap((r) => (r.partition === undefined ? [] : [r.partition])))].sort();
  }

  /** How many files the latest snapshot reads (what the compaction policy looks at). */
  async liveFileCount(): Promise<number> {
    return (await this.liveFiles()).length;
  }

  /**
   * Merges runs of consecutive small live files (see {@link planCompaction}) into one file each.
   * Never changes what any snapshot returns, with writers committing concurrently: a merged file keeps
   * the data sequence of the newest commit it merged, so commits that complete meanwhile still win,
   * and it completes only if every file it merged is still live (an overwrite or another compaction
   * meanwhile makes it give up: returns undefined, nothing visible changed). Older commits keep their
   * files for time travel until retention removes them.
   */
  async compact(duck: DuckSession, options: CompactOptions = {}): Promise<CommitInfo | undefined> {
    if (this.featureGroup.spec.external) return undefined; // nothing stored here to compact
    const snapshot = await this.log.headSnapshot();
    const only = options.partitions ? new Set(options.partitions) : undefined;
    const runs = planCompaction(snapshot.files, options).filter(
      (run) => !only || (run.partition !== undefined && only.has(run.partition)),
    );
    if (runs.length === 0) return undefined;
    const head = snapshot.head!;
    const idempotencyKey = options.idempotencyKey ?? `compaction-after-${head.id}`;
    const existing = await this.log.findByKey(idempotencyKey);
    if (existing?.state === 'completed') return existing;
    let holder: CommitAttempt & { previousAttempts: number[] };
    try {
      holder = await this.log.begin({ operation: 'compaction', idempotencyKey });
    } catch (error) {
      if (error instanceof CommitCompletedMeanwhile) return error.commit;
      throw error;
    }
    await this.removeAttempts(holder.commitId, holder.previousAttempts);
    const files: CommitFile[] = [];
    try {
      await options.onProgress?.('merging');
      for (const [index, run] of runs.entries()) {
        await this.registerResolved(duck, '_fti_compact', run.files, 'raw');
        const relation = run.dropTombstones
          ? `(SELECT * FROM _fti_compact WHERE ${OP} = 'U')`
          : '_fti_compact';
        const file = await this.writeFile(
          duck,
          relation,
          holder,
          index,
          () => void this.log.heartbeat(holder).catch(() => undefined),
          run.dataSequence,
          run.partition,
        );
        if (file.rows > 0) files.push(file);
        else await this.deps.store.delete(file.key);
      }
      await options.onProgress?.('merged');
      return await this.log.complete(holder, {
        files,
        rowsInserted: 0,
        rowsUpdated: 0,
        rowsDeleted: 0,
        dependency: { kind: 'compaction', inputs: runs.flatMap((r) => r.files.map((f) => f.key)) },
      });
    } catch (error) {
      if (!(error instanceof WriteConflictError)) throw error;
      await this.log.abort(holder);
      await this.deps.store.delete(files.map((f) => f.key));
      return undefined;
    } finally {
      await duck.run('DROP VIEW IF EXISTS _fti_compact');
    }
  }

  /**
   * Aborts commits whose writer gave no sign of life (heartbeat) for `olderThanMs`, then removes the
   * files of every attempt that can no longer complete. Aborting fences the attempt: if its writer was
   * only slow, it cannot complete afterwards and its retry redoes the commit. Returns how many commits
   * were aborted.
   */
  async cleanAbandoned(olderThanMs = 60 * 60 * 1000): Promise<number> {
    const silent = await this.log.silentSince(new Date(Date.now() - olderThanMs));
    let aborted = 0;
    for (const commit of silent) {
      if (await this.log.abort({ commitId: commit.id, attempt: commit.attempt })) aborted++;
    }
    // Files of fenced attempts (and of aborted commits): a fenced writer may have uploaded after its
    // attempt was taken over, so sweep every attempt that is not the commit's holder.
    for (const commit of await this.log.takenOver()) {
      // An aborted commit has no holder; otherwise the holder's own prefix is never touched.
      const last = commit.state === 'aborted' ? commit.attempt : commit.attempt - 1;
      await this.removeAttempts(
        commit.id,
        Array.from({ length: last + 1 }, (_, i) => i),
      );
    }
    return aborted;
  }

  /**
   * Applies the retention setting: deletes files no longer live whose replacing commit completed more
   * than `retentionDays` ago (and at least an hour ago, so a reader that resolved the previous
   * snapshot can still fetch its files). Time travel to commits that needed them then fails with a
   * clear error.
   */
  async applyRetention(now = new Date()): Promise<{ deletedFiles: number }> {
    const days = this.featureGroup.spec.retentionDays;
    if (!days) return { deletedFiles: 0 };
    const cutoff = Math.min(now.getTime() - days * 86_400_000, now.getTime() - 3_600_000);
    const timeline = await this.log.timeline();
    const live = new Set((await this.liveFiles()).map((f) => f.key));
    const expired = timeline
      .filter((c) => c.completedAt && c.completedAt.getTime() < cutoff)
      .flatMap((c) => c.replacedFiles)
      .filter((key) => !live.has(key));
    await this.deps.store.delete(expired);
    return { deletedFiles: expired.length };
  }
}
