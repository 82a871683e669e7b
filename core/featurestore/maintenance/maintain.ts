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
  /** The compaction commit, when one was made. */
  readonly compactionCommitId: number | null;
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
