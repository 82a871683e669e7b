import { loadConfig } from '../config';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { randomBytes } from 'node:crypto';
import { ValidationError } from '../errors';
import { defineFeatureGroup } from '../featurestore/feature-group';
import { connectJetStream, JetStreamSource } from './jetstream/jetstream';
import { FeatureEventProducer } from './producer';

const natsUrl = () => loadConfig().natsUrl;

// The producer helper against the real NATS server: validated batches, idempotent retries.
describe('FeatureEventProducer', () => {
  let nc: NatsConnection;
  const spec = defineFeatureGroup({
    name: `stream_${randomBytes(4).toString('hex')}`,
    primaryKey: ['card_id'],
    eventTime: 'event_time',
    features: [
      { name: 'card_id', type: 'string' },
      { name: 'event_time', type: 'timestamp' },
      { name: 'amount', type: 'double' },
    ],
  });
  const events = [1, 2, 3].map((i) => ({
    card_id: `c${i}`,
    event_time: `2026-11-30T12:0${i}:00Z`,
    amount: i * 10,
  }));

  beforeAll(async () => {
    nc = await connectJetStream({ url: natsUrl() });
  });
  afterAll(async () => {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(`fti_events_${spec.name}_v1`).catch(() => undefined);
    await nc.close();
  });

  it('publishes validated events once, even when a send is retried, and a batch with one bad event publishes nothing', async () => {
    const producer = new FeatureEventProducer(nc, spec);
    const first = await producer.send(events);
    expect(first.sequences).toEqual([1, 2, 3]);
    expect((await producer.send(events)).sequences).toEqual([1, 2, 3]); // a retry stores nothing new

    const bad = [
      { card_id: 'c9', event_time: '2026-11-30T13:00:00Z', amount: 1 },
      { card_id: 'c10', amount: 2 },
    ];
    const error = await producer.send(bad, 'request').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toContain('request 2');
    expect((error as Error).message).toContain('field "event_time" is missing');

    const source = await JetStreamSource.open(nc, {
      stream: producer.stream.stream,
      consumer: 'check',
      lingerMs: 500,
    });
    const batch = await source.fetch({ maxEvents: 10, maxWaitMs: 1000 });
    expect(batch.events.map((e) => JSON.parse(new TextDecoder().decode(e.data)) as unknown)).toEqual(
      events.map((e) => ({ ...e, event_time: new Date(e.event_time).toISOString() })),
    );
  });
});
