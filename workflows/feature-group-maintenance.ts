import { proxyActivities, upsertSearchAttributes } from '@temporalio/workflow';
import type { MaintenanceActivities, MaintenanceInput, MaintenanceReport } from '../activities/maintenance';

/** Input of {@link featureGroupMaintenance}. */
export type FeatureGroupMaintenanceInput = MaintenanceInput;

const { maintainFeatureGroup } = proxyActivities<MaintenanceActivities>({
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

/**
 * Keeps a feature group's offline table fast: aborts commits whose writer went silent, compacts runs
 * of small files by the policy and applies retention. Runs on a Temporal Schedule per feature group
 * (`maintenance-<name>-v<version>`), alongside the group's pipelines: it never changes what a
 * snapshot returns, and a compaction that races an overwrite gives up without a trace.
 */
export async function featureGroupMaintenance(
  input: FeatureGroupMaintenanceInput,
): Promise<MaintenanceReport> {
  upsertSearchAttributes({
    FtiPipeline: ['maintenance'],
    FtiFeatureGroup: [`${input.featureGroup.name}:${input.featureGroup.version}`],
  });
  return maintainFeatureGroup(input);
}
