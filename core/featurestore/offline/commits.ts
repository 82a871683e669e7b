import type { tables } from '../../db';

/** A Parquet file a commit added. */
export interface CommitFile {
  readonly key: string;
  readonly rows: number;
  readonly bytes: number;
}

/** Offline write operations. */
export type WriteOperation = 'insert' | 'upsert' | 'delete' | 'overwrite';

/** One entry of a feature group's timeline (like Hopsworks' `commit_details()`). */
export interface CommitInfo {
  readonly id: number;
  readonly instant: string;
  /** Timeline position (completion order); null until completed. */
  readonly sequence: number | null;
  readonly state: 'requested' | 'inflight' | 'completed' | 'aborted';
  readonly operation: WriteOperation | 'compaction';
  readonly files: readonly CommitFile[];
  readonly replacedFiles: readonly string[];
  readonly rowsInserted: number;
  readonly rowsUpdated: number;
  readonly rowsDeleted: number;
  readonly idempotencyKey: string;
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
 * commit adds its files and removes the ones it replaces (overwrite, compaction).
 */
export function liveFilesOf(timeline: readonly CommitInfo[]): { key: string; sequence: number }[] {
  const live = new Map<string, number>();
  for (const commit of timeline) {
    for (const key of commit.replacedFiles) live.delete(key);
    for (const file of commit.files) live.set(file.key, commit.sequence ?? 0);
  }
  return [...live.entries()].map(([key, sequence]) => ({ key, sequence }));
}
