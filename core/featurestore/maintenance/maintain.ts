import { withDuck, type DuckSessionOptions } from '../../duckdb';
import { getFeatureGroup } from '../feature-group-repository';
import type { CompactionPolicy } from '../offline/compaction-plan';
import { OfflineTable, type OfflineStoreDeps } from '../offline/offline-table';

/**
 * A feature group's maintenance policy: when to compact (small-file runs of at least `minFiles`),
 * what counts as small, and how long an unfinished commit may stay silent before it is aborted.
 * Retention by age is the group's own `retentionDays` setting.
 */
export interface MaintenancePolicy extends CompactionPolicy {
  /** Abort unfinished commits whose writer sent no heartbeat for this long. @default 3600 */
  readonly abandonedAfterSeconds?: number;
}

/** Which feature group version to maintain. */
export interface MaintenanceTarget {
  readonly name: string;
  readonly version: number;
}

/** What one maintenance pass did. */
export interface MaintenanceReport {
  readonly featureGroup: string;
  readonly abortedCommits: number;
  readonly liveFilesBefore: number;
  readonly liveFilesAfter: number;
  /** The compaction commit, when one was made (the first, when the pass was split by partition). */
  readonly compactionCommitId: number | null;
  /** Every compaction commit of the pass (one per group of partitions when split over workers). */
  readonly compactionCommitIds?: readonly number[];
  readonly filesCompacted: number;
  readonly retentionDeletedFiles: number;
}

/**
 * One maintenance pass over a feature group version: aborts silent commits (fencing their writers),
 * compacts by the policy and applies retention. Safe with writers running and safe to repeat: a
 * repeated pass finds nothing left to do, and each step never changes what a retained snapshot returns.
 */
export async function maintainFeatureGroup(
  deps: OfflineStoreDeps,
  target: MaintenanceTarget,
  policy: MaintenancePolicy = {},
  options: { duck?: DuckSessionOptions; onProgress?: (phase: string) => void } = {},
): Promise<MaintenanceReport> {
  const onProgress = options.onProgress;
  const group = await getFeatureGroup(deps.db, target.name, target.version);
  const table = new OfflineTable(deps, group);
  onProgress?.('cleaning abandoned commits');
  const abortedCommits = await table.cleanAbandoned((policy.abandonedAfterSeconds ?? 3600) * 1000);
  const liveFilesBefore = await table.liveFileCount();
  onProgress?.(`compacting (${liveFilesBefore} live files)`);
  const compaction = await withDuck(
    (duck) =>
      table.compact(duck, { ...policy, onProgress: (phase) => options.onProgress?.(`compaction ${phase}`) }),
    options.duck,
  );
  onProgress?.('applying retention');
  const retention = await table.applyRetention();
  return {
    featureGroup: `${group.spec.name}:${group.spec.version}`,
    abortedCommits,
    liveFilesBefore,
    liveFilesAfter: await table.liveFileCount(),
    compactionCommitId: compaction?.id ?? null,
    filesCompacted: compaction?.replacedFiles.length ?? 0,
    retentionDeletedFiles: retention.deletedFiles,
  };
}

/** What {@link prepareMaintenance} found: the first phase of a maintenance pass split over workers. */
export interface MaintenancePlan {
  readonly featureGroup: string;
  readonly abortedCommits: number;
  readonly liveFilesBefore: number;
  /** Whether the group is partitioned (otherwise its compaction is one commit: use {@link maintainFeatureGroup}). */
  readonly partitioned: boolean;
  /** Partitions with small files to merge, in name order. */
  readonly partitions: readonly string[];
}

/** First phase of a split pass: aborts silent commits and lists the partitions to compact. */
export async function prepareMaintenance(
  deps: OfflineStoreDeps,
  target: MaintenanceTarget,
  policy: MaintenancePolicy = {},
): Promise<MaintenancePlan> {
  const group = await getFeatureGroup(deps.db, target.name, target.version);
  const table = new OfflineTable(deps, group);
  const abortedCommits = await table.cleanAbandoned((policy.abandonedAfterSeconds ?? 3600) * 1000);
  const partitioning = table.partitioning;
  return {
    featureGroup: `${group.spec.name}:${group.spec.version}`,
    abortedCommits,
    liveFilesBefore: await table.liveFileCount(),
    partitioned: partitioning.period !== null || partitioning.keyBuckets > 1,
    partitions: await table.partitionsToCompact(policy),
  };
}

/**
 * Compacts some partitions as one commit under `idempotencyKey` (a retry returns the same commit).
 * Commits of disjoint partitions never conflict, so several workers may run this side by side.
 */
export async function compactPartitions(
  deps: OfflineStoreDeps,
  target: MaintenanceTarget,
  policy: MaintenancePolicy,
  partitions: readonly string[],
  idempotencyKey: string,
  options: { duck?: DuckSessionOptions; onProgress?: (phase: string) => void } = {},
): Promise<{ readonly commitId: number | null; readonly filesCompacted: number }> {
  const group = await getFeatureGroup(deps.db, target.name, target.version);
  const table = new OfflineTable(deps, group);
  options.onProgress?.(`compacting ${partitions.length} partitions`);
  const commit = await withDuck(
    (duck) =>
      table.compact(duck, {
        ...policy,
        partitions,
        idempotencyKey,
        onProgress: (phase) => options.onProgress?.(`compaction ${phase}`),
      }),
    options.duck,
  );
  return { commitId: commit?.id ?? null, filesCompacted: commit?.replacedFiles.length ?? 0 };
}

/** Last phase of a split pass: applies retention and counts the live files left. */
export async function finishMaintenance(
  deps: OfflineStoreDeps,
  target: MaintenanceTarget,
): Promise<{ readonly retentionDeletedFiles: number; readonly liveFilesAfter: number }> {
  const group = await getFeatureGroup(deps.db, target.name, target.version);
  const table = new OfflineTable(deps, group);
  const retention = await table.applyRetention();
  return { retentionDeletedFiles: retention.deletedFiles, liveFilesAfter: await table.liveFileCount() };
}
