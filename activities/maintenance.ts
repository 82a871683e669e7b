import {
  compactPartitions,
  finishMaintenance,
  maintainFeatureGroup,
  prepareMaintenance,
  type MaintenancePlan,
  type MaintenancePolicy,
  type MaintenanceReport,
  type MaintenanceTarget,
  type IngestionDeps,
} from '../core/featurestore';
import { activityBoundary } from './failures';
import { heartbeat } from './pipeline-runs';

export type { MaintenancePlan, MaintenanceReport };

/** Input of {@link MaintenanceActivities.maintainFeatureGroup}: references only. */
export interface MaintenanceInput {
  readonly featureGroup: MaintenanceTarget;
  readonly policy?: MaintenancePolicy;
}

/** Offline-table maintenance activities (queue `fti-features`). */
export interface MaintenanceActivities {
  /** One idempotent pass: abort silent commits, compact by the policy, apply retention. */
  maintainFeatureGroup(input: MaintenanceInput): Promise<MaintenanceReport>;
  /** A pass split over workers, phase 1: abort silent commits, list the partitions to compact. */
  prepareMaintenance(input: MaintenanceInput): Promise<MaintenancePlan>;
  /** Phase 2, side by side: compact some partitions as one commit (idempotent by key). */
  compactPartitions(
    input: MaintenanceInput,
    partitions: readonly string[],
    idempotencyKey: string,
  ): Promise<{ commitId: number | null; filesCompacted: number }>;
  /** Phase 3: apply retention, count what is left. */
  finishMaintenance(
    input: MaintenanceInput,
  ): Promise<{ retentionDeletedFiles: number; liveFilesAfter: number }>;
}

/** Builds the maintenance activities over the feature-store adapters. */
export function createMaintenanceActivities(deps: IngestionDeps): MaintenanceActivities {
  return {
    maintainFeatureGroup: (input) =>
      activityBoundary(() =>
        maintainFeatureGroup(deps, input.featureGroup, input.policy, {
          duck: { threads: deps.threads ?? 2, tempDirectory: `${deps.scratchDir}/duck` },
          onProgress: heartbeat,
        }),
      ),
    prepareMaintenance: (input) =>
      activityBoundary(() => prepareMaintenance(deps, input.featureGroup, input.policy)),
    compactPartitions: (input, partitions, idempotencyKey) =>
      activityBoundary(() =>
        compactPartitions(deps, input.featureGroup, input.policy ?? {}, partitions, idempotencyKey, {
          duck: { threads: deps.threads ?? 2, tempDirectory: `${deps.scratchDir}/duck` },
          onProgress: heartbeat,
        }),
      ),
    finishMaintenance: (input) => activityBoundary(() => finishMaintenance(deps, input.featureGroup)),
  };
}
