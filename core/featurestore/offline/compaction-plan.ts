import type { LiveFile } from './commits';

/** When and what to compact (a feature group's maintenance policy). */
export interface CompactionPolicy {
  /** Compact a run of small files only when it has at least this many. @default 2 */
  readonly minFiles?: number;
  /** Files with at least this many rows are already large: left alone and never merged. @default 1,000,000 */
  readonly targetFileRows?: number;
}

/** One group of live files merged into one file by a compaction. */
export interface CompactionRun {
  /** Consecutive live files in data-sequence order (no live file outside the run sits between them). */
  readonly files: readonly LiveFile[];
  /** The data sequence the merged file gets: the newest of its inputs. */
  readonly dataSequence: number;
  /**
   * Tombstones can be dropped only when no older live file exists that they might still hide; when
   * the run starts at the oldest live file, nothing older remains.
   */
  readonly dropTombstones: boolean;
  /** The partition every file of the run belongs to (a partitioned group), kept by the merged file. */
  readonly partition?: string;
}

/** Default minimum run length. */
export const DEFAULT_COMPACTION_MIN_FILES = 2;
/** Default size above which a file counts as large. */
export const DEFAULT_TARGET_FILE_ROWS = 1_000_000;

/**
 * Chooses what to compact. For a partitioned group (every live file has a partition) each partition
 * is planned on its own: a record key's versions all lie in one partition, so files of other
 * partitions never decide which version wins, and a merged file stays inside its partition (reads
 * keep skipping what they do not need). Otherwise the whole table is planned as one (see
 * {@link planRuns}).
 */
export function planCompaction(live: readonly LiveFile[], policy: CompactionPolicy = {}): CompactionRun[] {
  if (live.length === 0 || live.some((f) => f.partition === undefined)) return planRuns(live, policy);
  const byPartition = new Map<string, LiveFile[]>();
  for (const file of live) {
    const files = byPartition.get(file.partition!) ?? [];
    files.push(file);
    byPartition.set(file.partition!, files);
  }
  return [...byPartition.entries()].flatMap(([partition, files]) =>
    planRuns(files, policy).map((run) => ({ ...run, partition })),
  );
}

/**
 * Maximal runs of consecutive small files (in data-sequence order) with at
 * least `minFiles` files. Guarantees that merging each run into one file whose data sequence is the
 * run's newest never changes which version of a record key wins: every live file outside the run is
 * either older than all of the run's files or newer than all of them. Large files are left as they
 * are, so the cost of a compaction follows the size of recent small commits, not of the history.
 */
function planRuns(live: readonly LiveFile[], policy: CompactionPolicy): CompactionRun[] {
  const minFiles = Math.max(2, policy.minFiles ?? DEFAULT_COMPACTION_MIN_FILES);
  const target = policy.targetFileRows ?? DEFAULT_TARGET_FILE_ROWS;
  const runs: CompactionRun[] = [];
  let current: LiveFile[] = [];
  let start = 0;
  const flush = () => {
    if (current.length >= minFiles) {
      runs.push({
        files: current,
        dataSequence: Math.max(...current.map((f) => f.sequence)),
        dropTombstones: start === 0,
      });
    }
    current = [];
  };
  live.forEach((file, index) => {
    if (file.rows >= target) {
      flush();
      return;
    }
    if (current.length === 0) start = index;
    current.push(file);
  });
  flush();
  // A file outside a run that shares a data sequence with one inside would make the merged order
  // ambiguous (one commit never writes several files today; older layouts might).
  return runs.filter((run) => {
    const low = run.files[0]!.sequence;
    return !live.some((f) => !run.files.includes(f) && f.sequence >= low && f.sequence <= run.dataSequence);
  });
}
