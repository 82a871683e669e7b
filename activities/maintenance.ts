import {
  maintainFeatureGroup,
  type MaintenancePolicy,
  type MaintenanceReport,
  type MaintenanceTarget,
  type IngestionDeps,
} from '../core/featurestore';
import { activityBoundary } from './failures';
import { heartbeat } from './pipeline-runs';

export type { MaintenanceReport };

/** Input of {@link MaintenanceActivities.maintainFeatureGroup}: references only. */
export interface MaintenanceInput {
  readonly featureGroup: MaintenanceTarget;
  readonly policy?: MaintenancePolicy;
}

/** Offline-table maintenance activities (queue `fti-features`). */
export interface MaintenanceActivities {
  /** One idempotent pass: abort silent commits, compact by the policy, apply retention. */
  maintainFeatureGroup(input: MaintenanceInput): Promise<MaintenanceReport>;
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
  };
}
