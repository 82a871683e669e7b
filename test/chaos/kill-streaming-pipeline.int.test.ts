import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { loadConfig, temporalConnectionOptions } from '../../core/config';
import { openDatabase, tables, type DatabaseHandle } from '../../core/db';
import { getFeatureGroup, TransformationRegistry, type IngestionDeps } from '../../core/featurestore';
import { objectStoreFromConfig, type S3ObjectStore } from '../../core/storage';
import {
  CheckpointStore,
  connectJetStream,
  FeatureEventProducer,
  type StreamPipelineSpec,
} from '../../core/streaming';
import { TASK_QUEUES } from '../../core/pipelines';
import { createPlatformWorker, createStreamWorker } from '../../workers/worker-factory';
import { and, eq, like } from 'drizzle-orm';
import {
  chaosRandom,
  completedActivities,
  createChaosNamespace,
  killRepeatedly,
  sleep,
  WorkerProcess,
  type ChaosNamespace,
} from '../support/chaos';
import { uniqueName } from '../support/ids';
import { testIngestionDeps } from '../support/ingestion';
import {
  cardActivitySnapshot,
  cardWindows,
  cardWindowsModuleFile,
  registerStreamingGroups,
  transactions,
  waitForCheckpoint,
} from '../support/streaming';

const KILLS = 5;

// kill -9 of the worker process consuming a stream, five times while events keep arriving: the
// killed pipeline's offline and online state must equal an uninterrupted pipeline's over the same
// stream, and its offline commits must cover each stream range exactly once.
describe('chaos: kill -9 of a streaming consumer mid-stream', () => {
  let ns: ChaosNamespace;
  let database: DatabaseHandle;
  let store: S3ObjectStore;
  let deps: IngestionDeps;
  let nc: NatsConnection;
  let native: NativeConnection;
  let streamName = '';

  beforeAll(async () => {
    ns = await createChaosNamespace('stream');
    database = await openDatabase({ url: loadConfig().databaseUrl });
    // The worker processes write where the configuration says: read the same store.
    store = objectStoreFromConfig(loadConfig());
    deps = testIngestionDeps(
      database,
      store,
      new TransformationRegistry().register('card_windows', cardWindows()),
    );
    nc = await connectJetStream({ url: loadConfig().natsUrl, name: 'fti-chaos-stream' });
    native = await NativeConnection.connect(temporalConnectionOptions(loadConfig()));
  });
  afterAll(async () => {
    if (streamName) await (await jetstreamManager(nc)).streams.delete(streamName).catch(() => undefined);
    await nc.close();
    await native.close();
    store.close();
    await database.close();
    await ns.close();
  });

  it('after 5 kills the killed pipeline equals an uninterrupted one, online and offline, and commits each stream range once', async () => {
    const { random } = chaosRandom('kill-streaming-pipeline');
    const {
      source,
      targets: [killedTarget, referenceTarget],
    } = await registerStreamingGroups(database.db, 2);
    streamName = `fti_events_${source}_v1`;
    const producer = new FeatureEventProducer(nc, (await getFeatureGroup(database.db, source)).spec);

    // The uninterrupted reference runs in this process on a queue of its own.
    const referenceQueue = uniqueName('fti-features');
    const streaming = { ...deps, natsUrl: loadConfig().natsUrl };
    const reference: Worker[] = [
      await createPlatformWorker({
        connection: native,
        namespace: ns.namespace,
        taskQueue: referenceQueue,
        deps: { db: database.db, store, ingestion: deps, streaming },
        preferPrebuiltBundle: true,
      }),
      await createStreamWorker({
        connection: native,
        namespace: ns.namespace,
        taskQueue: referenceQueue,
        deps: streaming,
        slots: 1,
      }),
    ];
    const referenceRunning = reference.map((w) => w.run());

    // The killed pipeline runs in worker processes on the namespace's fti-features queue.
    const env = { ...ns.env, FTI_FEATURE_MODULES: cardWindowsModuleFile(), FTI_STREAM_SLOTS: '1' };
    const state = { worker: await WorkerProcess.start('features', env) };
    const pipelines = { killed: uniqueName('killed'), reference: uniqueName('reference') };
    const spec = (name: string, target: string): StreamPipelineSpec => ({
      name,
      source: { name: source },
      featureGroup: { name: target },
      transformation: 'card_windows',
      commitIntervalSeconds: 1,
      maxBatchEvents: 200,
    });
    const killed = await ns.client.workflow.start('streamingFeaturePipeline', {
      taskQueue: TASK_QUEUES.features,
      workflowId: `stream-${pipelines.killed}`,
      args: [{ spec: spec(pipelines.killed, killedTarget!) }],
    });
    const uninterrupted = await ns.client.workflow.start('streamingFeaturePipeline', {
      taskQueue: referenceQueue,
      workflowId: `stream-${pipelines.reference}`,
      args: [{ spec: spec(pipelines.reference, referenceTarget!) }],
    });

    // Events keep arriving through every kill: ~100 per second, in time order per card.
    const events = transactions(20_000, { seed: 11, stepMs: 500, cards: 40 });
    let published = 0;
    let publishing = true;
    const publisher = (async () => {
      while (publishing && published < events.length) {
        await producer.send(events.slice(published, published + 25));
        published += 25;
        await sleep(250);
      }
    })();

    let kills;
    try {
      kills = await killRepeatedly({
        state,
        restart: () => WorkerProcess.start('features', env),
        client: ns.client,
        workflowIds: () => [killed.workflowId],
        activityTypes: ['consumeStreamPartition'],
        kills: KILLS,
        random,
        maxDelayMs: 3000,
      });
    } finally {
      publishing = false;
      await publisher;
    }
    const last = published;
    try {
      await waitForCheckpoint(database.db, pipelines.killed, last, 120_000);
      await waitForCheckpoint(database.db, pipelines.reference, last, 60_000);
      await killed.cancel();
      await uninterrupted.cancel();
      await Promise.all([killed.result(), uninterrupted.result()]);
    } finally {
      await state.worker.stop();
      for (const w of reference) w.shutdown();
      await Promise.allSettled(referenceRunning);
    }
    console.log(
      `kill-streaming-pipeline: ${last} events, ${kills.length} kills at ${kills.map((k) => `${k.delayMs}ms`).join(', ')}`,
    );

    // Every kill landed on the process running the consumer, and each retry resumed elsewhere.
    expect(kills).toHaveLength(KILLS);
    expect(kills.every((k) => k.hit.some((a) => a.activityType === 'consumeStreamPartition'))).toBe(true);
    const consumer = (await completedActivities(killed)).filter(
      (a) => a.activityType === 'consumeStreamPartition',
    );
    expect(Math.max(...consumer.map((a) => a.attempt))).toBeGreaterThanOrEqual(KILLS + 1);

    // Offline: identical snapshots, every event accounted for.
    const killedRows = await cardActivitySnapshot(deps, killedTarget!);
    const referenceRows = await cardActivitySnapshot(deps, referenceTarget!);
    expect(killedRows.length).toBeGreaterThan(last / 2);
    expect(killedRows).toEqual(referenceRows);
    const [checkpoint] = await new CheckpointStore(database.db).list(pipelines.killed);
    expect(checkpoint!.counters.events).toBe(last);

    // Online: the same latest row per card.
    const cards = [...new Set(referenceRows.map((r) => r.card_id as string))].map((card_id) => ({ card_id }));
    const at = new Date('2026-03-10T00:00:00Z');
    const killedOnline = await deps.online.read(
      (await getFeatureGroup(database.db, killedTarget!)).spec,
      cards,
      at,
    );
    const referenceOnline = await deps.online.read(
      (await getFeatureGroup(database.db, referenceTarget!)).spec,
      cards,
      at,
    );
    expect(killedOnline.map((r) => ({ ...r.values, _fti_written_at: undefined }))).toEqual(
      referenceOnline.map((r) => ({ ...r.values, _fti_written_at: undefined })),
    );

    // The killed pipeline's commits cover disjoint, consecutive stream ranges: no replay committed twice.
    const group = await getFeatureGroup(database.db, killedTarget!);
    const commits = await database.db
      .select({ key: tables.featureGroupCommits.idempotencyKey })
      .from(tables.featureGroupCommits)
      .where(
        and(
          eq(tables.featureGroupCommits.featureGroupId, group.id),
          eq(tables.featureGroupCommits.state, 'completed'),
          like(tables.featureGroupCommits.idempotencyKey, `stream:${pipelines.killed}:%`),
        ),
      );
    const ranges = commits
      .map((c) => c.key.split(':').at(-1)!.split('-').map(Number) as [number, number])
      .sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < ranges.length; i++) expect(ranges[i]![0]).toBeGreaterThan(ranges[i - 1]![1]);
    expect(ranges.at(-1)![1]).toBeLessThanOrEqual(last);
  });
});
