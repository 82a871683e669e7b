// The workflow bundle's entry: every workflow type the platform's workers run.
export { platformCheck } from './platform-check';
export type { PlatformCheckInput, PlatformCheckReport } from './platform-check';
export { featurePipeline } from './feature-pipeline';
export type { FeaturePipelineInput, FeaturePipelineResult } from './feature-pipeline';
export { trainingPipeline, trainingStepQuery } from './training-pipeline';
export type { TrainingPipelineInput, TrainingPipelineResult } from './training-pipeline';
export { batchInference, deploymentRollout } from './inference';
export type { BatchInferenceWorkflowInput, DeploymentRolloutResult } from './inference';
export { featureGroupMaintenance } from './feature-group-maintenance';
export type { FeatureGroupMaintenanceInput } from './feature-group-maintenance';
export { streamingFeaturePipeline } from './streaming-pipeline';
export type { StreamingPipelineInput, StreamingPipelineResult } from './streaming-pipeline';
export { monitorWindow } from './monitoring';
export type { MonitorWindowInput } from './monitoring';
export { alertSweep, deliverAlert } from './alerts';
export type { AlertSweepInput, DeliverAlertInput } from './alerts';
export { retrainingLoop, retrainPhaseQuery, retrainSignal } from './retraining';
export type { RetrainingLoopInput, RetrainTrigger } from './retraining';
