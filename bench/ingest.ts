// bench/ingest: one feature-pipeline run (through Temporal) ingesting N rows × 10 features —
// offline commit + online upsert + statistics — against the raw floor measured in the same run:
// DuckDB writing the same rows to Parquet + PostgreSQL COPY of the same rows.
// Usage: node dist/bench/ingest.js [rows=1000000]   (needs the stack: infra/stack.sh up)
//        node dist/bench/ingest.js --sizes=10000,100000,1000000 [--plot=FILE.svg]
//   sweeps the row count (one fresh process per size) and draws time and peak RSS of the platform
//   run and of the floor as an SVG line chart.
//        node dist/bench/ingest.js 1000000 --profile=run.cpuprofile   (CPU profile of the run only)
// The floor runs in a child process of its own, so each side's peak RSS is its own; the platform's
// is the process that runs the worker (workflow bundle, DuckDB, pg pool) during the run. The run's
// Temporal history gives the time of each step (started → completed), printed under the figure.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { Session } from 'node:inspector/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pipeline as streamPipeline } from 'node:stream/promises';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { from as copyFrom } from 'pg-copy-streams';
import { loadConfig, temporalConnectionOptions } from '../core/config';
import { openDatabase } from '../core/db';
import { sqlPath, withDuck } from '../core/duckdb';
import { PostgresOnlineStore, registerFeatureGroup, TransformationRegistry } from '../core/featurestore';
import { ObjectCache, objectStoreFromConfig } from '../core/storage';
import type { FeaturePipelineResult } from '../workflows';
import { installTemporalLogging } from '../workers/logging';
import { createLogger } from '../core/log';
import { createPlatformWorker } from '../workers/worker-factory';
import { rssSampler } from './support/peak-rss';
import { lineChartSvg } from './support/plot';

const flag = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const sizes = flag('sizes')?.split(',').map(Number) ?? [Number(positional[0] ?? 1_000_000)];
const plot = flag('plot');
// --profile=FILE.cpuprofile: a V8 CPU profile of this process during the platform run only (the
// worker's JavaScript: activities, pg, S3 SDK), for bench/support/flamegraph.ts.
const profile = flag('profile');
if (sizes.some((n) => !Number.isInteger(n) || n < 1))
  throw new Error('usage: ingest.js [rows] | --sizes=10000,100000,1000000 [--plot=out.svg]');
const FEATURES = Array.from({ length: 10 }, (_, i) => `f${i}`);
const seconds = (ms: number) => (ms / 1000).toFixed(2);
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0);

/** One size's measurement. */
interface Measured {
  rows: number;
  runMs: number;
  runPeakRss: number;
  floorMs: number;
  floorPeakRss: number;
  committed: number;
  online: number;
  statisticsId: number | null;
  steps: { name: string; ms: number; waitMs: number }[];
}

/** The floor, in this (child) process: DuckDB → Parquet, and COPY of the same rows into PostgreSQL. */
async function floor(source: string): Promise<void> {
  const config = loadConfig();
  const database = await openDatabase({ url: config.databaseUrl });
  const dir = path.dirname(source);
  const stop = rssSampler();
  const start = performance.now();
  const floorCsv = path.join(dir, 'floor.csv');
  await withDuck(async (duck) => {
    await duck.run(
      `COPY (SELECT * FROM read_parquet(${sqlPath(source)})) TO ${sqlPath(path.join(dir, 'floor.parquet'))} (FORMAT parquet, COMPRESSION zstd)`,
    );
    await duck.run(
      `COPY (SELECT * FROM read_parquet(${sqlPath(source)})) TO ${sqlPath(floorCsv)} (FORMAT csv, HEADER false)`,
    );
  });
  const client = await database.pool.connect();
  await client.query(
    `CREATE TEMP TABLE floor (entity_id text, event_time timestamp, ${FEATURES.map((f) => `${f} double precision`).join(', ')})`,
  );
  await streamPipeline(
    fs.createReadStream(floorCsv),
    client.query(copyFrom('COPY floor FROM STDIN (FORMAT csv)')),
  );
  client.release();
  const ms = performance.now() - start;
  const peakRss = stop();
  await database.close();
  process.stdout.write(`${JSON.stringify({ ms, peakRss })}\n`);
}

type Stamp = { seconds?: { toNumber(): number } | number | null; nanos?: number | null } | null | undefined;
const stampMs = (t: Stamp) =>
  t
    ? (typeof t.seconds === 'number' ? t.seconds : (t.seconds?.toNumber() ?? 0)) * 1000 + (t.nanos ?? 0) / 1e6
    : 0;

/** Per activity of a run: time inside (started → completed) and waiting (scheduled → started). */
async function stepsOf(client: Client, workflowId: string): Promise<Measured['steps']> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const scheduled = new Map<number, { name: string; at: number }>();
  const started = new Map<number, number>();
  const steps: Measured['steps'] = [];
  for (const e of history.events ?? []) {
    const at = stampMs(e.eventTime as Stamp);
    const s = e.activityTaskScheduledEventAttributes;
    if (s) scheduled.set(Number(e.eventId), { name: s.activityType?.name ?? '?', at });
    const st = e.activityTaskStartedEventAttributes;
    if (st) started.set(Number(st.scheduledEventId), at);
    const done = e.activityTaskCompletedEventAttributes;
    if (done) {
      const id = Number(done.scheduledEventId);
      const begin = started.get(id) ?? at;
      const sched = scheduled.get(id);
      steps.push({ name: sched?.name ?? '?', ms: at - begin, waitMs: begin - (sched?.at ?? begin) });
    }
  }
  return steps;
}

/** One size: source file, floor (child process), platform run (this process). */
async function measure(rows: number): Promise<Measured> {
  const config = loadConfig();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-bench-ingest-'));
  const source = path.join(dir, 'source.parquet');
  await withDuck((duck) =>
    duck.run(
      `COPY (SELECT 'k' || (i % ${Math.max(1, Math.floor(rows / 4))}) AS entity_id, TIMESTAMP '2026-01-01' + to_seconds(i) AS event_time,
        ${FEATURES.map((f, j) => `random() * ${j + 1} AS ${f}`).join(', ')} FROM range(${rows}) t(i)) TO ${sqlPath(source)} (FORMAT parquet)`,
    ),
  );
  const child = spawnSync(process.execPath, [__filename, `--floor=${source}`], { encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`floor failed: ${child.stderr}`);
  const floorResult = JSON.parse(child.stdout.trim().split('\n').at(-1)!) as { ms: number; peakRss: number };

  const database = await openDatabase({ url: config.databaseUrl });
  const store = objectStoreFromConfig(config);
  const name = `bench_ingest_${Date.now().toString(36)}`;
  await registerFeatureGroup(database.db, {
    name,
    primaryKey: ['entity_id'],
    eventTime: 'event_time',
    features: [
      { name: 'entity_id', type: 'string' },
      { name: 'event_time', type: 'timestamp' },
      ...FEATURES.map((f) => ({ name: f, type: 'double' as const })),
    ],
    online: { enabled: true },
  });

  // The platform: a featurePipeline workflow run on a private task queue.
  installTemporalLogging(createLogger('bench', 'warn'));
  const native = await NativeConnection.connect(temporalConnectionOptions(config));
  const connection = await Connection.connect(temporalConnectionOptions(config));
  const temporal = new Client({ connection, namespace: config.temporalNamespace });
  const taskQueue = `bench-ingest-${Date.now()}`;
  const worker = await createPlatformWorker({
    connection: native,
    namespace: config.temporalNamespace,
    taskQueue,
    deps: {
      db: database.db,
      store,
      ingestion: {
        db: database.db,
        store,
        cache: new ObjectCache(store, { dir: path.join(dir, 'cache') }),
        online: new PostgresOnlineStore({ pool: database.pool, scratchDir: path.join(dir, 'scratch') }),
        transformations: new TransformationRegistry(),
        storeFor: (bucket) => objectStoreFromConfig({ ...config, s3Bucket: bucket }),
        env: process.env,
        scratchDir: path.join(dir, 'scratch'),
        threads: os.cpus().length,
      },
    },
  });
  const workflowId = `bench-ingest-${name}`;
  const inspector = profile ? new Session() : undefined;
  if (inspector) {
    inspector.connect();
    await inspector.post('Profiler.enable');
    await inspector.post('Profiler.start');
  }
  const stop = rssSampler();
  const runStart = performance.now();
  const result = (await worker.runUntil(
    temporal.workflow.execute('featurePipeline', {
      taskQueue,
      workflowId,
      args: [
        {
          pipeline: {
            name: name.replace(/_/g, '-'),
            featureGroup: { name },
            source: { kind: 'parquet', path: source },
            validation: 'always',
          },
        },
      ],
    }),
  )) as FeaturePipelineResult;
  const runMs = performance.now() - runStart;
  const runPeakRss = stop();
  if (inspector) {
    const { profile: cpu } = await inspector.post('Profiler.stop');
    fs.writeFileSync(profile!, JSON.stringify(cpu));
    inspector.disconnect();
  }
  const steps = await stepsOf(temporal, workflowId);
  await connection.close();
  await native.close();
  await database.pool.query(`DROP TABLE IF EXISTS fti_online.${name}_v1`);
  await database.close();
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return {
    rows,
    runMs,
    runPeakRss,
    floorMs: floorResult.ms,
    floorPeakRss: floorResult.peakRss,
    committed: result.commit.rowsInserted,
    online: result.online.applied,
    statisticsId: result.statisticsId,
    steps,
  };
}

function report(m: Measured): string {
  return [
    `bench/ingest: ${m.rows} rows x ${FEATURES.length} features (${m.committed} record keys committed, ${m.online} online rows, statistics ${m.statisticsId})`,
    `  platform pipeline run : ${seconds(m.runMs)} s  ${(m.rows / (m.runMs / 1000)).toFixed(0)} rows/s  peak RSS ${mib(m.runPeakRss)} MiB`,
    `  raw floor (DuckDB Parquet + pg COPY): ${seconds(m.floorMs)} s  ${(m.rows / (m.floorMs / 1000)).toFixed(0)} rows/s  peak RSS ${mib(m.floorPeakRss)} MiB`,
    `  ratio platform/floor  : ${(m.runMs / m.floorMs).toFixed(2)}x`,
    `  steps (from the run's history: inside the activity, + waiting for a worker):`,
    ...m.steps.map(
      (s) => `    ${s.name.padEnd(26)} ${seconds(s.ms).padStart(6)} s  +${s.waitMs.toFixed(0)} ms`,
    ),
  ].join('\n');
}

async function main(): Promise<void> {
  const floorSource = flag('floor');
  if (floorSource) return floor(floorSource);
  if (flag('json') === 'true') {
    process.stdout.write(`${JSON.stringify(await measure(sizes[0]!))}\n`);
    return;
  }
  if (sizes.length === 1) {
    process.stdout.write(`${report(await measure(sizes[0]!))}\n`);
    return;
  }
  // One fresh process per size: each size's peak RSS is its own.
  const results: Measured[] = [];
  for (const rows of sizes) {
    const child = spawnSync(process.execPath, [__filename, String(rows), '--json=true'], {
      encoding: 'utf8',
      maxBuffer: 64 * 2 ** 20,
    });
    if (child.status !== 0) throw new Error(`size ${rows} failed: ${child.stderr}`);
    const m = JSON.parse(child.stdout.trim().split('\n').at(-1)!) as Measured;
    results.push(m);
    process.stdout.write(`${report(m)}\n`);
  }
  process.stdout.write(
    [
      '',
      '| rows | platform run | rows/s | raw floor | ratio | peak RSS platform | peak RSS floor |',
      '| ---- | ------------ | ------ | --------- | ----- | ----------------- | -------------- |',
      ...results.map(
        (m) =>
          `| ${m.rows.toLocaleString('en-US')} | ${seconds(m.runMs)} s | ${Math.round(m.rows / (m.runMs / 1000)).toLocaleString('en-US')} | ${seconds(m.floorMs)} s | ${(m.runMs / m.floorMs).toFixed(2)}× | ${mib(m.runPeakRss)} MiB | ${mib(m.floorPeakRss)} MiB |`,
      ),
    ].join('\n') + '\n',
  );
  if (plot) {
    const chart = (title: string, yLabel: string, pick: (m: Measured) => [number, number]) =>
      lineChartSvg({
        title,
        xLabel: 'rows ingested (10 features)',
        yLabel,
        log: { x: true, y: true },
        series: [
          { name: 'platform run', points: results.map((m) => [m.rows, pick(m)[0]]) },
          { name: 'raw floor', points: results.map((m) => [m.rows, pick(m)[1]]) },
        ],
      });
    fs.writeFileSync(
      plot,
      chart(`feature ingestion: time as rows grow (${os.cpus().length} cores)`, 'seconds', (m) => [
        m.runMs / 1000,
        m.floorMs / 1000,
      ]),
    );
    const rssPlot = plot.replace(/\.svg$/, '-rss.svg');
    fs.writeFileSync(
      rssPlot,
      chart('feature ingestion: peak RSS as rows grow', 'MiB', (m) => [
        m.runPeakRss / 2 ** 20,
        m.floorPeakRss / 2 ** 20,
      ]),
    );
    process.stdout.write(`wrote ${plot} and ${rssPlot}\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench/ingest failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
