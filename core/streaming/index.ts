export type { StreamBatch, StreamEvent, StreamPublisher, StreamSource } from './stream-source';
export { eventStreamNames } from './subjects';
export type { EventStreamNames } from './subjects';
export {
  connectJetStream,
  ensureEventStream,
  JetStreamPublisher,
  JetStreamSource,
} from './jetstream/jetstream';
export type {
  EventStreamOptions,
  JetStreamConnectOptions,
  JetStreamSourceOptions,
} from './jetstream/jetstream';
export { validateFeatureEvent } from './feature-events';
export type { EventValue, FeatureEvent } from './feature-events';
export { FeatureEventProducer } from './producer';
export type { FeatureEventProducerOptions, SendResult } from './producer';
export { eventFileFormat, readEventFile, replayEventFile } from './event-files';
export type {
  EventFileFormat,
  FileEvent,
  ReadEventFileOptions,
  ReplayEventFileOptions,
  ReplayProgress,
  ReplaySummary,
  TimeShift,
} from './event-files';
export {
  parseStreamPipelineSpec,
  streamPipelineSpecSchema,
  streamWorkflowId,
  MAX_STREAM_PARTITIONS,
} from './pipeline-spec';
export type { NormalizedStreamPipelineSpec, StreamPipelineSpec } from './pipeline-spec';
export { CheckpointStore, StreamFencedError } from './checkpoints';
export type { StreamCheckpoint, StreamCounters } from './checkpoints';
export { runStreamPartition, consumerName } from './partition-runner';
export type { PartitionRunOptions, StreamingDeps, StreamPartitionStatus } from './partition-runner';
export { streamOperatorFor } from './operators';
export type { OperatorOutput, StreamOperator } from './operators';
export { WindowOperator, WindowSnapshotError } from './window-operator';
export type { AddResult, OperatorRow, OperatorScalar, WindowOperatorOptions } from './window-operator';
export { DeadLetterSink, deadLetterNames } from './dead-letters';
export type { DeadLetter, DeadLetterReason } from './dead-letters';
export { partitionOf } from './partition';
export { RollingStats } from './rolling-stats';
export { streamLastSequence } from './jetstream/jetstream';
export { StreamMetrics, streamMetrics } from './metrics';
