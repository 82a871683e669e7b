import { createHash } from 'node:crypto';
import {
  createInbox,
  headers,
  type Msg,
  type NatsConnection,
  type Subscription,
} from '@nats-io/transport-node';
import { ServiceUnavailableError, ValidationError } from '../errors';
import type { FeatureGroupSpec } from '../featurestore/feature-group';
import { validateFeatureEvent, type FeatureEvent } from './feature-events';
import { ensureEventStream } from './jetstream/jetstream';
import { eventStreamNames } from './subjects';

/** What {@link FeatureEventProducer.send} did. */
export interface SendResult {
  /** Stream sequence of each event, in input order (a duplicate gets the original's). */
  readonly sequences: readonly number[];
  /** Events the stream already held (resent within its duplicate window): not stored again. */
  readonly duplicates: number;
}

/** Options of {@link FeatureEventProducer}. */
export interface FeatureEventProducerOptions {
  /**
   * Most publishes awaiting their acknowledgement at once. JetStream acknowledges each event
   * separately; waiting for one ack before sending the next caps a producer at one round trip per
   * event, a window of them in flight does not. @default 256
   */
  readonly maxInFlight?: number;
  /** A publish not acknowledged within this time fails (retryable: resending is safe). @default 10 s */
  readonly ackTimeoutMs?: number;
}

/**
 * Publishes events for one feature group version into its stream — the TypeScript producer helper.
 * A batch is validated whole before anything is published, so a bad event never half-lands; each
 * event's message id is a hash of its normalised content, so a retried send (a producer that timed
 * out and tried again) is stored once within the stream's duplicate window, while a corrected value
 * for the same record key is a new event. Events of one send are stored in input order. A stream
 * deleted behind the producer's back is created again.
 */
export class FeatureEventProducer {
  private readonly names: { stream: string; subject: string };
  private readonly acks: AckWindow;
  private readonly maxInFlight: number;
  private ready: Promise<void> | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly spec: FeatureGroupSpec,
    options: FeatureEventProducerOptions = {},
  ) {
    this.names = eventStreamNames(spec.name, spec.version);
    const maxInFlight = options.maxInFlight ?? 256;
    if (!Number.isInteger(maxInFlight) || maxInFlight <= 0)
      throw new ValidationError(`maxInFlight must be a positive integer, got ${maxInFlight}.`);
    this.maxInFlight = maxInFlight;
    this.acks = new AckWindow(nc, options.ackTimeoutMs ?? 10_000);
  }

  /** The stream and subject the events go to. */
  get stream(): { stream: string; subject: string } {
    return this.names;
  }

  /** Validates every event, then publishes them in order; resolves once all are stored. */
  async send(events: readonly unknown[], where = 'event'): Promise<SendResult> {
    const checked: FeatureEvent[] = events.map((e, i) =>
      validateFeatureEvent(this.spec, e, `${where} ${i + 1}`),
    );
    return this.sendValidated(checked);
  }

  /**
   * Publishes events that already went through {@link validateFeatureEvent} with this producer's
   * feature group (callers that validate a whole file or request first, to report every position
   * themselves); resolves once all are stored. On a broker failure some events may be stored and
   * others not: sending the same events again stores only the missing ones.
   */
  async sendValidated(events: readonly FeatureEvent[]): Promise<SendResult> {
    if (events.length === 0) return { sequences: [], duplicates: 0 };
    await this.ensureStream();
    try {
      return await this.publishAll(events);
    } catch (error) {
      if (!(error instanceof StreamMissingError)) throw error;
      // Deleted since we checked: create it again and resend (what was stored is not stored twice).
      this.ready = undefined;
      await this.ensureStream();
      return this.publishAll(events);
    }
  }

  private async publishAll(events: readonly FeatureEvent[]): Promise<SendResult> {
    const sequences = new Array<number>(events.length);
    let duplicates = 0;
    const encoder = new TextEncoder();
    let next = 0;
    let failure: { error: unknown } | undefined;
    // A window of publishes in flight on one connection: NATS keeps a connection's messages in the
    // order they were written, so the stream stores them in input order.
    const lane = async () => {
      while (next < events.length && !failure) {
        const i = next++;
        const data = encoder.encode(JSON.stringify(events[i]));
        const messageId = createHash('sha256').update(data).digest('hex');
        try {
          const ack = await this.acks.publish(this.names.subject, data, messageId);
          sequences[i] = ack.sequence;
          if (ack.duplicate) duplicates += 1;
        } catch (error) {
          failure ??= { error };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.maxInFlight, events.length) }, lane));
    if (failure) throw failure.error;
    return { sequences, duplicates };
  }

  private async ensureStream(): Promise<void> {
    this.ready ??= ensureEventStream(this.nc, this.names.stream, this.names.subject);
    try {
      await this.ready;
    } catch (error) {
      // A failed check (broker down) must not stick: the next send tries again.
      this.ready = undefined;
      throw error;
    }
  }
}

/** No stream captures the subject (JetStream's "no responders"). */
class StreamMissingError extends ServiceUnavailableError {}

interface PendingAck {
  readonly resolve: (ack: { sequence: number; duplicate: boolean }) => void;
  readonly reject: (error: Error) => void;
  readonly subject: string;
  readonly sentAt: number;
}

/**
 * JetStream publishes with their acks collected on one reply subscription, as the Go client's
 * PublishAsync does. The JavaScript client's `publish` sets up a request (reply routing, a timer)
 * per event, which costs about three times the CPU per event; here one subscription routes every
 * ack by its reply token and one timer expires the stragglers.
 */
class AckWindow {
  private readonly pending = new Map<string, PendingAck>();
  private readonly decoder = new TextDecoder();
  private inbox: string | undefined;
  private subscription: Subscription | undefined;
  private timer: NodeJS.Timeout | undefined;
  private counter = 0;

  constructor(
    private readonly nc: NatsConnection,
    private readonly timeoutMs: number,
  ) {}

  /** Resolves with the event's stream sequence once the stream stored it (or had it already). */
  publish(
    subject: string,
    data: Uint8Array,
    messageId: string,
  ): Promise<{ sequence: number; duplicate: boolean }> {
    if (!this.subscription || this.subscription.isClosed()) {
      this.inbox = createInbox();
      this.subscription = this.nc.subscribe(`${this.inbox}.*`, {
        callback: (error, msg) => (error ? this.failAll(error) : this.settle(msg)),
      });
    }
    const token = (this.counter++).toString(36);
    const h = headers();
    h.set('Nats-Msg-Id', messageId);
    return new Promise((resolve, reject) => {
      this.pending.set(token, { resolve, reject, subject, sentAt: Date.now() });
      try {
        this.nc.publish(subject, data, { reply: `${this.inbox}.${token}`, headers: h });
      } catch (error) {
        this.pending.delete(token);
        reject(unavailable(`publishing to ${subject} failed: ${(error as Error).message}`, error));
        return;
      }
      this.timer ??= setInterval(() => this.expire(), Math.min(1000, this.timeoutMs)).unref();
    });
  }

  private settle(msg: Msg): void {
    const token = msg.subject.slice(this.inbox!.length + 1);
    const waiting = this.pending.get(token);
    if (!waiting) return; // expired already
    this.pending.delete(token);
    this.stopTimerWhenIdle();
    if (msg.headers?.code === 503) {
      waiting.reject(
        new StreamMissingError(
          'nats',
          `no JetStream stream stores subject ${waiting.subject} (deleted, or JetStream is off).`,
        ),
      );
      return;
    }
    let ack: { seq?: number; duplicate?: boolean; error?: { description?: string } };
    try {
      ack = JSON.parse(this.decoder.decode(msg.data)) as typeof ack;
    } catch (error) {
      waiting.reject(unavailable('JetStream answered a publish with something other than an ack.', error));
      return;
    }
    if (ack.error || typeof ack.seq !== 'number')
      waiting.reject(
        unavailable(`JetStream refused the event: ${ack.error?.description ?? 'no sequence in the ack'}.`),
      );
    else waiting.resolve({ sequence: ack.seq, duplicate: ack.duplicate === true });
  }

  private expire(): void {
    const cutoff = Date.now() - this.timeoutMs;
    for (const [token, waiting] of this.pending) {
      if (waiting.sentAt > cutoff) continue;
      this.pending.delete(token);
      waiting.reject(
        unavailable(
          `JetStream did not acknowledge an event within ${this.timeoutMs} ms (broker down or overloaded); resending is safe.`,
        ),
      );
    }
    this.stopTimerWhenIdle();
  }

  private failAll(error: Error): void {
    for (const waiting of this.pending.values())
      waiting.reject(unavailable(`the ack subscription failed: ${error.message}`, error));
    this.pending.clear();
    this.stopTimerWhenIdle();
    this.subscription = undefined;
  }

  private stopTimerWhenIdle(): void {
    if (this.pending.size > 0 || !this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

function unavailable(message: string, cause?: unknown): ServiceUnavailableError {
  return new ServiceUnavailableError('nats', message, cause === undefined ? {} : { cause });
}
