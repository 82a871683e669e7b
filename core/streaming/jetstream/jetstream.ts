import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type ConsumerMessages,
  type JsMsg,
} from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { redactUrl } from '../../config';
import { ServiceUnavailableError } from '../../errors';
import type { StreamBatch, StreamEvent, StreamPublisher, StreamSource } from '../stream-source';

const NS_PER_MS = 1_000_000;

/** Options of {@link connectJetStream}. */
export interface JetStreamConnectOptions {
  /** `nats://host:port` (see `NATS_URL`). */
  readonly url: string;
  /** Connection name shown by the server's monitoring. */
  readonly name?: string;
}

/**
 * Connects to NATS and checks that JetStream answers. The connection reconnects by itself forever
 * (a broker restart pauses fetches and publishes, it does not end the pipeline); a first connection
 * that fails is a {@link ServiceUnavailableError} naming the URL and the fix.
 */
export async function connectJetStream(options: JetStreamConnectOptions): Promise<NatsConnection> {
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: options.url,
      name: options.name ?? 'fti-platform',
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      timeout: 5000,
    });
  } catch (error) {
    throw natsUnavailable(options.url, error);
  }
  try {
    await (await jetstreamManager(nc)).getAccountInfo();
  } catch (error) {
    await nc.close().catch(() => undefined);
    throw new ServiceUnavailableError(
      'nats',
      `NATS at ${redactUrl(options.url, { hideUser: true })} answers but JetStream does not (${(error as Error).message}); start the server with -js, or let \`infra/stack.sh up\` start one.`,
      { cause: error },
    );
  }
  return nc;
}

function natsUnavailable(url: string, error: unknown): ServiceUnavailableError {
  return new ServiceUnavailableError(
    'nats',
    `NATS at ${redactUrl(url, { hideUser: true })} is not reachable: ${(error as Error).message}. Start the local stack with \`infra/stack.sh up\`, or set NATS_URL to a reachable server.`,
    { cause: error },
  );
}

/** Retention settings of an event stream. */
export interface EventStreamOptions {
  /** Keep events this long (replays and backfills read them). @default 7 days */
  readonly maxAgeMs?: number;
  /** A publish retried with the same message id within this window is stored once. @default 2 min */
  readonly duplicateWindowMs?: number;
}

/**
 * Creates the stream (or leaves an existing one as it is) capturing exactly `subject`, file-backed,
 * so events survive a broker restart.
 */
export async function ensureEventStream(
  nc: NatsConnection,
  stream: string,
  subject: string,
  options: EventStreamOptions = {},
): Promise<void> {
  const jsm = await jetstreamManager(nc);
  try {
    await jsm.streams.info(stream);
    return;
  } catch {
    // not there yet
  }
  await jsm.streams.add({
    name: stream,
    subjects: [subject],
    max_age: (options.maxAgeMs ?? 7 * 86_400_000) * NS_PER_MS,
    duplicate_window: (options.duplicateWindowMs ?? 120_000) * NS_PER_MS,
  });
}

/** The sequence of the newest event stored in `stream` (0 when it is empty). */
export async function streamLastSequence(nc: NatsConnection, stream: string): Promise<number> {
  return (await (await jetstreamManager(nc)).streams.info(stream)).state.last_seq;
}

/**
 * The sequence of the first event stored at or after `time` (the next sequence to be written when
 * none is), found with a short-lived ephemeral consumer that starts at that time.
 */
export async function sequenceAtTime(nc: NatsConnection, stream: string, time: Date): Promise<number> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.consumers.add(stream, {
    ack_policy: AckPolicy.None,
    deliver_policy: DeliverPolicy.StartTime,
    opt_start_time: time.toISOString(),
    inactive_threshold: 30_000 * NS_PER_MS,
  });
  try {
    const consumer = await jetstream(nc).consumers.get(stream, info.name);
    const first = await consumer.next({ expires: 2000 });
    return first ? first.info.streamSequence : (await streamLastSequence(nc, stream)) + 1;
  } finally {
    await jsm.consumers.delete(stream, info.name).catch(() => undefined);
  }
}

/** Options of {@link JetStreamSource.open}. */
export interface JetStreamSourceOptions {
  readonly stream: string;
  /** Durable consumer name (shown by `nats consumer ls`; its ack floor is the safe position). */
  readonly consumer: string;
  /**
   * Start right after this stream sequence: the consumer is (re)created there, so a restarted
   * pipeline resumes exactly at its own checkpoint instead of waiting `ackWaitMs` for the events a
   * dead consumer had fetched. Without it an existing consumer is reused as it is (from the stream's
   * first event when new).
   */
  readonly startAfter?: number;
  /** Redeliver events not acked within this time (a consumer that died). @default 5 min */
  readonly ackWaitMs?: number;
  /** Events buffered ahead of processing (flow control). @default 4096 */
  readonly bufferEvents?: number;
  /**
   * After the first event of an empty buffer arrives, wait this long for more before returning, so
   * a burst becomes one micro-batch rather than many of one event. @default 5
   */
  readonly lingerMs?: number;
}

/**
 * {@link StreamSource} over a JetStream durable pull consumer with cumulative acks (AckAll): events
 * stream into a bounded local buffer, a fetch takes what is there (waiting only when nothing is),
 * and {@link ackThrough} acknowledges a whole prefix once its effects are safe — so a consumer that
 * dies loses nothing (at-least-once delivery; the pipeline makes the effect exactly-once with
 * checkpoints and idempotent writes keyed by stream sequence).
 */
export class JetStreamSource implements StreamSource {
  private readonly buffer: JsMsg[] = [];
  /** Last message of each fetched batch not yet acked: the handles a cumulative ack needs. */
  private readonly batchEnds: JsMsg[] = [];
  private wake: (() => void) | undefined;
  private resume: (() => void) | undefined;
  private messages: ConsumerMessages | undefined;
  private failure: Error | undefined;
  private closed = false;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly options: JetStreamSourceOptions,
  ) {}

  /** Creates (or re-creates, with `startAfter`) the durable consumer and starts receiving. */
  static async open(nc: NatsConnection, options: JetStreamSourceOptions): Promise<JetStreamSource> {
    const jsm = await jetstreamManager(nc);
    const config = {
      durable_name: options.consumer,
      ack_policy: AckPolicy.All,
      ack_wait: (options.ackWaitMs ?? 300_000) * NS_PER_MS,
      // Events stay unacked until the next checkpoint (seconds of traffic): no cap on them.
      max_ack_pending: -1,
    };
    if (options.startAfter !== undefined) {
      await jsm.consumers.delete(options.stream, options.consumer).catch(() => undefined);
      await jsm.consumers.add(options.stream, {
        ...config,
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: options.startAfter + 1,
      });
    } else {
      try {
        await jsm.consumers.info(options.stream, options.consumer);
      } catch {
        await jsm.consumers.add(options.stream, { ...config, deliver_policy: DeliverPolicy.All });
      }
    }
    const source = new JetStreamSource(nc, options);
    await source.startReceiving();
    return source;
  }

  private async startReceiving(): Promise<void> {
    const consumer = await jetstream(this.nc).consumers.get(this.options.stream, this.options.consumer);
    const limit = this.options.bufferEvents ?? 4096;
    this.messages = await consumer.consume({ max_messages: Math.min(limit, 1024) });
    const messages = this.messages;
    void (async () => {
      try {
        for await (const message of messages) {
          this.buffer.push(message);
          this.wake?.();
          if (this.buffer.length >= limit && !this.closed)
            await new Promise<void>((resolve) => (this.resume = resolve));
        }
      } catch (error) {
        this.failure = error as Error;
        this.wake?.();
      }
    })();
  }

  private arrival(waitMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, waitMs);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    }).finally(() => (this.wake = undefined));
  }

  async fetch(options: { maxEvents: number; maxWaitMs: number }): Promise<StreamBatch> {
    if (this.buffer.length === 0 && !this.failure) {
      await this.arrival(options.maxWaitMs);
      const lingerUntil = Date.now() + (this.options.lingerMs ?? 5);
      while (!this.failure && this.buffer.length > 0 && this.buffer.length < options.maxEvents) {
        const left = lingerUntil - Date.now();
        if (left <= 0) break;
        await this.arrival(left);
      }
    }
    if (this.failure) throw natsFailure(this.options.stream, this.failure);
    const taken = this.buffer.splice(0, options.maxEvents);
    if (this.resume) {
      const resume = this.resume;
      this.resume = undefined;
      resume();
    }
    const last = taken.at(-1);
    if (last) this.batchEnds.push(last);
    const events: StreamEvent[] = taken.map((m) => ({
      sequence: m.info.streamSequence,
      subject: m.subject,
      data: m.data,
      storedAtMs: Number(m.timestampNanos / BigInt(NS_PER_MS)),
      deliveries: m.info.deliveryCount,
    }));
    return { events, ack: () => (last ? this.ackThrough(last.info.streamSequence) : Promise.resolve()) };
  }

  async ackThrough(sequence: number): Promise<void> {
    let end: JsMsg | undefined;
    while (this.batchEnds.length > 0 && this.batchEnds[0]!.info.streamSequence <= sequence)
      end = this.batchEnds.shift();
    if (!end) return;
    // AckAll: acknowledging this event acknowledges every earlier one.
    if (!(await end.ackAck({ timeout: 10_000 }))) {
      throw new ServiceUnavailableError(
        'nats',
        `JetStream did not confirm the ack of event ${end.info.streamSequence} on ${this.options.stream}; the events will be redelivered.`,
      );
    }
  }

  async pending(): Promise<number> {
    const info = await (
      await jetstreamManager(this.nc)
    ).consumers.info(this.options.stream, this.options.consumer);
    return info.num_pending + this.buffer.length;
  }

  async lastSequence(): Promise<number> {
    return streamLastSequence(this.nc, this.options.stream);
  }

  async close(): Promise<void> {
    // The connection belongs to the caller; the durable consumer stays on the server.
    this.closed = true;
    this.resume?.();
    await this.messages?.close().catch(() => undefined);
  }
}

function natsFailure(stream: string, error: Error): ServiceUnavailableError {
  return new ServiceUnavailableError(
    'nats',
    `reading stream ${stream} failed: ${error.message}. The consumer is restarted from its checkpoint.`,
    { cause: error },
  );
}

/** {@link StreamPublisher} over JetStream: a publish resolves once the stream stored the event. */
export class JetStreamPublisher implements StreamPublisher {
  constructor(private readonly nc: NatsConnection) {}

  async publish(
    subject: string,
    data: Uint8Array,
    options: { messageId?: string } = {},
  ): Promise<{ sequence: number }> {
    const ack = await jetstream(this.nc).publish(
      subject,
      data,
      options.messageId ? { msgID: options.messageId } : {},
    );
    return { sequence: ack.seq };
  }

  async close(): Promise<void> {
    await this.nc.flush();
  }
}
