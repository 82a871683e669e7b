import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Worker } from '@temporalio/worker';
import { loadConfig } from '../../core/config';
import { openDatabase, type DatabaseHandle } from '../../core/db';
import { getFeatureGroup, TransformationRegistry, type IngestionDeps } from '../../core/featurestore';
import type { S3ObjectStore } from '../../core/storage';
import {
  CheckpointStore,
  connectJetStream,
  deadLetterNames,
  FeatureEventProducer,
  JetStreamPublisher,
  JetStreamSource,
  type StreamPipelineSpec,
} from '../../core/streaming';
import type { StreamingPipelineResult } from '../../workflows';
import { createStreamWorker } from '../../workers/worker-factory';
import {
  cardActivitySnapshot,
  cardWindows,
  registerStreamingGroups,
  transactions,
  waitForCheckpoint,
} from '../support/streaming';
import { uniqueName } from '../support/ids';
import { testIngestionDeps, writeCsv } from '../support/ingestion';
import { testObjectStore } from '../support/stores';
import { connectTestTemporal, createTestWorkers, type TemporalTestContext } from '../support/temporal';

describe('streaming feature pipeline (real JetStream, Temporal, PostgreSQL, S3)', () => {
  let temporal: TemporalTestContext;
  let database: DatabaseHandle;
  let store: S3ObjectStore;
  let deps: IngestionDeps;
  let nc: NatsConnection;
  const streams: string[] = [];
  const taskQueue = uniqueName('fti-features');

  beforeAll(async () => {
    temporal = await connectTestTemporal();
    database = await openDatabase({ url: loadConfig().databaseUrl });
    store = testObjectStore();
    deps = testIngestionDeps(
      database,
      store,
      new TransformationRegistry().register('card_windows', cardWindows()),
    );
    nc = await connectJetStream({ url: loadConfig().natsUrl, name: 'fti-test' });
  });
  afterAll(async () => {
    const jsm = await jetstreamManager(nc);
    for (const stream of streams) await jsm.streams.delete(stream).catch(() => undefined);
    await nc.close();
    await store.deletePrefix('');
    store.close();
    await database.close();
    await temporal.close();
  });

  async function workers(): Promise<Worker[]> {
    const activityDeps = {
      db: database.db,
      store,
      ingestion: deps,
      streaming: { ...deps, natsUrl: loadConfig().natsUrl },
    };
    const [features] = await createTestWorkers(temporal, [taskQueue], activityDeps);
    const streamWorker = await createStreamWorker({
      connection: temporal.nativeConnection,
      namespace: temporal.namespace,
      taskQueue,
      deps: activityDeps.streaming,
      slots: 4,
    });
    return [features!, streamWorker];
  }

  it('computes the same rows as the batch pipeline over the same events, online and offline, across 2 key partitions; bad and too-late events go to the dead-letter stream', async () => {
    const {
      source,
      targets: [target, batch],
    } = await registerStreamingGroups(database.db, 2);
    streams.push(`fti_events_${source}_v1`);
    const events = transactions(600);
    const sourceSpec = (await getFeatureGroup(database.db, source)).spec;
    const producer = new FeatureEventProducer(nc, sourceSpec);
    await producer.send(events.slice(0, 300));
    // One event that is not JSON and one far older than the watermark: reported, never blocking.
    await new JetStreamPublisher(nc).publish(
      producer.stream.subject,
      new TextEncoder().encode('{"txn_id": '),
    );
    await producer.send([
      { txn_id: 'late', event_time: '2026-03-01T09:00:00.000Z', card_id: 'c1', amount: 1 },
    ]);
    await producer.send(events.slice(300));
    const last = 602;

    const pipeline = uniqueName('cards');
    const spec: StreamPipelineSpec = {
      name: pipeline,
      source: { name: source },
      featureGroup: { name: target! },
      transformation: 'card_windows',
      partitions: 2,
      commitIntervalSeconds: 1,
      allowedLatenessSeconds: 60,
    };
    const [features, streamWorker] = await workers();
    const running = [features!.run(), streamWorker!.run()];
    try {
      const handle = await temporal.client.workflow.start('streamingFeaturePipeline', {
        taskQueue,
        workflowId: `stream-${pipeline}`,
        args: [{ spec }],
      });
      await waitForCheckpoint(database.db, pipeline, last);
      await handle.cancel();
      const result = (await handle.result()) as StreamingPipelineResult;
      expect(result.stopped).toBe(true);
    } finally {
      features!.shutdown();
      streamWorker!.shutdown();
      await Promise.allSettled(running);
    }

    // The batch pipeline over the same events (in publish order; the late one included, as a batch
    // backfill would, is what the stream refused — leave it out of both).
    const csv = writeCsv(
      'txn_id,event_time,card_id,amount',
      events.map((e) => `${e.txn_id},${e.event_time},${e.card_id},${e.amount ?? ''}`),
    );
    const [batchWorker] = await createTestWorkers(temporal, [taskQueue], {
      db: database.db,
      store,
      ingestion: deps,
    });
    const batchRun = batchWorker!.run();
    try {
      await temporal.client.workflow.execute('featurePipeline', {
        taskQueue,
        workflowId: uniqueName('batch'),
        args: [
          {
            pipeline: {
              name: uniqueName('cards-batch'),
              featureGroup: { name: batch! },
              source: { kind: 'csv', path: csv },
              transformation: 'card_windows',
              operation: 'upsert',
            },
          },
        ],
      });
    } finally {
      batchWorker!.shutdown();
      await batchRun;
    }

    const streamed = await cardActivitySnapshot(deps, target!);
    const backfilled = await cardActivitySnapshot(deps, batch!);
    expect(streamed.length).toBeGreaterThan(500);
    expect(streamed.length).toBe(backfilled.length);
    streamed.forEach((row, i) => {
      const other = backfilled[i]!;
      expect({ ...row, amount_sum_1h: null, amount_mean_1h: null }).toEqual({
        ...other,
        amount_sum_1h: null,
        amount_mean_1h: null,
      });
      for (const c of ['amount_sum_1h', 'amount_mean_1h'] as const) {
        if (other[c] === null) expect(row[c]).toBeNull();
        else expect(row[c] as number).toBeCloseTo(other[c] as number, 6);
      }
    });

    // Online: each card's latest streamed row.
    const targetSpec = (await getFeatureGroup(database.db, target!)).spec;
    const cards = [...new Set(streamed.map((r) => r.card_id as string))];
    const online = await deps.online.read(
      targetSpec,
      cards.map((card_id) => ({ card_id })),
      new Date('2026-03-02T00:00:00Z'),
    );
    for (const [i, card] of cards.entries()) {
      const latest = streamed.filter((r) => r.card_id === card).at(-1)!;
      expect(online[i]!.status).toBe('present');
      expect(online[i]!.values).toMatchObject({
        txn_count_10m: Number(latest.txn_count_10m),
        last_amount: latest.last_amount,
      });
    }

    // Dead letters: the undecodable event (reported once, by partition 0) and the late one.
    const dl = deadLetterNames(pipeline);
    streams.push(dl.stream);
    const reader = await JetStreamSource.open(nc, { stream: dl.stream, consumer: 'check', lingerMs: 500 });
    const letters = (await reader.fetch({ maxEvents: 10, maxWaitMs: 2000 })).events.map(
      (e) =>
        JSON.parse(new TextDecoder().decode(e.data)) as { reason: string; sequence: number; detail: string },
    );
    await reader.close();
    expect(letters.map((l) => l.reason).sort()).toEqual(['late', 'undecodable']);
    expect(letters.find((l) => l.reason === 'late')!.detail).toMatch(/before the watermark/);

    // Both partitions consumed, and their counters add up to every valid event.
    const checkpoints = await new CheckpointStore(database.db).list(pipeline);
    expect(checkpoints.map((c) => c.partition)).toEqual([0, 1]);
    expect(checkpoints.every((c) => c.counters.events > 0 && c.counters.commits > 0)).toBe(true);
    expect(checkpoints.reduce((n, c) => n + c.counters.events, 0)).toBe(600);
    expect(checkpoints.reduce((n, c) => n + c.counters.late, 0)).toBe(1);
  });
});
