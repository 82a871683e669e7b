import { createHash } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import type { FeatureGroupSpec } from '../featurestore/feature-group';
import { validateFeatureEvent, type FeatureEvent } from './feature-events';
import { ensureEventStream, JetStreamPublisher } from './jetstream/jetstream';
import { eventStreamNames } from './subjects';

/** What {@link FeatureEventProducer.send} did. */
export interface SendResult {
  /** Stream sequence of each event, in input order (a duplicate gets the original's). */
  readonly sequences: readonly number[];
}

/**
 * Publishes events for one feature group version into its stream — the TypeScript producer helper.
 * A batch is validated whole before anything is published, so a bad event never half-lands; each
 * event's message id is a hash of its normalised content, so a retried send (a producer that timed
 * out and tried again) is stored once within the stream's duplicate window, while a corrected value
 * for the same record key is a new event.
 */
export class FeatureEventProducer {
  private readonly names: { stream: string; subject: string };
  private readonly publisher: JetStreamPublisher;
  private ready: Promise<void> | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly spec: FeatureGroupSpec,
  ) {
    this.names = eventStreamNames(spec.name, spec.version);
    this.publisher = new JetStreamPublisher(nc);
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
    this.ready ??= ensureEventStream(this.nc, this.names.stream, this.names.subject);
    await this.ready;
    const sequences: number[] = [];
    for (const event of checked) {
      const data = new TextEncoder().encode(JSON.stringify(event));
      const messageId = createHash('sha256').update(data).digest('hex');
      sequences.push((await this.publisher.publish(this.names.subject, data, { messageId })).sequence);
    }
    return { sequences };
  }
}
