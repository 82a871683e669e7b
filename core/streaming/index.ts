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
export type { SendResult } from './producer';
