import type { tables } from '../../db';

/** A Parquet file a commit added. */
export interface CommitFile {
  readonly key: string;
  readonly rows: number;
  readonly bytes: number;
  /**
   * The timeline position whose data the file holds, when it differs from its commit's: a
   * compaction output keeps the position of the newest commit it merged, so commits that completed
   * while it ran (later positions) still win record-key conflicts. Absent: the commit's sequence.
   */
  readonly dataSequence?: number;
  /** Smallest and largest event time in the file (epoch µs), so writers read only overlapping files. */
  readonly minEventTimeUs?: number;
  readonly maxEventTimeUs?: number;
  /** The partition the file holds (`period=…/bucket=…`), for a partitioned group. */
  readonly partition?: string;
}

/** A file of a snapshot with the timeline position its rows resolve by. */
export interface LiveFile {
  readonly key: string;
  /** Data sequence: the higher one wins a record-key conflict. */
  readonly sequence: number;
  readonly rows: number;
  /** Size in bytes, when known (what a read of the file costs). */
  readonly bytes?: number;
  readonly minEventTimeUs?: number;
  readonly maxEventTimeUs?: number;
  /** The file's partition; every version of a record key lies in one partition. */
  readonly partition?: string;
}

/** An inclusive event-time range in epoch microseconds; `all` when a write can touch any row. */
export type EventRange = { readonly minUs: number; readonly maxUs: number } | 'all';

/** Offline write operations. */
export type WriteOperation = 'insert' | 'upsert' | 'delete' | 'overwrite';

/** One entry of a feature group's timeline (like Hopsworks' `commit_details()`). */
export interface CommitInfo {
  readonly id: number;
  readonly instant: string;
  /** Timeline position (completion order); null until completed. */
  readonly sequence: number | null;
  readonly state: 'requested' | 'inflight' | 'completed' | 'aborted';
  readonly operation: WriteOperation | 'compaction' | 'external';
  readonly files: readonly CommitFile[];
  readonly replacedFiles: readonly string[];
  readonly rowsInserted: number;
  readonly rowsUpdated: number;
  readonly rowsDeleted: number;
  readonly idempotencyKey: string;
  /** Fencing token of the attempt that holds (or completed) the commit. */
  readonly attempt: number;
  /** Order-independent hash of the rows written (set by pipelines; null for compactions). */
  readonly contentHash: string | null;
  /** The commit this one supersedes (a window re-run), if any. */
  readonly supersedesCommitId: number | null;
  readonly windowStart: Date | null;
  readonly windowEnd: Date | null;
  readonly pipelineRunId: number | null;
  readonly createdAt: Date;
  readonly completedAt: Date | null;
}

/** Which snapshot to read: the latest, as of a commit, or as of a wall-clock time. */
export type AsOf = { readonly commitId: number } | { readonly time: Date } | undefined;

/** Maps a commit row to {@link CommitInfo}. */
export function commitFromRow(row: typeof tables.featureGroupCommits.$inferSelect): CommitInfo {
  return {
    id: row.id,
    instant: row.instant,
    sequence: row.sequence,
    state: row.state,
    operation: row.operation,
    files: row.files as CommitFile[],
    replacedFiles: row.replacedFiles as string[],
    rowsInserted: row.rowsInserted,
    rowsUpdated: row.rowsUpdated,
    rowsDeleted: row.rowsDeleted,
    idempotencyKey: row.idempotencyKey,
    attempt: row.attempt,
    contentHash: row.contentHash,
    supersedesCommitId: row.supersedesCommitId,
    windowStart: row.windowStart,
    windowEnd: row.windowEnd,
    pipelineRunId: row.pipelineRunId,
    createdAt: row.createdAt,
    completedAt: row.completedAt,
  };
}

/** `yyyyMMddHHmmssSSS` in UTC, the Hudi-style instant shown to users. */
export function formatInstant(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:TZ.]/g, '')
    .slice(0, 17);
}

/**
 * The files live in the snapshot after the given completed commits (in timeline order): each
 * commit adds its files and removes the ones it replaces (overwrite, compaction). Sorted by data
 * sequence (oldest first), ties in the order the files were added.
 */
export function liveFilesOf(timeline: readonly CommitInfo[]): LiveFile[] {
  const live = new Map<string, LiveFile>();
  for (const commit of timeline) {
    for (const key of commit.replacedFiles) live.delete(key);
    for (const file of commit.files) {
      live.set(file.key, {
        key: file.key,
        sequence: file.dataSequence ?? commit.sequence ?? 0,
        rows: file.rows,
        bytes: file.bytes,
        ...(file.minEventTimeUs !== undefined && { minEventTimeUs: file.minEventTimeUs }),
        ...(file.maxEventTimeUs !== undefined && { maxEventTimeUs: file.maxEventTimeUs }),
        ...(file.partition !== undefined && { partition: file.partition }),
      });
    }
  }
  return [...live.values()].sort((a, b) => a.sequence - b.sequence);
}

/**
 * Whether a file may hold rows in `range`. A file written before event-time bounds were recorded
 * may hold anything. Every version of a record key shares its event time, so the files overlapping
 * a batch's range hold every version of every record key the batch can touch.
 */
export function mayOverlap(
  file: Pick<CommitFile, 'minEventTimeUs' | 'maxEventTimeUs'>,
  range: EventRange,
): boolean {
  if (range === 'all' || file.minEventTimeUs === undefined || file.maxEventTimeUs === undefined) return true;
  return file.minEventTimeUs <= range.maxUs && file.maxEventTimeUs >= range.minUs;
}

/** The smallest range covering both (`all` absorbs everything). */
export function unionRange(a: EventRange | undefined, b: EventRange | undefined): EventRange | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  if (a === 'all' || b === 'all') return 'all';
  return { minUs: Math.min(a.minUs, b.minUs), maxUs: Math.max(a.maxUs, b.maxUs) };
}
