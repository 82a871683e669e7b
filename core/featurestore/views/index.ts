export { featureViewDefinitionSchema, parseFeatureViewDefinition } from './definition';
export type { FeatureViewDefinition, FeatureViewDefinitionParsed, ViewFilter } from './definition';
export { resolveFeatureView } from './resolve';
export type { ResolvedFeatureView, ResolvedJoin, ViewColumn, ColumnRole } from './resolve';
export {
  createFeatureView,
  getFeatureView,
  getFeatureViewById,
  listFeatureViews,
  deleteFeatureView,
  FeatureViewNotFoundError,
} from './repository';
export type { FeatureViewRecord } from './repository';
export type { FeatureViewDeps } from './deps';
export {
  materializeView,
  resolvePins,
  outputColumns,
  assertRange,
  partitionKeyOf,
  SPINE_ROW,
} from './pit-join';
export type { SnapshotPins, SpineSource, TimeRange, ReadPurpose, MaterializeOptions } from './pit-join';
export type { SpineInput } from './spine-input';
export {
  createTrainingData,
  getTrainingDataset,
  listTrainingDatasets,
  recreateTrainingData,
  splitDefinitionSchema,
  TrainingDatasetNotFoundError,
  SPLIT_NAMES,
} from './training-data';
export {
  deleteTrainingDataParts,
  materializeTrainingDataPart,
  partKey,
  planTrainingData,
} from './training-data-parts';
export type {
  PlanTrainingDataRequest,
  TrainingDataPartRequest,
  TrainingDataPlan,
} from './training-data-parts';
export type {
  CreateTrainingDataRequest,
  SplitDefinition,
  SplitName,
  TrainingDatasetInfo,
} from './training-data';
export {
  readTrainingData,
  readTrainingMatrix,
  materializeBatch,
  batchChunks,
  getBatchData,
  transformRow,
  toMatrix,
  toInputMatrix,
} from './read';
export { rowsSeenBy } from './split-overlap';
export type { SeenAs, DatasetVersionRef } from './split-overlap';
export type { FeatureMatrix, BatchRequest, MaterializedBatch, ReadTrainingDataOptions } from './read';
export { ensureModelReadySplit, modelReadySplitKey } from './model-ready';
export {
  transformStepSchema,
  fitTransformations,
  encodeRow,
  encodeFeature,
  outputsOf,
  applyStep,
  passthrough,
  UnknownCategoryError,
} from './model-transforms';
export type { TransformStep, FittedStep, FittedTransformations, RawValue } from './model-transforms';
export { defineOnDemandFeature, OnDemandRegistry, onDemandIngestion, computeOnDemand } from './on-demand';
export type { OnDemandFunction, OnDemandBinding, OnDemandInputs } from './on-demand';
export { OnlineFeatureReader, MissingFeatureError, RequestFieldError } from './online-vectors';
export type { FeatureVector, FeatureStatus, VectorRequest, VectorOptions } from './online-vectors';
export { checkOnlineOfflineSkew } from './skew';
export type { SkewReport, SkewMismatch } from './skew';
