import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Worker } from '@temporalio/worker';
import { loadConfig } from '../../core/config';
import { openDatabase, type DatabaseHandle } from '../../core/db';
import { getFeatureGroup, TransformationRegistry, type IngestionDeps } from '../../core/featurestore';
import type { S3ObjectStore } from '../../core/storage';
import { CheckpointStore, connectJetStream, FeatureEventProducer } from '../../core/streaming';
import { createStreamWorker } from '../../workers/worker-factory';
import { runCliAsync } from '../support/cli';
import { uniqueName } from '../support/ids';
import { testIngestionDeps } from '../support/ingestion';
import { testObjectStore } from '../support/stores';
import {
  cardActivitySnapshot,
  cardWindows,
  registerStreamingGroups,
  transactions,
  waitForCheckpoint,
} from '../support/streaming';
import { connectTestTemporal, createTestWorkers, type TemporalTestContext } from '../support/temporal';

interface StatusJson {
  pipeline: string;
  workflow: string;
  partitions: {
    live?: { position: number; lag: number; eventsPerSecond: number; counters: { events: number } };
    checkpoint?: { position: number; counters: { events: number; commits: number } };
    activity?: { state: string; attempt: number };
  }[];
}

// `fti stream start|status|stop|replay` through the built CLI, with workers on a queue of this file's own.
describe('fti stream start / status / stop / replay', () => {
  let temporal: TemporalTestContext;
  let database: DatabaseHandle;
  let store: S3ObjectStore;
  let deps: IngestionDeps;
  let nc: NatsConnection;
  let workers: Worker[];
  let running: Promise<void>[];
  const streams: string[] = [];
  const taskQueue = uniqueName('fti-features');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-stream-cli-'));

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
    const streaming = { ...deps, natsUrl: loadConfig().natsUrl };
    const [features] = await createTestWorkers(temporal, [taskQueue], {
      db: database.db,
      store,
      ingestion: deps,
      streaming,
    });
    const consumers = await createStreamWorker({
      connection: temporal.nativeConnection,
      namespace: temporal.namespace,
      taskQueue,
      deps: streaming,
      slots: 2,
    });
    workers = [features!, consumers];
    running = workers.map((w) => w.run());
  });
  afterAll(async () => {
    for (const w of workers) w.shutdown();
    await Promise.allSettled(running);
    const jsm = await jetstreamManager(nc);
    for (const stream of streams) await jsm.streams.delete(stream).catch(() => undefined);
    await nc.close();
    await store.deletePrefix('');
    store.close();
    await database.close();
    await temporal.close();
  });

  const status = async (name: string): Promise<StatusJson> => {
    const result = await runCliAsync(['stream', 'status', name, '--json']);
    expect(result.stderr).toBe('');
    return JSON.parse(result.stdout) as StatusJson;
  };

  it('starts a pipeline that consumes the stream, reports it per partition, refuses a second start, stops it, and replays it from the stream', async () => {
    const {
      source,
      targets: [target],
    } = await registerStreamingGroups(database.db, 1);
    streams.push(`fti_events_${source}_v1`);
    const producer = new FeatureEventProducer(nc, (await getFeatureGroup(database.db, source)).spec);
    const events = transactions(300, { seed: 3 });
    await producer.send(events);

    const name = uniqueName('cards');
    const specFile = path.join(dir, `${name}.json`);
    fs.writeFileSync(
      specFile,
      JSON.stringify({
        name,
        source: { name: source },
        featureGroup: { name: target },
        transformation: 'card_windows',
        partitions: 2,
        commitIntervalSeconds: 1,
      }),
    );
    const started = await runCliAsync(['stream', 'start', specFile, '--task-queue', taskQueue]);
    expect(started.code).toBe(0);
    expect(started.stdout).toContain(`started streaming pipeline ${name} (2 partitions)`);
    expect(started.stdout).toContain(`/workflows/stream-${name}`);

    await waitForCheckpoint(database.db, name, 300);
    const live = await status(name);
    expect(live.workflow).toBe('running');
    expect(live.partitions).toHaveLength(2);
    expect(
      live.partitions.every((p) => p.activity?.state === 'started' && p.checkpoint!.position === 300),
    ).toBe(true);
    expect(live.partitions.reduce((n, p) => n + p.checkpoint!.counters.events, 0)).toBe(300);
    const table = await runCliAsync(['stream', 'status', name]);
    expect(table.stdout).toMatch(/PARTITION\s+STATE\s+POSITION\s+LAG\s+EVENTS\/S\s+FRESHNESS P50\/P99/);

    const again = await runCliAsync(['stream', 'start', specFile, '--task-queue', taskQueue]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`streaming pipeline ${name} is already running`);

    const stopped = await runCliAsync(['stream', 'stop', name, '--json']);
    expect(stopped.code).toBe(0);
    expect((JSON.parse(stopped.stdout) as { stopped: boolean }).stopped).toBe(true);
    expect((await status(name)).workflow).toBe('completed');
    const before = await cardActivitySnapshot(deps, target!);
    expect(before.length).toBeGreaterThan(250);

    // Replay: checkpoints forgotten, the same rows rewritten, nothing duplicated.
    // Without --task-queue it stays on the queue the pipeline ran on (only this file's workers poll it).
    const replay = await runCliAsync(['stream', 'replay', name]);
    expect(replay.code).toBe(0);
    expect(replay.stdout).toContain(`replaying ${name} from stream sequence 1`);
    await waitForCheckpoint(database.db, name, 300);
    const checkpoints = await new CheckpointStore(database.db).list(name);
    expect(checkpoints.reduce((n, c) => n + c.counters.events, 0)).toBe(300);
    expect(await cardActivitySnapshot(deps, target!)).toEqual(before);
    expect((await runCliAsync(['stream', 'stop', name])).code).toBe(0);

    const missing = await runCliAsync(['stream', 'stop', name]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`streaming pipeline ${name} is not running`);
    const unknown = await runCliAsync(['stream', 'status', `${name}_never`]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain(`no streaming pipeline named ${name}_never has run here`);
  });

  it('refuses a spec with bad fields before starting anything, naming each field', async () => {
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, JSON.stringify({ name: 'Bad Name', source: { name: 'x' }, partitions: 99 }));
    const result = await runCliAsync(['stream', 'start', bad, '--task-queue', taskQueue]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/name must be lowercase letters/);
    expect(result.stderr).toMatch(/partitions/);
  });
});
