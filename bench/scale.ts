// bench/scale: scale-out on one machine. Three measurements, each against a baseline from the same run:
// 1. workers: the same 48-window hourly backfill (featureBackfill over a CSV source) run by 1, 2 and 4
//    compiled feature-worker processes (dist/workers/features.js) on a fresh task queue each — wall
//    time, windows/s, speed-up over 1 process (the baseline) and how many windows each process ran
//    (the identity that ran each window's ingestFeatures, from the child histories); then the
//    partitioned training-data job (trainingDataJob, 8 key-bucket parts) on 1, 2 and 4 training-worker
//    processes against a single-step createTrainingData in this process (the baseline).
// 2. partition pruning: a year of hourly rows in a group partitioned by day, then a one-day read
//    (registerSnapshot with an event-time filter): bytes opened out of the snapshot's and time, against
//    a full-snapshot read of the same group (the baseline) and the same one-day read of an
//    unpartitioned group written in weekly commits (its files span seven days each). Reads start from
//    an empty object cache, so the bytes opened are the bytes fetched from S3.
// 3. --sizes: how backfill time, bytes read and peak memory (worker processes and this process) grow
//    with the rows per window (2 worker processes, the training job and the pruned read at each size).
// Usage: node dist/bench/scale.js [rowsPerWindow=1000]   (needs infra/stack.sh up and `npm run build`)
//        node dist/bench/scale.js --sizes=100,1000,10000 [--plot=FILE.svg]
//        [--workers=1,2,4] [--parallelism=2 (windows in flight per worker process)] [--parts=8]
//        [--commits=week|day|hour (the partitioned year's commits; hour = 8,760 commits, ~10 min)]
// The year has rowsPerWindow/10 rows an hour (at least 1). Worker processes use the configured bucket
// as it is (as production does); this bench removes only the keys of its own groups and views.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { temporal as proto } from '@temporalio/proto';
import type { TrainingDataJobResult } from '../activities';
import { loadConfig } from '../core/config';
import { ENV } from '../core/config/env-names';
import { openDatabase, type DatabaseHandle } from '../core/db';
import { withDuck, type DuckSession } from '../core/duckdb';
import {
  conformBatch,
  createFeatureView,
  createTrainingData,
  OfflineTable,
  OnDemandRegistry,
  registerFeatureGroup,
  type FeatureGroupDefinition,
  type FeatureGroupRecord,
  type FeatureViewDeps,
} from '../core/featurestore';
import type { SnapshotRead } from '../core/featurestore/offline/offline-table';
import { projectRoot } from '../core/project-root';
import { ObjectCache, objectStoreFromConfig, type S3ObjectStore } from '../core/storage';
import { testIngestionDeps } from '../test/support/ingestion';
import { connectTestTemporal, type TemporalTestContext } from '../test/support/temporal';
import type { FeatureBackfillResult } from '../workflows';
import { rssSampler } from './support/peak-rss';
import { lineChartSvg } from './support/plot';

const flag = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const sweep = flag('sizes') !== undefined;
const sizes = flag('sizes')?.split(',').map(Number) ?? [Number(positional[0] ?? 1000)];
const workerCounts = (flag('workers') ?? '1,2,4').split(',').map(Number);
const perWorker = Number(flag('parallelism') ?? 2);
const parts = Number(flag('parts') ?? 8);
const commitEvery = flag('commits') ?? 'week';
const plot = flag('plot');
if (
  [...sizes, ...workerCounts, perWorker, parts].some((n) => !Number.isInteger(n) || n < 1) ||
  !['week', 'day', 'hour'].includes(commitEvery)
)
  throw new Error(
    'usage: scale.js [rowsPerWindow] | --sizes=100,1000,10000 [--plot=out.svg] [--workers=1,2,4] [--parallelism=2] [--parts=8] [--commits=week|day|hour]',
  );

const HOURS = 48;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const cores = os.cpus().length;
const seconds = (ms: number) => (ms / 1000).toFixed(2);
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const kib = (bytes: number) => (bytes < 2 ** 20 ? `${(bytes / 1024).toFixed(1)} KiB` : mib(bytes));
const suffix = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const value = await fn();
  return [value, performance.now() - start];
}

/** What the bench holds for a run: connections, the configured bucket and the keys to remove. */
interface Context {
  readonly temporal: TemporalTestContext;
  readonly database: DatabaseHandle;
  /** The configured bucket with no prefix: what the worker processes read and write. */
  readonly store: S3ObjectStore;
  readonly deps: FeatureViewDeps;
  readonly dir: string;
  readonly prefixes: string[];
}

interface WorkerProcess {
  readonly child: ChildProcess;
  output: string;
}

/** A compiled worker main of this checkout (dist/workers/<entry>.js) polling `queue`, as production runs it. */
async function startWorker(entry: 'features' | 'training', queue: string): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [path.join(projectRoot(), 'dist', 'workers', `${entry}.js`)], {
    env: { ...process.env, LOG_LEVEL: 'info', [ENV.workerTaskQueue]: queue },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const worker: WorkerProcess = { child, output: '' };
  // Keep only the tail: a long run logs a line per activity.
  const keep = (d: Buffer) => (worker.output = (worker.output + d.toString()).slice(-20_000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const deadline = Date.now() + 60_000;
  while (!worker.output.includes('worker polling')) {
    if (Date.now() > deadline || child.exitCode !== null)
      throw new Error(`worker ${entry} did not start polling:\n${worker.output.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return worker;
}

/** Peak resident memory of a running process so far (Linux VmHWM), 0 where /proc is unavailable. */
function peakRssOf(pid: number | undefined): number {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/** Starts `count` worker processes, runs `fn`, then stops them; returns fn's value and their largest peak RSS. */
async function withWorkerProcesses<T>(
  entry: 'features' | 'training',
  count: number,
  fn: (queue: string, workers: readonly WorkerProcess[]) => Promise<T>,
): Promise<[T, number]> {
  const queue = `bench-scale-${entry}-${count}-${suffix()}`;
  const workers: WorkerProcess[] = [];
  try {
    for (let i = 0; i < count; i++) workers.push(await startWorker(entry, queue));
    const value = await fn(queue, workers);
    return [value, Math.max(...workers.map((w) => peakRssOf(w.child.pid)))];
  } finally {
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
}

type HistoryEvent = proto.api.history.v1.IHistoryEvent;

/** The identities of the workers that ran each `activityType` activity of a workflow. */
async function activityIdentities(ctx: Context, workflowId: string, activityType: string): Promise<string[]> {
  const history = await ctx.temporal.client.workflow.getHandle(workflowId).fetchHistory();
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

/** How many activities each identity ran, largest first, e.g. "25/23". */
function spread(identities: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const id of identities) counts.set(id, (counts.get(id) ?? 0) + 1);
  return [...counts.values()].sort((a, b) => b - a).join('/');
}

async function group(
  ctx: Context,
  definition: Omit<FeatureGroupDefinition, 'name'> & { prefix: string },
): Promise<FeatureGroupRecord> {
  const { prefix, ...rest } = definition;
  const name = `${prefix}_${suffix()}`;
  ctx.prefixes.push(`offline/${name}/`);
  return (await registerFeatureGroup(ctx.database.db, { ...rest, name })).record;
}

/** Writes `select` (a DuckDB query whose columns are the group's) as one commit through the offline table. */
async function commitSelect(
  ctx: Context,
  duck: DuckSession,
  record: FeatureGroupRecord,
  select: string,
  key: string,
): Promise<void> {
  await duck.run(
    `CREATE OR REPLACE TABLE raw_rows AS SELECT *, row_number() OVER () AS _fti_row FROM (${select})`,
  );
  await duck.run('DROP TABLE IF EXISTS conformed');
  await conformBatch(duck, 'raw_rows', 'conformed', record.spec, 'bench rows');
  await new OfflineTable(ctx.deps, record).write(duck, 'conformed', {
    operation: 'upsert',
    idempotencyKey: key,
  });
}

interface BackfillFigure {
  readonly workers: number;
  readonly ms: number;
  readonly spread: string;
  readonly identities: number;
  readonly peakRss: number;
  readonly check: string;
}

/** One 48-window hourly backfill over `csv` by `workers` compiled processes on a fresh queue. */
async function backfill(ctx: Context, csv: string, rows: number, workers: number): Promise<BackfillFigure> {
  const record = await group(ctx, {
    prefix: 'bench_scale_hourly',
    primaryKey: ['card_id'],
    eventTime: 'event_time',
    features: [
      { name: 'card_id', type: 'string' },
      { name: 'event_time', type: 'timestamp' },
      { name: 'amount', type: 'double' },
    ],
    partitioning: { period: 'day' },
  });
  const pipeline = `bench-scale-${suffix()}`;
  ctx.prefixes.push(`staging/features/${pipeline}/`);
  const day0 = Date.UTC(2026, 4, 1);
  const [[result, ms, identities], peakRss] = await withWorkerProcesses(
    'features',
    workers,
    async (queue) => {
      const workflowId = `bench-scale-backfill-${workers}-${suffix()}`;
      const [result, ms] = await timed((): Promise<FeatureBackfillResult> =>
        ctx.temporal.client.workflow.execute('featureBackfill', {
          taskQueue: queue,
          workflowId,
          args: [
            {
              pipeline: {
                name: pipeline,
                featureGroup: { name: record.spec.name },
                source: { kind: 'csv', path: csv, timeColumn: 'event_time' },
                windowSeconds: 3600,
              },
              start: new Date(day0).toISOString(),
              end: new Date(day0 + HOURS * HOUR).toISOString(),
              parallelism: Math.min(64, perWorker * workers),
            },
          ],
        }),
      );
      const identities = (
        await Promise.all(
          Array.from({ length: HOURS }, (_, i) =>
            activityIdentities(ctx, `${workflowId}-w${i}`, 'ingestFeatures'),
          ),
        )
      ).flat();
      return [result, ms, identities] as const;
    },
  );
  if (result.written !== HOURS || result.rowsWritten !== HOURS * rows)
    throw new Error(`backfill with ${workers} workers: ${JSON.stringify(result)}`);
  // Same rows whatever the number of workers: count and sum of the committed snapshot.
  const check = await withDuck(async (duck) => {
    await new OfflineTable(ctx.deps, record).registerSnapshot(duck, 'snap');
    const r = (await duck.one<{ n: bigint; s: number }>('SELECT count(*) AS n, sum(amount) AS s FROM snap'))!;
    return `${r.n} rows, sum ${r.s}`;
  });
  return { workers, ms, spread: spread(identities), identities: new Set(identities).size, peakRss, check };
}

interface TrainingFigures {
  readonly spineRows: number;
  readonly baselineMs: number;
  readonly baselinePeakRss: number;
  readonly jobs: {
    readonly workers: number;
    readonly ms: number;
    readonly spread: string;
    readonly peakRss: number;
  }[];
}

/** A spine of `spineRows` transactions joined with a card group split in 8 key buckets. */
async function training(
  ctx: Context,
  spineRows: number,
  workerSet: readonly number[],
): Promise<TrainingFigures> {
  const txns = await group(ctx, {
    prefix: 'bench_scale_txn',
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
  const cards = await group(ctx, {
    prefix: 'bench_scale_card',
    primaryKey: ['card_id'],
    eventTime: 'event_time',
    features: [
      { name: 'card_id', type: 'string' },
      { name: 'event_time', type: 'timestamp' },
      { name: 'avg', type: 'double' },
    ],
    partitioning: { keyBuckets: 8 },
  });
  const entities = Math.max(1, Math.floor(spineRows / 20));
  await withDuck(
    async (duck) => {
      await commitSelect(
        ctx,
        duck,
        txns,
        `SELECT 't' || i AS txn_id, TIMESTAMP '2026-05-01' + to_seconds((hash(i) % ${72 * 3600})::BIGINT) AS event_time,
           'c' || (i % ${entities}) AS card_id, (i % 17) * 2.5 AS amount, i % 7 = 0 AS is_fraud FROM range(${spineRows}) t(i)`,
        'txns',
      );
      await commitSelect(
        ctx,
        duck,
        cards,
        `SELECT 'c' || (i % ${entities}) AS card_id, TIMESTAMP '2026-05-01' + to_seconds((6 * 3600 * (i // ${entities}))::BIGINT) AS event_time,
           i::DOUBLE AS avg FROM range(${entities * 12}) t(i)`,
        'cards',
      );
    },
    { threads: cores, tempDirectory: path.join(ctx.dir, 'duck') },
  );
  const view = `bench_scale_view_${suffix()}`;
  ctx.prefixes.push(`training-datasets/${view}/`, `training-data-parts/${view}/`);
  await createFeatureView(ctx.database.db, {
    name: view,
    spine: { featureGroup: txns.spec.name, features: ['card_id', 'amount', 'is_fraud'] },
    joins: [{ featureGroup: cards.spec.name, prefix: 'card_' }],
    labels: ['is_fraud'],
  });
  const splits = { kind: 'random' as const, fractions: { train: 0.8, test: 0.2 }, seed: 5 };
  const stop = rssSampler();
  const [one, baselineMs] = await timed(() =>
    createTrainingData(ctx.deps, { featureView: { name: view }, splits, idempotencyKey: `one-${suffix()}` }),
  );
  const baselinePeakRss = stop();
  const jobs: TrainingFigures['jobs'] = [];
  for (const workers of workerSet) {
    const [[job, ms, identities], peakRss] = await withWorkerProcesses('training', workers, async (queue) => {
      const workflowId = `bench-scale-td-${workers}-${suffix()}`;
      const [job, ms] = await timed((): Promise<TrainingDataJobResult> =>
        ctx.temporal.client.workflow.execute('trainingDataJob', {
          taskQueue: queue,
          workflowId,
          args: [{ spec: { featureView: { name: view }, splits, parts } }],
        }),
      );
      return [job, ms, await activityIdentities(ctx, workflowId, 'makeTrainingDataPart')] as const;
    });
    if (JSON.stringify(job.rows) !== JSON.stringify(one.rowCounts))
      throw new Error(
        `training-data job rows ${JSON.stringify(job.rows)} ≠ ${JSON.stringify(one.rowCounts)}`,
      );
    jobs.push({ workers, ms, spread: spread(identities), peakRss });
  }
  return { spineRows, baselineMs, baselinePeakRss, jobs };
}

interface ReadFigure {
  readonly ms: number;
  readonly rows: number;
  readonly read: SnapshotRead;
}

interface PruningFigures {
  readonly rowsPerHour: number;
  readonly setupMs: number;
  readonly commits: number;
  readonly compaction: string;
  readonly full: ReadFigure;
  readonly day: ReadFigure;
  readonly unpartitionedDay: ReadFigure;
  readonly unpartitionedFull: ReadFigure;
}

/** A year of hourly rows in a day-partitioned group and in an unpartitioned one; full and one-day reads. */
async function pruning(ctx: Context, rowsPerHour: number): Promise<PruningFigures> {
  const features: FeatureGroupDefinition['features'] = [
    { name: 'sensor_id', type: 'string' },
    { name: 'event_time', type: 'timestamp' },
    { name: 'value', type: 'double' },
  ];
  const byDay = await group(ctx, {
    prefix: 'bench_scale_year_day',
    primaryKey: ['sensor_id'],
    eventTime: 'event_time',
    features,
    partitioning: { period: 'day' },
  });
  const flat = await group(ctx, {
    prefix: 'bench_scale_year_flat',
    primaryKey: ['sensor_id'],
    eventTime: 'event_time',
    features,
  });
  const year0 = Date.UTC(2025, 0, 1);
  const hours = 365 * 24;
  // Rows of hours [from, to): rowsPerHour sensors, each once an hour at its own minute.
  const rowsOf = (from: number, to: number) =>
    `SELECT 's' || (i % ${rowsPerHour}) AS sensor_id,
       TIMESTAMP '2025-01-01' + to_seconds((${from} + i // ${rowsPerHour}) * 3600 + (i % ${rowsPerHour}) % 3600) AS event_time,
       ((i * 7919) % 10007) / 100.0 AS value
     FROM range(${(to - from) * rowsPerHour}) t(i)`;
  const step = { week: 7 * 24, day: 24, hour: 1 }[commitEvery as 'week' | 'day' | 'hour'];
  let commits = 0;
  let compaction = 'nothing to merge (one file per day already)';
  const [, setupMs] = await timed(() =>
    withDuck(
      async (duck) => {
        for (let h = 0; h < hours; h += step, commits++)
          await commitSelect(ctx, duck, byDay, rowsOf(h, Math.min(hours, h + step)), `year-${h}`);
        for (let h = 0; h < hours; h += 7 * 24)
          await commitSelect(ctx, duck, flat, rowsOf(h, Math.min(hours, h + 7 * 24)), `year-${h}`);
        const table = new OfflineTable(ctx.deps, byDay);
        const before = await table.liveFileCount();
        const compacted = await table.compact(duck, { minFiles: 2 });
        if (compacted) compaction = `${before} files → ${await table.liveFileCount()}`;
      },
      { threads: cores, tempDirectory: path.join(ctx.dir, 'duck') },
    ),
  );
  // A day in the middle of the year.
  const dayStart = new Date(year0 + 181 * DAY);
  const filter = { eventTime: { start: dayStart, end: new Date(dayStart.getTime() + DAY) } };
  /** Best of 3 reads, each from an empty local cache (what it opens is fetched from S3). */
  const read = async (record: FeatureGroupRecord, oneDay: boolean): Promise<ReadFigure> => {
    let best: ReadFigure | undefined;
    for (let i = 0; i < 3; i++) {
      const cacheDir = fs.mkdtempSync(path.join(ctx.dir, 'cache-'));
      const deps = { ...ctx.deps, cache: new ObjectCache(ctx.store, { dir: cacheDir }) };
      let read: SnapshotRead | undefined;
      const [rows, ms] = await timed(() =>
        withDuck(
          async (duck) => {
            await new OfflineTable(deps, record).registerSnapshot(duck, 'snap', undefined, {
              ...(oneDay ? { filter } : {}),
              onRead: (r) => (read = r),
            });
            return Number((await duck.one<{ n: bigint }>('SELECT count(*) AS n, sum(value) FROM snap'))!.n);
          },
          { threads: cores },
        ),
      );
      fs.rmSync(cacheDir, { recursive: true, force: true });
      if (!best || ms < best.ms) best = { ms, rows, read: read! };
    }
    return best!;
  };
  const full = await read(byDay, false);
  const day = await read(byDay, true);
  const unpartitionedDay = await read(flat, true);
  const unpartitionedFull = await read(flat, false);
  if (day.rows !== 24 * rowsPerHour || unpartitionedDay.rows !== day.rows)
    throw new Error(
      `one-day reads returned ${day.rows} and ${unpartitionedDay.rows} rows, not ${24 * rowsPerHour}`,
    );
  return { rowsPerHour, setupMs, commits, compaction, full, day, unpartitionedDay, unpartitionedFull };
}

interface SizeFigure {
  readonly rows: number;
  readonly csvBytes: number;
  readonly backfills: BackfillFigure[];
  readonly training: TrainingFigures;
  readonly pruning: PruningFigures;
  readonly benchPeakRss: number;
}

async function measure(ctx: Context, rows: number, backfillWorkers: readonly number[]): Promise<SizeFigure> {
  const stop = rssSampler();
  // Rows of 48 hours: `rows` cards an hour, each at its own second of the hour.
  const csv = path.join(ctx.dir, `hourly-${rows}.csv`);
  const day0 = Date.UTC(2026, 4, 1);
  const out = fs.createWriteStream(csv);
  out.write('card_id,event_time,amount\n');
  for (let h = 0; h < HOURS; h++) {
    const lines: string[] = [];
    for (let c = 0; c < rows; c++)
      lines.push(
        `c${c},${new Date(day0 + h * HOUR + Math.floor((c * HOUR) / rows)).toISOString()},${(h * rows + c) / 4}`,
      );
    out.write(lines.join('\n') + '\n');
  }
  await new Promise<void>((resolve, reject) =>
    out.end((error?: Error | null) => (error ? reject(error) : resolve())),
  );
  const csvBytes = fs.statSync(csv).size;
  const backfills: BackfillFigure[] = [];
  for (const workers of backfillWorkers) backfills.push(await backfill(ctx, csv, rows, workers));
  if (new Set(backfills.map((b) => b.check)).size !== 1)
    throw new Error(`backfills differ: ${backfills.map((b) => b.check).join(' | ')}`);
  const trainingFigures = await training(ctx, HOURS * rows, backfillWorkers);
  const pruningFigures = await pruning(ctx, Math.max(1, Math.floor(rows / 10)));
  fs.rmSync(csv, { force: true });
  return {
    rows,
    csvBytes,
    backfills,
    training: trainingFigures,
    pruning: pruningFigures,
    benchPeakRss: stop(),
  };
}

function report(f: SizeFigure): string[] {
  const base = f.backfills[0]!;
  const lines = [
    `bench/scale: ${HOURS} hourly windows × ${f.rows} rows (CSV ${kib(f.csvBytes)}, every window scans it: ${mib(HOURS * f.csvBytes)} read), compiled worker processes on a fresh queue each, ${perWorker} windows in flight per process, ${cores} cores`,
    ...f.backfills.map((b) => {
      const ratio = base.ms / b.ms;
      return `  backfill, ${b.workers} worker process${b.workers > 1 ? 'es' : ''}${b === base ? ' (baseline)' : ''}: ${seconds(b.ms)} s  ${((HOURS * 1000) / b.ms).toFixed(2)} windows/s  speed-up ${ratio.toFixed(2)}x  ingestFeatures ran on ${b.identities} worker${b.identities > 1 ? 's' : ''} (${b.spread} windows)  peak RSS per worker ${mib(b.peakRss)}`;
    }),
    `  every backfill committed the same snapshot: ${base.check}`,
    `RESULT scale backfill ${f.rows} rows/window: ${
      f.backfills
        .slice(1)
        .map((b) => `${b.workers} workers ${(base.ms / b.ms).toFixed(2)}x`)
        .join(', ') || `${base.workers} worker${base.workers > 1 ? 's' : ''} 1.00x`
    } the throughput of ${base.workers} worker${base.workers > 1 ? 's' : ''} (${seconds(base.ms)} s; ${cores} cores)`,
  ];
  const t = f.training;
  lines.push(
    `training data: ${t.spineRows} spine rows point-in-time joined with a card group (8 key buckets), random 80/20 split`,
    `  createTrainingData in one process, single step (baseline): ${seconds(t.baselineMs)} s  peak RSS ${mib(t.baselinePeakRss)}`,
    ...t.jobs.map(
      (j) =>
        `  trainingDataJob, ${parts} parts, ${j.workers} worker process${j.workers > 1 ? 'es' : ''}: ${seconds(j.ms)} s  ${(j.ms / t.baselineMs).toFixed(2)}x the baseline's time  parts per worker ${j.spread}  peak RSS per worker ${mib(j.peakRss)}`,
    ),
    `RESULT scale training data ${t.spineRows} rows: ${t.jobs.map((j) => `${j.workers} worker${j.workers > 1 ? 's' : ''} ${(j.ms / t.baselineMs).toFixed(2)}x`).join(', ')} the time of single-step createTrainingData (${seconds(t.baselineMs)} s; same row counts)`,
  );
  const p = f.pruning;
  const frac = (r: SnapshotRead) =>
    `${kib(r.bytes)} of ${kib(r.snapshotBytes)} (1/${(r.snapshotBytes / Math.max(1, r.bytes)).toFixed(0)}, ${r.files} of ${r.snapshotFiles} files)`;
  lines.push(
    `partition pruning: a year of hourly rows (${p.rowsPerHour} an hour, ${365 * 24 * p.rowsPerHour} rows), ${p.commits} ${{ week: 'weekly', day: 'daily', hour: 'hourly' }[commitEvery as 'week']} commits into a day-partitioned group, compaction: ${p.compaction} (setup ${seconds(p.setupMs)} s); reads from an empty cache, best of 3`,
    `  full snapshot, partitioned group (baseline): ${p.full.ms.toFixed(0)} ms  opened ${frac(p.full.read)}`,
    `  one day, partitioned by day:                ${p.day.ms.toFixed(0)} ms  opened ${frac(p.day.read)}  ${(p.full.ms / p.day.ms).toFixed(1)}x faster than the full read`,
    `  one day, unpartitioned, weekly commits:     ${p.unpartitionedDay.ms.toFixed(0)} ms  opened ${frac(p.unpartitionedDay.read)}`,
    `  full snapshot, unpartitioned:               ${p.unpartitionedFull.ms.toFixed(0)} ms  opened ${frac(p.unpartitionedFull.read)}`,
    `RESULT scale pruning: a one-day read opens 1/${(p.day.read.snapshotBytes / Math.max(1, p.day.read.bytes)).toFixed(0)} of the year's bytes (target ≈ 1/365) in ${(p.day.ms / p.full.ms).toFixed(2)}x the time of the full read, ${(p.day.ms / p.unpartitionedDay.ms).toFixed(2)}x the time and ${(p.day.read.bytes / Math.max(1, p.unpartitionedDay.read.bytes)).toFixed(2)}x the bytes of the unpartitioned group's one-day read`,
    `  peak RSS of this process (CSV, training baseline, year setup and reads): ${mib(f.benchPeakRss)}`,
  );
  return lines;
}

async function main(): Promise<void> {
  const config = loadConfig();
  const database = await openDatabase({ url: config.databaseUrl });
  const store = objectStoreFromConfig(config);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-bench-scale-'));
  const temporal = await connectTestTemporal();
  const ctx: Context = {
    temporal,
    database,
    store,
    deps: { ...testIngestionDeps(database, store), onDemand: new OnDemandRegistry(), threads: cores },
    dir,
    prefixes: [],
  };
  if (!fs.existsSync(path.join(projectRoot(), 'dist', 'workers', 'features.js')))
    throw new Error(`no compiled workers under ${projectRoot()}/dist: run npm run build first`);
  const figures: SizeFigure[] = [];
  try {
    for (const rows of sizes) {
      // A sweep measures each size with the largest useful process count (2 on 2 cores) and 1.
      const f = await measure(ctx, rows, sweep ? workerCounts.filter((n) => n <= 2) : workerCounts);
      figures.push(f);
      process.stdout.write(report(f).join('\n') + '\n');
    }
  } finally {
    for (const prefix of ctx.prefixes) await store.deletePrefix(prefix);
    store.close();
    await database.close();
    await temporal.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  if (figures.length > 1) {
    const last = (f: SizeFigure) => f.backfills.at(-1)!;
    process.stdout.write(
      [
        `rows/window | backfill s (1 / ${last(figures[0]!).workers} workers) | CSV read | training job s (${last(figures[0]!).workers} workers) / baseline s | year rows | one-day read: bytes, ms | full read: bytes, ms | peak RSS worker (backfill / training) | peak RSS bench`,
        ...figures.map((f) =>
          [
            f.rows,
            `${seconds(f.backfills[0]!.ms)} / ${seconds(last(f).ms)}`,
            mib(HOURS * f.csvBytes),
            `${seconds(f.training.jobs.at(-1)!.ms)} / ${seconds(f.training.baselineMs)}`,
            365 * 24 * f.pruning.rowsPerHour,
            `${kib(f.pruning.day.read.bytes)}, ${f.pruning.day.ms.toFixed(0)}`,
            `${kib(f.pruning.full.read.bytes)}, ${f.pruning.full.ms.toFixed(0)}`,
            `${mib(Math.max(...f.backfills.map((b) => b.peakRss)))} / ${mib(Math.max(...f.training.jobs.map((j) => j.peakRss)))}`,
            mib(f.benchPeakRss),
          ].join(' | '),
        ),
      ].join('\n') + '\n',
    );
  }
  if (plot) {
    const n = (f: SizeFigure) => f.backfills.at(-1)!.workers;
    fs.writeFileSync(
      plot,
      lineChartSvg({
        title: `scale-out: time as rows per window grow (${cores} cores)`,
        xLabel: `rows per hourly window (${HOURS} windows; training spine = ${HOURS}× as many)`,
        yLabel: 'seconds',
        log: { x: true, y: true },
        series: [
          { name: 'backfill, 1 worker', points: figures.map((f) => [f.rows, f.backfills[0]!.ms / 1000]) },
          {
            name: `backfill, ${n(figures[0]!)} workers`,
            points: figures.map((f) => [f.rows, f.backfills.at(-1)!.ms / 1000]),
          },
          {
            name: `training job, ${n(figures[0]!)} workers`,
            points: figures.map((f) => [f.rows, f.training.jobs.at(-1)!.ms / 1000]),
          },
          { name: 'one-day read (year)', points: figures.map((f) => [f.rows, f.pruning.day.ms / 1000]) },
        ],
      }),
    );
    const bytesPlot = plot.replace(/\.svg$/, '') + '-bytes.svg';
    fs.writeFileSync(
      bytesPlot,
      lineChartSvg({
        title: 'scale-out: bytes read as rows per window grow',
        xLabel: `rows per hourly window (the year: a tenth as many rows an hour)`,
        yLabel: 'MiB',
        log: { x: true, y: true },
        series: [
          {
            name: 'backfill: CSV scanned',
            points: figures.map((f) => [f.rows, (HOURS * f.csvBytes) / 2 ** 20]),
          },
          {
            name: 'year: full snapshot',
            points: figures.map((f) => [f.rows, f.pruning.full.read.bytes / 2 ** 20]),
          },
          {
            name: 'year: one day opened',
            points: figures.map((f) => [f.rows, f.pruning.day.read.bytes / 2 ** 20]),
          },
        ],
      }),
    );
    const rssPlot = plot.replace(/\.svg$/, '') + '-rss.svg';
    fs.writeFileSync(
      rssPlot,
      lineChartSvg({
        title: 'scale-out: peak RSS as rows per window grow',
        xLabel: 'rows per hourly window',
        yLabel: 'MiB',
        log: { x: true, y: false },
        series: [
          {
            name: 'feature worker (backfill)',
            points: figures.map((f) => [f.rows, Math.max(...f.backfills.map((b) => b.peakRss)) / 2 ** 20]),
          },
          {
            name: 'training worker (job)',
            points: figures.map((f) => [
              f.rows,
              Math.max(...f.training.jobs.map((j) => j.peakRss)) / 2 ** 20,
            ]),
          },
          { name: 'bench process', points: figures.map((f) => [f.rows, f.benchPeakRss / 2 ** 20]) },
        ],
      }),
    );
    process.stdout.write(`wrote ${plot}, ${bytesPlot} and ${rssPlot}\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench/scale failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
