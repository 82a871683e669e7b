import type { NatsConnection } from '@nats-io/transport-node';
import { ensureEventStream, JetStreamPublisher } from './jetstream/jetstream';

/** Why an event did not become rows. */
export type DeadLetterReason = 'undecodable' | 'invalid' | 'late' | 'invalid_output';

/** What the dead-letter stream holds per event: enough to inspect, fix and re-publish it. */
export interface DeadLetter {
  readonly pipeline: string;
  readonly partition: number;
  /** The event's sequence in its source stream. */
  readonly sequence: number;
  readonly subject: string;
  readonly reason: DeadLetterReason;
  /** What was wrong, naming the field; never a value. */
  readonly detail: string;
  /** The event as it was published (UTF-8), cut at 64 KiB. */
  readonly data: string;
}

const MAX_DATA = 64 * 1024;

/** Stream and subject of a pipeline's dead letters. */
export function deadLetterNames(pipeline: string): { stream: string; subject: string } {
  return { stream: `fti_deadletter_${pipeline.replace(/-/g, '_')}`, subject: `fti.deadletter.${pipeline}` };
}

/**
 * Publishes events a streaming pipeline could not use to its dead-letter stream, so one bad event
 * never stops the pipeline and nothing is dropped silently. Message ids are the pipeline, partition
 * and source sequence, so a replay after a crash stores each dead letter once (within the stream's
 * one-hour duplicate window).
 */
export class DeadLetterSink {
  private readonly names: { stream: string; subject: string };
  private readonly publisher: JetStreamPublisher;
  private ready: Promise<void> | undefined;

  constructor(
    private readonly nc: NatsConnection,
    pipeline: string,
  ) {
    this.names = deadLetterNames(pipeline);
    this.publisher = new JetStreamPublisher(nc);
  }

  async send(letter: DeadLetter): Promise<void> {
    this.ready ??= ensureEventStream(this.nc, this.names.stream, this.names.subject, {
      duplicateWindowMs: 3_600_000,
      maxAgeMs: 30 * 86_400_000,
    });
    await this.ready;
    const body = { ...letter, data: letter.data.slice(0, MAX_DATA) };
    await this.publisher.publish(this.names.subject, new TextEncoder().encode(JSON.stringify(body)), {
      messageId: `${letter.pipeline}:${letter.partition}:${letter.sequence}`,
    });
  }
}
