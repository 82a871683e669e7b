export * from './task';
export * from './metrics';
export * from './gates';
export * from './labels';
export { seededRandom } from './random';
export { encodeModel, ElementType } from './onnx/proto';
export type { ModelSpec, NodeSpec, TensorSpec, ValueInfoSpec, AttributeValue } from './onnx/proto';
export { loadSession, predictOnnx, verifyOnnxModel, maxAbsDifference } from './onnx/runtime';
export { FEATURES_INPUT } from './onnx/heads';
export type { Trainer, TrainedModel, TrainInput, TrainContext, StepMetric } from './trainers/trainer';
export { TrainerRegistry } from './trainers/registry';
export { gbdt } from './trainers/gbdt';
export type { GbdtParams } from './trainers/gbdt';
export { logisticRegression, linearRegression } from './trainers/linear';
export { mlp } from './trainers/mlp';
export {
  externalTrainerDefinitionSchema,
  externalTrainerRequestSchema,
  externalTrainerEnv,
  runExternalTrainer,
} from './external-trainer';
export type { ExternalTrainerDefinition, ExternalTrainerRequest, ExternalJob } from './external-trainer';
export * from './training-pipeline';
export { importModel, modelImportSpecSchema } from './model-import';
export type { ModelImportSpec, ModelImportResult } from './model-import';
export { adaptToPlatformInterface } from './onnx/adapt';
export type { InterfaceMapping, AdaptedModel } from './onnx/adapt';
export { readOnnxModel } from './onnx/reader';
export type { OnnxModelInfo, OnnxValueInfo } from './onnx/reader';
export { DevicePool, gpuDeviceIds } from './device-pool';
export { TrainerThreads } from './trainer-threads';
