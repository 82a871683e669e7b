import { createHash } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import { ValidationError } from '../errors';
import type { FeatureGroupSpec } from '../featurestore/feature-group';
import { validateFeatureEvent, type FeatureEvent } from './feature-events';
import { ensureEventStream, JetStreamPublisher } from './jetstream/jetstream';
import { eventStreamNames } from './subjects';

/** What {@link FeatureEventProducer.send} did. */
export interface SendResult {
  /** Stream sequence of each event, in input order (a duplicate gets the original's). */
  readonly sequences: readonly number[];
}

/** Options of {@link FeatureEventProducer}. */
export interface FeatureEventProducerOptions {
  /**
   * Most publishes awaiting their acknowledgement at once. JetStream acknowledges each event
   * separately; waiting for one ack before sending the next caps a producer at one round trip per
   * event, a window of them in flight does not. @default 256
   */
  readonly maxInFlight?: number;
}

/**
 * Publishes events for one feature group version into its stream — the TypeScript producer helper.
 * A batch is validated whole before anything is published, so a bad event never half-lands; each
 * event's message id is a hash of its normalised content, so a retried send (a producer that timed
 * out and tried again) is stored once within the stream's duplicate window, while a corrected value
 * for the same record key is a new event. Events of one send are stored in input order.
 */
export class FeatureEventProducer {
  private readonly names: { stream: string; subject: string };
  private readonly publisher: JetStreamPublisher;
  private readonly maxInFlight: number;
  private ready: Promise<void> | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly spec: FeatureGroupSpec,
    options: FeatureEventProducerOptions = {},
  ) {
    this.names = eventStreamNames(spec.name, spec.version);
    this.publisher = new JetStreamPublisher(nc);
    const maxInFlight = options.maxInFlight ?? 256;
    if (!Number.isInteger(maxInFlight) || maxInFlight <= 0)
      throw new ValidationError(`maxInFlight must be a positive integer, got ${maxInFlight}.`);
    this.maxInFlight = maxInFlight;
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
    if (events.length === 0) return { sequences: [] };
    await this.ensureStream();
    const sequences = new Array<number>(events.length);
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
          sequences[i] = (await this.publisher.publish(this.names.subject, data, { messageId })).sequence;
        } catch (error) {
          failure ??= { error };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.maxInFlight, events.length) }, lane));
    if (failure) {
      // The stream may have been deleted or the broker restarted without it: check again next time.
      this.ready = undefined;
      throw failure.error;
    }
    return { sequences };
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
