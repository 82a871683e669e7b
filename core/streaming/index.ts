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
