/**
 * The stream port: what a streaming feature pipeline needs from an event broker. JetStream is the
 * built-in adapter; another broker (Kafka, Kinesis, Pub/Sub) plugs in by implementing these two
 * interfaces with the same guarantees.
 */

/** One event as delivered, with its position in the stream. */
export interface StreamEvent {
  /** Position in the stream (monotonic per stream); ranges of these are commit idempotency keys. */
  readonly sequence: number;
  readonly subject: string;
  readonly data: Uint8Array;
  /** When the broker stored it (ms since epoch): the start of freshness measurements. */
  readonly storedAtMs: number;
  /** How many times it was delivered (> 1 after a redelivery: a consumer died before acking). */
  readonly deliveries: number;
}

/** A micro-batch fetched from a durable consumer. */
export interface StreamBatch {
  readonly events: readonly StreamEvent[];
  /**
   * Acknowledges every event up to the batch's last (cumulatively). Call only once what they
   * produced is safe (committed, checkpointed); until then the broker redelivers them to whoever
   * consumes next.
   */
  ack(): Promise<void>;
}

/** Reads a stream through a durable consumer whose position survives restarts. */
export interface StreamSource {
  /**
   * Up to `maxEvents` events in stream order, waiting at most `maxWaitMs` for them (an empty batch
   * when none arrive): micro-batches bounded by count and time.
   */
  fetch(options: { readonly maxEvents: number; readonly maxWaitMs: number }): Promise<StreamBatch>;
  /**
   * Acknowledges every event delivered so far with a sequence up to `sequence` (the position of a
   * checkpoint): the broker will not redeliver them.
   */
  ackThrough(sequence: number): Promise<void>;
  /** Events stored but not yet processed by this consumer (its lag). */
  pending(): Promise<number>;
  /** The sequence of the newest event stored in the stream (0 when empty). */
  lastSequence(): Promise<number>;
  close(): Promise<void>;
}

/** Appends events to a stream. */
export interface StreamPublisher {
  /**
   * Stores one event; resolves once the broker has persisted it. `messageId`, when given, makes a
   * retried publish a no-op within the broker's duplicate window.
   */
  publish(
    subject: string,
    data: Uint8Array,
    options?: { readonly messageId?: string },
  ): Promise<{ sequence: number }>;
  close(): Promise<void>;
}
