import type { FeatureViewDeps } from '../core/featurestore';
import { runDeploymentMonitor, type MonitorRunSummary } from '../core/monitoring/deployment-monitor';
import { activityBoundary } from './failures';

/** A monitoring window as carried across Temporal (ISO times). */
export interface MonitorWindowRequest {
  readonly monitor: string;
  readonly windowEnd: string;
  readonly windowStart?: string;
}

/** The monitoring activities (registered on the inference queue, which reads the prediction log). */
export interface MonitoringActivities {
  runMonitorWindow(request: MonitorWindowRequest): Promise<MonitorRunSummary>;
}

/** Builds the monitoring activities over the worker's adapters. */
export function createMonitoringActivities(deps: FeatureViewDeps): MonitoringActivities {
  return {
    runMonitorWindow: (request) =>
      activityBoundary(() =>
        runDeploymentMonitor(
          { db: deps.db, store: deps.store, scratchDir: deps.scratchDir },
          request.monitor,
          new Date(request.windowEnd),
          request.windowStart ? new Date(request.windowStart) : undefined,
        ),
      ),
  };
}
