import type { IngestionDeps } from '../core/featurestore';
import { TASK_QUEUES } from '../core/pipelines';
import { createFeaturePipelineActivities } from './feature-pipeline';
import { createPlatformCheckActivities, type PlatformCheckDeps } from './platform-check';

export type {
  CheckQueueInput,
  QueueCheckResult,
  PlatformCheckActivities,
  PlatformCheckDeps,
} from './platform-check';
export { createPlatformCheckActivities } from './platform-check';
export type { FeaturePipelineActivities, FeatureRunRef, CommitRef, WindowRef } from './feature-pipeline';
export { createFeaturePipelineActivities } from './feature-pipeline';

/** Everything an activity may need; the worker main wires concrete adapters into it. */
export interface ActivityDeps extends PlatformCheckDeps {
  /** Feature-store adapters; required on the features queue. */
  readonly ingestion?: IngestionDeps;
}

/**
 * The activities a worker on `taskQueue` registers. Every queue answers the platform check; the
 * features queue (or any queue given ingestion adapters, e.g. a test's) runs feature pipelines.
 */
export function activitiesFor(
  taskQueue: string,
  deps: ActivityDeps,
): Record<string, (...args: never[]) => Promise<unknown>> {
  const feature = deps.ingestion ? createFeaturePipelineActivities(deps.ingestion) : {};
  if (taskQueue === TASK_QUEUES.features && !deps.ingestion) {
    throw new Error(`the ${TASK_QUEUES.features} worker needs feature-store adapters (deps.ingestion)`);
  }
  return { ...createPlatformCheckActivities(deps), ...feature };
}
