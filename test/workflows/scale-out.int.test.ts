import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { temporal as proto } from '@temporalio/proto';
import { loadConfig } from '../../core/config';
import { openDatabase, type DatabaseHandle } from '../../core/db';
import { withDuck } from '../../core/duckdb';
import {
  createFeatureView,
  createTrainingData,
  getFeatureGroup,
  OfflineTable,
  OnDemandRegistry,
  readTrainingData,
  registerFeatureGroup,
} from '../../core/featurestore';
import { ENV } from '../../core/config/env-names';
import { projectRoot } from '../../core/project-root';
import { objectStoreFromConfig, type S3ObjectStore } from '../../core/storage';
import type { FeatureBackfillResult } from '../../workflows';
import type { TrainingDataJobResult } from '../../activities';
import { commitRows, createGroup, testViewDeps, type ViewTestDeps } from '../support/featureviews';
import { uniqueGroupName } from '../support/featurestore';
import { runCliAsync } from '../support/cli';
import { uniqueName } from '../support/ids';
import { writeCsv } from '../support/ingestion';
import { testObjectStore } from '../support/stores';
import {
  connectTestTemporal,
  createTestWorkers,
  withWorkers,
  type TemporalTestContext,
} from '../support/temporal';

interface WorkerProcess {
  readonly child: ChildProcess;
  output: string;
}

/** A compiled worker main (dist/workers/<entry>.js) polling `queue`, as production runs it. */
async function startWorkerProcess(entry: 'features' | 'training', queue: string): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [path.join(projectRoot(), 'dist', 'workers', `${entry}.js`)], {
    env: { ...process.env, LOG_LEVEL: 'info', [ENV.workerTaskQueue]: queue },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const worker: WorkerProcess = { child, output: '' };
  child.stdout!.on('data', (d: Buffer) => (worker.output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (worker.output += d.toString()));
  const deadline = Date.now() + 60_000;
  while (!worker.output.includes('worker polling')) {
    if (Date.now() > deadline || child.exitCode !== null)
      throw new Error(`worker ${entry} did not start polling:\n${worker.output.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return worker;
}

async function stopAll(workers: readonly WorkerProcess[]): Promise<void> {
  await Promise.all(
    workers.map(
      (w) =>
        new Promise<void>((resolve) => {
          if (w.child.exitCode !== null) return resolve();
          w.child.once('exit', () => resolve());
          w.child.kill('SIGTERM');
        }),
    ),
  );
}

type HistoryEvent = proto.api.history.v1.IHistoryEvent;

/** The identity of the worker that ran each activity of a type in a workflow's history. */
async function activityIdentities(
  temporal: TemporalTestContext,
  workflowId: string,
  activityType: string,
): Promise<string[]> {
  const history = await temporal.client.workflow.getHandle(workflowId).fetchHistory();
  const events: HistoryEvent[] = history.events ?? [];
  const scheduled = new Set(
    events
      .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === activityType)
      .map((e) => Number(e.eventId)),
  );
  return events
    .filter((e) => scheduled.has(Number(e.activityTaskStartedEventAttributes?.scheduledEventId ?? -1)))
    .map((e) => e.activityTaskStartedEventAttributes!.identity ?? '');
}

// Many workers on one queue share long jobs (real Temporal, PostgreSQL, S3, compiled worker processes).
describe('scale out: backfills and training data shared by the workers of a queue', () => {
  let temporal: TemporalTestContext;
  let database: DatabaseHandle;
  let store: S3ObjectStore;
  let deps: ViewTestDeps;
  // Worker processes use the configured bucket as it is (no per-test prefix): what they read and
  // write goes through `shared`, and this file removes its own keys from it afterwards.
  let sharedStore: S3ObjectStore;
  let shared: ViewTestDeps;
  const sharedPrefixes: string[] = [];

  beforeAll(async () => {
    temporal = await connectTestTemporal();
    database = await openDatabase({ url: loadConfig().databaseUrl });
    store = testObjectStore();
    deps = testViewDeps(database, store, new OnDemandRegistry());
    sharedStore = objectStoreFromConfig(loadConfig());
    shared = testViewDeps(database, sharedStore, new OnDemandRegistry());
  });
  afterAll(async () => {
    for (const prefix of sharedPrefixes) await sharedStore.deletePrefix(prefix);
    sharedStore.close();
    await store.deletePrefix('');
    store.close();
    await database.close();
    await temporal.close();
  });

  const HOURS = 48;
  const day0 = Date.UTC(2026, 4, 1);
  /** Five cards' rows every hour for 48 hours; `bad` puts an unreadable amount in one hour. */
  function hourlyCsv(bad?: number): string {
    const rows: string[] = [];
    for (let h = 0; h < HOURS; h++)
      for (let c = 0; c < 5; c++) {
        const at = new Date(day0 + h * 3_600_000 + c * 60_000).toISOString();
        rows.push(`c${c},${at},${h === bad && c === 0 ? 'not-a-number' : (h * 5 + c) / 4}`);
      }
    return writeCsv('card_id,event_time,amount', rows);
  }

  async function hourlyGroup(): Promise<string> {
    const name = uniqueGroupName('hourly');
    sharedPrefixes.push(`offline/${name}/`);
    await registerFeatureGroup(database.db, {
      name,
      primaryKey: ['card_id'],
      eventTime: 'event_time',
      features: [
        { name: 'card_id', type: 'string' },
        { name: 'event_time', type: 'timestamp' },
        { name: 'amount', type: 'double' },
      ],
      partitioning: { period: 'day' },
    });
    return name;
  }

  const pipeline = (group: string, csv: string) => ({
    name: uniqueName('hourly'),
    featureGroup: { name: group },
    source: { kind: 'csv' as const, path: csv, timeColumn: 'event_time' },
    windowSeconds: 3600,
  });
  const range = {
    start: new Date(day0).toISOString(),
    end: new Date(day0 + HOURS * 3_600_000).toISOString(),
  };

  async function snapshotOf(group: string, from: ViewTestDeps): Promise<unknown[]> {
    const record = await getFeatureGroup(database.db, group);
    return withDuck(async (duck) => {
      await new OfflineTable(from, record).registerSnapshot(duck, 'snap');
      return (await duck.all('SELECT card_id, epoch_ms(event_time) AS t, amount FROM snap ORDER BY ALL')).map(
        (r) => JSON.stringify(r, (_, v: unknown) => (typeof v === 'bigint' ? Number(v) : v)),
      );
    });
  }

  async function windowCommits(group: string): Promise<{ start: string | undefined; rows: number }[]> {
    const record = await getFeatureGroup(database.db, group);
    const timeline = await new OfflineTable(deps, record).timeline();
    return timeline.map((c) => ({ start: c.windowStart?.toISOString(), rows: c.rowsInserted }));
  }

  it('2 and 4 worker processes share a 48-window backfill: one commit per window, the same rows as one worker, windows run on every worker', async () => {
    const csv = hourlyCsv();
    // One in-process worker: the reference.
    const single = await hourlyGroup();
    const singleQueue = uniqueName('fti-features-scale1');
    const [worker] = await createTestWorkers(temporal, [singleQueue], {
      db: database.db,
      store,
      ingestion: deps,
    });
    const reference = await withWorkers([worker!], () =>
      temporal.client.workflow.execute('featureBackfill', {
        taskQueue: singleQueue,
        workflowId: uniqueName('backfill-1'),
        args: [{ pipeline: pipeline(single, csv), ...range, parallelism: 4 }],
      }),
    );
    expect(reference).toMatchObject({ windows: HOURS, written: HOURS, reused: 0, rowsWritten: HOURS * 5 });
    const expected = await snapshotOf(single, deps);
    expect(expected).toHaveLength(HOURS * 5);

    for (const processes of [2, 4]) {
      const group = await hourlyGroup();
      const queue = uniqueName(`fti-features-scale${processes}`);
      const workers = await Promise.all(
        Array.from({ length: processes }, () => startWorkerProcess('features', queue)),
      );
      try {
        const spec = pipeline(group, csv);
        const workflowId = uniqueName(`backfill-${processes}`);
        const result: FeatureBackfillResult = await temporal.client.workflow.execute('featureBackfill', {
          taskQueue: queue,
          workflowId,
          args: [{ pipeline: spec, ...range, parallelism: 2 * processes }],
        });
        expect(result).toMatchObject({ windows: HOURS, written: HOURS, reused: 0, rowsWritten: HOURS * 5 });
        expect(await snapshotOf(group, shared)).toEqual(expected);
        const commits = await windowCommits(group);
        expect(commits).toHaveLength(HOURS);
        expect(new Set(commits.map((c) => c.start)).size).toBe(HOURS);
        expect(commits.every((c) => c.rows === 5)).toBe(true);
        // Which process ran each window's ingest step: every process took some.
        const identities = (
          await Promise.all(
            Array.from({ length: HOURS }, (_, i) =>
              activityIdentities(temporal, `${workflowId}-w${i}`, 'ingestFeatures'),
            ),
          )
        ).flat();
        expect(identities).toHaveLength(HOURS);
        const pids = new Set(identities.map((identity) => Number(identity.split('@')[0])));
        expect([...pids].sort()).toEqual(workers.map((w) => w.child.pid).sort());
        if (processes !== 2) continue;
        // Running the same backfill again writes nothing.
        const again: FeatureBackfillResult = await temporal.client.workflow.execute('featureBackfill', {
          taskQueue: queue,
          workflowId: uniqueName(`backfill-${processes}-again`),
          args: [{ pipeline: spec, ...range, parallelism: 2 * processes }],
        });
        expect(again).toMatchObject({ windows: HOURS, written: 0, reused: HOURS });
        expect(await windowCommits(group)).toHaveLength(HOURS);
      } finally {
        await stopAll(workers);
      }
    }
  }, 480_000);

  it('a failed window fails the backfill naming it while the others commit; running it again redoes only that window', async () => {
    const group = await hourlyGroup();
    const queue = uniqueName('fti-features-scale-fail');
    const [worker] = await createTestWorkers(temporal, [queue], { db: database.db, store, ingestion: deps });
    const short = { start: range.start, end: new Date(day0 + 6 * 3_600_000).toISOString() };
    const spec = pipeline(group, hourlyCsv(3));
    await withWorkers([worker!], async () => {
      const failed = await temporal.client.workflow
        .execute('featureBackfill', {
          taskQueue: queue,
          workflowId: uniqueName('backfill-fail'),
          args: [{ pipeline: spec, ...short, parallelism: 3 }],
        })
        .then(
          () => undefined,
          (error: unknown) => error,
        );
      const message = String((failed as { cause?: Error })?.cause?.message ?? failed);
      expect(message).toContain('1 of 6 windows failed (5 written, 0 reused)');
      expect(message).toContain('[2026-05-01T03:00:00.000Z, 2026-05-01T04:00:00.000Z)');
      expect(message).toContain('run the same backfill again');
      expect((await windowCommits(group)).map((c) => c.start)).not.toContain('2026-05-01T03:00:00.000Z');
      expect(await windowCommits(group)).toHaveLength(5);
      const fixed = { ...spec, source: { ...spec.source, path: hourlyCsv() } };
      const again: FeatureBackfillResult = await temporal.client.workflow.execute('featureBackfill', {
        taskQueue: queue,
        workflowId: uniqueName('backfill-fixed'),
        args: [{ pipeline: fixed, ...short, parallelism: 3 }],
      });
      expect(again).toMatchObject({ windows: 6, written: 1, reused: 5 });
      expect(await windowCommits(group)).toHaveLength(6);
    });
  });

  it('`fti pipeline backfill <spec>` runs the backfill on the given queue and prints what it wrote and reused', async () => {
    const group = await hourlyGroup();
    const queue = uniqueName('fti-features-scale-cli');
    const [worker] = await createTestWorkers(temporal, [queue], {
      db: database.db,
      store: sharedStore,
      ingestion: shared,
    });
    const specFile = path.join(path.dirname(hourlyCsv()), 'hourly.pipeline.json');
    fs.writeFileSync(specFile, JSON.stringify(pipeline(group, hourlyCsv())));
    const args = [
      'pipeline',
      'backfill',
      specFile,
      '--start',
      range.start,
      '--end',
      new Date(day0 + 4 * 3_600_000).toISOString(),
    ];
    await withWorkers([worker!], async () => {
      const first = await runCliAsync([...args, '--parallelism', '2', '--task-queue', queue, '--json']);
      expect(first.stderr).toBe('');
      expect(first.code).toBe(0);
      expect(JSON.parse(first.stdout)).toMatchObject({ windows: 4, written: 4, reused: 0, rowsWritten: 20 });
      const again = await runCliAsync([...args, '--task-queue', queue]);
      expect(again.code).toBe(0);
      expect(again.stdout).toContain('4 windows, 0 written, 4 reused (already committed)');
    });
    expect(await windowCommits(group)).toHaveLength(4);
    const refused = await runCliAsync([...args, '--parallelism', '65', '--task-queue', queue]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('--parallelism 65 is above 64');
  });

  it('a backfill takes at most its parallelism of the queue: a run started during it finishes first', async () => {
    const group = await hourlyGroup();
    const other = await hourlyGroup();
    const queue = uniqueName('fti-features-scale-fair');
    const [worker] = await createTestWorkers(temporal, [queue], { db: database.db, store, ingestion: deps });
    const csv = hourlyCsv();
    await withWorkers([worker!], async () => {
      const backfillId = uniqueName('backfill-long');
      const backfill = await temporal.client.workflow.start('featureBackfill', {
        taskQueue: queue,
        workflowId: backfillId,
        args: [{ pipeline: pipeline(group, csv), ...range, parallelism: 1 }],
      });
      // Wait until the backfill is under way, then start an unrelated run on the same queue.
      while ((await windowCommits(group)).length < 2) await new Promise((r) => setTimeout(r, 100));
      const single = await temporal.client.workflow.execute('featurePipeline', {
        taskQueue: queue,
        workflowId: uniqueName('single-run'),
        args: [
          {
            pipeline: pipeline(other, csv),
            window: { start: range.start, end: new Date(day0 + 3_600_000).toISOString() },
          },
        ],
      });
      expect(single.rowsWritten).toBe(5);
      const doneWhenSingleFinished = (await windowCommits(group)).length;
      expect(doneWhenSingleFinished).toBeLessThan(HOURS);
      const result: FeatureBackfillResult = await backfill.result();
      expect(result.written).toBe(HOURS);
      // Parallelism 1: no two windows of the backfill were ever in flight together.
      const spans = await Promise.all(
        Array.from({ length: HOURS }, async (_, i) => {
          const d = await temporal.client.workflow.getHandle(`${backfillId}-w${i}`).describe();
          return { start: d.startTime.getTime(), end: d.closeTime!.getTime() };
        }),
      );
      for (let i = 1; i < spans.length; i++)
        expect(spans[i]!.start).toBeGreaterThanOrEqual(spans[i - 1]!.end);
    });
  });

  it('2 training worker processes share a partitioned training-data job whose dataset equals one job’s', async () => {
    const txns = await createGroup(shared, {
      prefix: 'stxn',
      primaryKey: ['txn_id'],
      eventTime: 'event_time',
      features: [
        { name: 'txn_id', type: 'string' },
        { name: 'event_time', type: 'timestamp' },
        { name: 'card_id', type: 'string' },
        { name: 'amount', type: 'double' },
        { name: 'is_fraud', type: 'bool' },
      ],
    });
    const cards = await createGroup(shared, {
      prefix: 'scard',
      primaryKey: ['card_id'],
      eventTime: 'event_time',
      features: [
        { name: 'card_id', type: 'string' },
        { name: 'event_time', type: 'timestamp' },
        { name: 'avg', type: 'double' },
      ],
      partitioning: { keyBuckets: 8 },
    });
    sharedPrefixes.push(`offline/${txns.spec.name}/`, `offline/${cards.spec.name}/`);
    const at = (h: number) => new Date(day0 + h * 3_600_000);
    await commitRows(
      shared,
      txns,
      Array.from({ length: 600 }, (_, i) => ({
        txn_id: `t${i}`,
        event_time: at(i % 72),
        card_id: `c${i % 31}`,
        amount: (i % 17) * 2.5,
        is_fraud: i % 7 === 0,
      })),
    );
    await commitRows(
      shared,
      cards,
      Array.from({ length: 31 * 12 }, (_, i) => ({
        card_id: `c${i % 31}`,
        event_time: at(6 * Math.floor(i / 31)),
        avg: i,
      })),
    );
    const view = uniqueGroupName('scale_view');
    await createFeatureView(shared.db, {
      name: view,
      spine: { featureGroup: txns.spec.name, features: ['card_id', 'amount', 'is_fraud'] },
      joins: [{ featureGroup: cards.spec.name, prefix: 'card_' }],
      labels: ['is_fraud'],
    });
    const splits = { kind: 'random' as const, fractions: { train: 0.8, test: 0.2 }, seed: 5 };
    const one = await createTrainingData(shared, {
      featureView: { name: view },
      splits,
      idempotencyKey: uniqueName('one'),
    });
    sharedPrefixes.push(`training-datasets/${view}/`, `training-data-parts/${view}/`);

    const queue = uniqueName('fti-training-scale');
    const workers = await Promise.all([
      startWorkerProcess('training', queue),
      startWorkerProcess('training', queue),
    ]);
    try {
      const workflowId = uniqueName('td-job');
      const job: TrainingDataJobResult = await temporal.client.workflow.execute('trainingDataJob', {
        taskQueue: queue,
        workflowId,
        args: [{ spec: { featureView: { name: view }, splits, parts: 8 } }],
      });
      expect(job).toMatchObject({ parts: 8, rows: one.rowCounts });
      const read = async (version: number) =>
        (await readTrainingData(shared, { name: view }, version, { split: 'train', transformed: false }))
          .rows;
      expect(await read(job.version)).toEqual(await read(one.version));
      expect((await read(job.version)).filter((r) => r.card_avg !== null).length).toBeGreaterThan(100);
      const identities = await activityIdentities(temporal, workflowId, 'makeTrainingDataPart');
      expect(identities).toHaveLength(8);
      const pids = new Set(identities.map((identity) => Number(identity.split('@')[0])));
      expect([...pids].sort()).toEqual(workers.map((w) => w.child.pid).sort());
      // The same job from the CLI.
      const cli = await runCliAsync([
        'fv',
        'td',
        'create',
        view,
        '--split',
        'train=0.8,test=0.2',
        '--seed',
        '5',
        '--parts',
        '3',
        '--task-queue',
        queue,
        '--json',
      ]);
      expect(cli.stderr).toBe('');
      expect(cli.code).toBe(0);
      expect(JSON.parse(cli.stdout)).toMatchObject({
        rowCounts: one.rowCounts,
        contentHashes: one.contentHashes,
      });
    } finally {
      await stopAll(workers);
    }
  });
});
