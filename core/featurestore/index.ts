export { defineFeatureGroup, compareSchemas, FEATURE_TYPES } from './feature-group';
export type {
  FeatureGroupDefinition,
  FeatureGroupSpec,
  FeatureDefinition,
  FeatureType,
  ResolvedFeature,
  SchemaChange,
} from './feature-group';
export { registerFeatureGroup, getFeatureGroup, listFeatureGroups } from './feature-group-repository';
export type { FeatureGroupRecord, RegisterOutcome } from './feature-group-repository';
export { registerFeatureGroupChecked } from './register-group';
export type { GroupRegistration } from './register-group';
export {
  externalSourceSchema,
  describeExternalSource,
  checkExternalSource,
  loadExternalRows,
} from './external/external-source';
export type { ExternalSource, ExternalSourceDefinition } from './external/external-source';
export {
  FeatureGroupNotFoundError,
  SchemaChangeError,
  CommitNotFoundError,
  CommitFencedError,
  WriteConflictError,
  assertWritableGroup,
} from './errors';
export { OfflineTable } from './offline/offline-table';
export type {
  OfflineStoreDeps,
  WriteOptions,
  WriteResult,
  CompactOptions,
  SnapshotRead,
} from './offline/offline-table';
export {
  PARTITION_PERIODS,
  partitioningOf,
  UNPARTITIONED,
  type Partitioning,
  type PartitionPeriod,
  type SnapshotFilter,
} from './offline/partitioning';
export { planCompaction } from './offline/compaction-plan';
export type { CompactionPolicy, CompactionRun } from './offline/compaction-plan';
export {
  compactPartitions,
  finishMaintenance,
  maintainFeatureGroup,
  prepareMaintenance,
} from './maintenance/maintain';
export type {
  MaintenancePlan,
  MaintenancePolicy,
  MaintenanceReport,
  MaintenanceTarget,
} from './maintenance/maintain';
export type { CommitInfo, CommitFile, AsOf, WriteOperation } from './offline/commits';
export * from './online';
export * from './sources';
export * from './transformations';
export { expectationSuiteSchema, expectationSchema } from './validation/expectations';
export type {
  Expectation,
  ExpectationInput,
  ExpectationSuite,
  IngestionPolicy,
} from './validation/expectations';
export { validateRelation, summarizeFailures } from './validation/validator';
export type { ValidationReport, ExpectationResult } from './validation/validator';
export { computeStatistics } from './statistics';
export type { BatchStatistics, ColumnStatistics } from './statistics';
export { conformBatch, DUCK_TYPES } from './conform';
export * from './ingestion';
export { featurePipelineSpecSchema, parseFeaturePipelineSpec, parseWindow } from './pipeline-spec';
export type { FeaturePipelineSpec, NormalizedFeaturePipelineSpec } from './pipeline-spec';
export * from './views';
export { loadFeatureModules, FEATURE_MODULES_ENV } from './feature-modules';
export type { FeatureModule, LoadedFeatureModules } from './feature-modules';
export * from './materialize';
