import { patched, proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { MaintenanceActivities, MaintenanceInput, MaintenanceReport } from '../activities/maintenance';

/** Input of {@link featureGroupMaintenance}. */
export type FeatureGroupMaintenanceInput = MaintenanceInput;

const steps = proxyActivities<MaintenanceActivities>({
  startToCloseTimeout: '2 hours',
  // A compaction of many small files reports each phase; a worker that dies is noticed quickly.
  heartbeatTimeout: '2 minutes',
  retry: {
    initialInterval: '5 seconds',
    backoffCoefficient: 2,
    maximumInterval: '5 minutes',
    maximumAttempts: 10,
  },
});

/** Passes recorded before compaction was split by partition replay as one activity. */
const SPLIT_COMPACTION = 'maintenance-compaction-by-partition';
/** Partitions merged per compaction commit when a pass is split over workers. */
export const PARTITIONS_PER_COMPACTION = 16;
/** Compaction commits made at once. */
const COMPACTIONS_IN_FLIGHT = 4;

/**
 * Keeps a feature group's offline table fast: aborts commits whose writer went silent, compacts runs
 * of small files by the policy and applies retention. Runs on a Temporal Schedule per feature group
 * (`maintenance-<name>-v<version>`), alongside the group's pipelines: it never changes what a
 * snapshot returns, and a compaction that races an overwrite gives up without a trace.
 *
 * For a partitioned group the compaction is split: every {@link PARTITIONS_PER_COMPACTION}
 * partitions with small files become one compaction commit, made as activities side by side on
 * any worker of the queue (their inputs never overlap, so they never conflict).
 */
export async function featureGroupMaintenance(
  input: FeatureGroupMaintenanceInput,
): Promise<MaintenanceReport> {
  upsertSearchAttributes({
    FtiPipeline: ['maintenance'],
    FtiFeatureGroup: [`${input.featureGroup.name}:${input.featureGroup.version}`],
  });
  if (!patched(SPLIT_COMPACTION)) return steps.maintainFeatureGroup(input);
  const plan = await steps.prepareMaintenance(input);
  if (!plan.partitioned) return steps.maintainFeatureGroup(input);
  const chunks: string[][] = [];
  for (let i = 0; i < plan.partitions.length; i += PARTITIONS_PER_COMPACTION)
    chunks.push(plan.partitions.slice(i, i + PARTITIONS_PER_COMPACTION));
  const key = workflowInfo().workflowId;
  const results: { commitId: number | null; filesCompacted: number }[] = [];
  let next = 0;
  const lane = async () => {
    while (next < chunks.length) {
      const index = next++;
      results[index] = await steps.compactPartitions(input, chunks[index]!, `compaction:${key}:${index}`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(COMPACTIONS_IN_FLIGHT, chunks.length) }, lane));
  const finished = await steps.finishMaintenance(input);
  const commits = results.flatMap((r) => (r.commitId === null ? [] : [r.commitId]));
  return {
    featureGroup: plan.featureGroup,
    abortedCommits: plan.abortedCommits,
    liveFilesBefore: plan.liveFilesBefore,
    liveFilesAfter: finished.liveFilesAfter,
    compactionCommitId: commits[0] ?? null,
    compactionCommitIds: commits,
    filesCompacted: results.reduce((sum, r) => sum + r.filesCompacted, 0),
    retentionDeletedFiles: finished.retentionDeletedFiles,
  };
}
