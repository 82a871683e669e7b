import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type JsMsg } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
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
      `NATS at ${options.url} answers but JetStream does not (${(error as Error).message}); start the server with -js, or let \`infra/stack.sh up\` start one.`,
      { cause: error },
    );
  }
  return nc;
}

function natsUnavailable(url: string, error: unknown): ServiceUnavailableError {
  return new ServiceUnavailableError(
    'nats',
    `NATS at ${url} is not reachable: ${(error as Error).message}. Start the local stack with \`infra/stack.sh up\`, or set NATS_URL to a reachable server.`,
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

/** Options of {@link JetStreamSource.open}. */
export interface JetStreamSourceOptions {
  readonly stream: string;
  /** Durable consumer name: the position survives restarts and is shared by its workers. */
  readonly consumer: string;
  /** Redeliver an event not acked within this time (a consumer that died). @default 30 s */
  readonly ackWaitMs?: number;
}

/**
 * {@link StreamSource} over a JetStream durable pull consumer with explicit acks: an event is
 * redelivered until acknowledged, so a consumer that dies before its batch was made safe loses
 * nothing — whoever fetches next gets the batch again (at-least-once delivery; the pipeline makes
 * the effect exactly-once with idempotent writes keyed by stream sequence).
 */
export class JetStreamSource implements StreamSource {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly options: JetStreamSourceOptions,
  ) {}

  /** Creates the durable consumer if needed (from the stream's first event) and returns the source. */
  static async open(nc: NatsConnection, options: JetStreamSourceOptions): Promise<JetStreamSource> {
    const jsm = await jetstreamManager(nc);
    try {
      await jsm.consumers.info(options.stream, options.consumer);
    } catch {
      await jsm.consumers.add(options.stream, {
        durable_name: options.consumer,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ack_wait: (options.ackWaitMs ?? 30_000) * NS_PER_MS,
      });
    }
    return new JetStreamSource(nc, options);
  }

  async fetch(options: { maxEvents: number; maxWaitMs: number }): Promise<StreamBatch> {
    const consumer = await jetstream(this.nc).consumers.get(this.options.stream, this.options.consumer);
    const messages: JsMsg[] = [];
    const iterator = await consumer.fetch({
      max_messages: options.maxEvents,
      expires: Math.max(1000, options.maxWaitMs),
    });
    for await (const message of iterator) messages.push(message);
    const events: StreamEvent[] = messages.map((m) => ({
      sequence: m.info.streamSequence,
      subject: m.subject,
      data: m.data,
      storedAtMs: Number(m.timestampNanos / BigInt(NS_PER_MS)),
      deliveries: m.info.deliveryCount,
    }));
    return {
      events,
      ack: async () => {
        const last = messages.at(-1);
        if (!last) return;
        for (const m of messages.slice(0, -1)) m.ack();
        // Acks travel in order on one connection: the confirmed last one means all were processed.
        if (!(await last.ackAck({ timeout: 10_000 }))) {
          throw new ServiceUnavailableError(
            'nats',
            `JetStream did not confirm the ack of event ${last.seq}; the batch will be redelivered.`,
          );
        }
      },
    };
  }

  async pending(): Promise<number> {
    const info = await (
      await jetstreamManager(this.nc)
    ).consumers.info(this.options.stream, this.options.consumer);
    return info.num_pending;
  }

  async close(): Promise<void> {
    // The connection belongs to the caller; the durable consumer stays on the server.
  }
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
