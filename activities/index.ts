import type { IngestionDeps } from '../core/featurestore';
import type { TrainingDeps } from '../core/ml';
import { TASK_QUEUES } from '../core/pipelines';
import { createFeaturePipelineActivities } from './feature-pipeline';
import { createPlatformCheckActivities, type PlatformCheckDeps } from './platform-check';
import { createTrainingActivities } from './training';
import { createTrainingDataJobActivities } from './training-data-job';
import { createInferenceActivities, type InferenceDeps } from './inference';
import { createMaintenanceActivities } from './maintenance';
import { createMaterializeActivities } from './materialize';
import { createMonitoringActivities } from './monitoring';
import { createStreamingActivities } from './streaming';
import type { StreamingDeps } from '../core/streaming';

export type {
  CheckQueueInput,
  QueueCheckResult,
  PlatformCheckActivities,
  PlatformCheckDeps,
} from './platform-check';
export { createPlatformCheckActivities } from './platform-check';
export type { FeaturePipelineActivities, FeatureRunRef, CommitRef, WindowRef } from './feature-pipeline';
export { createFeaturePipelineActivities } from './feature-pipeline';
export type { TrainingActivities, TrainingRunRef } from './training';
export { createTrainingActivities } from './training';
export type {
  TrainingDataJobActivities,
  TrainingDataJobResult,
  TrainingDataJobSpec,
} from './training-data-job';
export { createTrainingDataJobActivities } from './training-data-job';
export type { DeviceReport } from './devices';
export type { InferenceActivities, InferenceDeps, BatchInferenceInput, DeploymentChange } from './inference';
export { createInferenceActivities } from './inference';
export type { MaintenanceActivities, MaintenanceInput } from './maintenance';
export { createMaintenanceActivities } from './maintenance';
export type { MaterializeActivities, MaterializeInput } from './materialize';
export { createMaterializeActivities } from './materialize';
export type { MonitoringActivities, MonitorWindowRequest } from './monitoring';
export { createMonitoringActivities } from './monitoring';
export { describeDevices } from './devices';
export type { StreamingActivities, ConsumePartitionInput } from './streaming';
export { createStreamingActivities } from './streaming';

/** Everything an activity may need; the worker main wires concrete adapters into it. */
export interface ActivityDeps extends PlatformCheckDeps {
  /** Feature-store adapters; required on the features queue. */
  readonly ingestion?: IngestionDeps;
  /** Training adapters; required on the training queues. */
  readonly training?: TrainingDeps;
  /** Inference adapters; required on the inference queue. */
  readonly inference?: InferenceDeps;
  /** Streaming adapters (feature store + NATS); streaming pipelines run where these are given. */
  readonly streaming?: StreamingDeps;
}

/**
 * The activities a worker on `taskQueue` registers. Every queue answers the platform check; the
 * features queue (or any queue given ingestion adapters, e.g. a test's) runs feature pipelines; the
 * training queues (or any queue given training adapters) run training pipelines.
 */
export function activitiesFor(
  taskQueue: string,
  deps: ActivityDeps,
): Record<string, (...args: never[]) => Promise<unknown>> {
  const feature = deps.ingestion
    ? {
        ...createFeaturePipelineActivities(deps.ingestion),
        ...createMaintenanceActivities(deps.ingestion),
        ...createMaterializeActivities(deps.ingestion),
      }
    : {};
  if (taskQueue === TASK_QUEUES.features && !deps.ingestion) {
    throw new Error(`the ${TASK_QUEUES.features} worker needs feature-store adapters (deps.ingestion)`);
  }
  const training = deps.training
    ? { ...createTrainingActivities(deps.training), ...createTrainingDataJobActivities(deps.training) }
    : {};
  if ((taskQueue === TASK_QUEUES.training || taskQueue === TASK_QUEUES.trainingGpu) && !deps.training) {
    throw new Error(`the ${taskQueue} worker needs training adapters (deps.training)`);
  }
  const inference = deps.inference
    ? { ...createInferenceActivities(deps.inference), ...createMonitoringActivities(deps.inference) }
    : {};
  if (taskQueue === TASK_QUEUES.inference && !deps.inference) {
    throw new Error(`the ${TASK_QUEUES.inference} worker needs inference adapters (deps.inference)`);
  }
  const streaming = deps.streaming ? createStreamingActivities(deps.streaming) : {};
  return { ...createPlatformCheckActivities(deps), ...feature, ...training, ...inference, ...streaming };
}
