import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Worker } from '@temporalio/worker';
import { loadConfig } from '../../core/config';
import { openDatabase, type DatabaseHandle } from '../../core/db';
import { withDuck } from '../../core/duckdb';
import {
  checkOnlineOfflineSkew,
  createFeatureView,
  getFeatureGroup,
  OfflineTable,
  OnDemandRegistry,
  TransformationRegistry,
  type IngestionDeps,
} from '../../core/featurestore';
import { objectStoreFromConfig, type S3ObjectStore } from '../../core/storage';
import {
  CheckpointStore,
  connectJetStream,
  deadLetterNames,
  FeatureEventProducer,
  JetStreamPublisher,
  JetStreamSource,
  streamMetrics,
  type StreamPipelineSpec,
} from '../../core/streaming';
import type { StreamingPipelineResult } from '../../workflows';
import { startMetricsServer } from '../../workers/metrics-server';
import { createStreamWorker } from '../../workers/worker-factory';
import { uniqueGroupName } from '../support/featurestore';
import { WorkerProcess } from '../support/chaos';
import {
  cardActivitySnapshot,
  cardWindows,
  backfillCardActivity,
  cardWindowsModuleFile,
  registerStreamingGroups,
  transactions,
  waitForCheckpoint,
} from '../support/streaming';
import { uniqueName } from '../support/ids';
import { testIngestionDeps } from '../support/ingestion';
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
    await backfillCardActivity(
      temporal,
      taskQueue,
      { db: database.db, store, ingestion: deps },
      batch!,
      events,
    );

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

    // Prometheus: the consumers counted the same events.
    const counted = (await streamMetrics.events.get()).values.filter((v) => v.labels.pipeline === pipeline);
    expect(counted.reduce((n, v) => n + v.value, 0)).toBe(600);
    const served = await startMetricsServer(streamMetrics.registry, 0, '127.0.0.1');
    try {
      const text = await (await fetch(`http://127.0.0.1:${served.port}/metrics`)).text();
      expect(text).toContain(`fti_stream_lag_events{pipeline="${pipeline}",partition="0"} 0`);
      expect(text).toContain(`fti_stream_freshness_seconds_count{pipeline="${pipeline}",partition="1"}`);
    } finally {
      await served.close();
    }
  });

  it('ingests events as they are (no transformation), and a view joining the streamed group passes the online/offline skew check', async () => {
    const {
      source,
      targets: [target],
    } = await registerStreamingGroups(database.db, 1);
    streams.push(`fti_events_${source}_v1`);
    const producer = new FeatureEventProducer(nc, (await getFeatureGroup(database.db, source)).spec);
    await producer.send(transactions(200, { seed: 5 }));
    const pipelines = { events: uniqueName('events'), cards: uniqueName('cards') };
    const [features, streamWorker] = await workers();
    const running = [features!.run(), streamWorker!.run()];
    try {
      const handles = [
        await temporal.client.workflow.start('streamingFeaturePipeline', {
          taskQueue,
          workflowId: `stream-${pipelines.events}`,
          args: [{ spec: { name: pipelines.events, source: { name: source }, commitIntervalSeconds: 1 } }],
        }),
        await temporal.client.workflow.start('streamingFeaturePipeline', {
          taskQueue,
          workflowId: `stream-${pipelines.cards}`,
          args: [
            {
              spec: {
                name: pipelines.cards,
                source: { name: source },
                featureGroup: { name: target },
                transformation: 'card_windows',
                commitIntervalSeconds: 1,
              },
            },
          ],
        }),
      ];
      await waitForCheckpoint(database.db, pipelines.events, 200);
      await waitForCheckpoint(database.db, pipelines.cards, 200);
      for (const handle of handles) await handle.cancel();
      await Promise.all(handles.map((h) => h.result()));
    } finally {
      features!.shutdown();
      streamWorker!.shutdown();
      await Promise.allSettled(running);
    }

    // The events group holds every event offline, as published.
    const events = await withDuck(async (duck) => {
      await new OfflineTable(deps, await getFeatureGroup(database.db, source)).registerSnapshot(duck, 'snap');
      return duck.one<{ n: bigint }>('SELECT count(*) AS n FROM snap');
    });
    expect(Number(events!.n)).toBe(200);

    const view = await createFeatureView(database.db, {
      name: uniqueGroupName('streamed_view'),
      spine: { featureGroup: source, features: ['card_id', 'amount'] },
      joins: [{ featureGroup: target!, prefix: 'card_', lookback: '1d' }],
      transformations: {},
      onDemand: [],
    });
    const report = await checkOnlineOfflineSkew(
      { ...deps, onDemand: new OnDemandRegistry() },
      { featureView: { name: view.record.view.name }, sample: 12 },
    );
    expect(report.sampled).toBe(12);
    expect(report.featuresCompared).toBeGreaterThan(0);
    expect(report.mismatches).toEqual([]);
    expect(report.ok).toBe(true);
  });

  it('shares a pipeline between 2 worker processes by key partition, and continues as new every runSeconds without losing its place', async () => {
    const {
      source,
      targets: [target, batchGroup],
    } = await registerStreamingGroups(database.db, 2);
    streams.push(`fti_events_${source}_v1`);
    const producer = new FeatureEventProducer(nc, (await getFeatureGroup(database.db, source)).spec);
    const events = transactions(400, { seed: 9 });
    await producer.send(events.slice(0, 200));
    // Two features worker processes on a queue of this test's own, one consumer slot each: each
    // must take one partition. They write where the configuration says, so read that store.
    const sharedQueue = uniqueName('fti-features');
    const env = {
      FTI_WORKER_TASK_QUEUE: sharedQueue,
      FTI_FEATURE_MODULES: cardWindowsModuleFile(),
      FTI_STREAM_SLOTS: '1',
    };
    const processes = [
      await WorkerProcess.start('features', env),
      await WorkerProcess.start('features', env),
    ];
    const configStore = objectStoreFromConfig(loadConfig());
    const sharedDeps = testIngestionDeps(
      database,
      configStore,
      new TransformationRegistry().register('card_windows', cardWindows()),
    );
    const pipeline = uniqueName('shared');
    try {
      const handle = await temporal.client.workflow.start('streamingFeaturePipeline', {
        taskQueue: sharedQueue,
        workflowId: `stream-${pipeline}`,
        args: [
          {
            spec: {
              name: pipeline,
              source: { name: source },
              featureGroup: { name: target! },
              transformation: 'card_windows',
              partitions: 2,
              commitIntervalSeconds: 1,
              runSeconds: 5,
            },
          },
        ],
      });
      await waitForCheckpoint(database.db, pipeline, 200);
      const pending = (await handle.describe()).raw.pendingActivities ?? [];
      expect(pending.map((a) => a.lastWorkerIdentity).sort()).toEqual(
        processes.map((p) => p.identity).sort(),
      );
      // Past one period: the workflow continued as new and the consumers picked up where they were.
      await new Promise((resolve) => setTimeout(resolve, 7000));
      await producer.send(events.slice(200));
      await waitForCheckpoint(database.db, pipeline, 400);
      const description = await handle.describe();
      expect(description.runId).not.toBe(handle.firstExecutionRunId);
      await handle.cancel();
      await handle.result();

      const checkpoints = await new CheckpointStore(database.db).list(pipeline);
      expect(checkpoints.reduce((n, c) => n + c.counters.events, 0)).toBe(400);
      // The two partitions together computed what the batch form computes over the same events.
      await backfillCardActivity(
        temporal,
        uniqueName('fti-features'),
        { db: database.db, store: configStore, ingestion: sharedDeps },
        batchGroup!,
        events,
      );
      const streamed = await cardActivitySnapshot(sharedDeps, target!);
      const backfilled = await cardActivitySnapshot(sharedDeps, batchGroup!);
      const exact = (rows: Record<string, unknown>[]) =>
        rows.map((r) => [r.card_id, r.event_time, r.txn_count_10m, r.amount_max_1h, r.last_amount]);
      expect(streamed.length).toBeGreaterThan(300);
      expect(exact(streamed)).toEqual(exact(backfilled));
    } finally {
      for (const p of processes) await p.stop();
      configStore.close();
    }
  });
});
