// bench/online: online feature vectors from the library API (2 feature groups, 20 features) for 1
// key and for 100 keys per call, at a fixed request rate, interleaved with the baselines; p50/p99 latency in microseconds against
// raw `pg` queries fetching the same rows, measured in the same run on the same pool: the same ad-hoc
// statement as always (unnest of a key array, parsed and planned per call), and the best a
// hand-written lookup does (a prepared statement; a scalar parameter for one key).
// Usage: node dist/bench/online.js [entities=100000] [seconds=5]   (needs infra/stack.sh up)
//        node dist/bench/online.js [entities] [seconds] --sizes=1,10,100,1000 [--plot=FILE.svg]
//   --sizes: keys per call; --plot draws p50/p99 against keys per call.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../core/config';
import { openDatabase } from '../core/db';
import { withDuck } from '../core/duckdb';
import { lineChartSvg } from './support/plot';
import { rssSampler } from './support/peak-rss';
import {
  createFeatureView,
  OnDemandRegistry,
  OnlineFeatureReader,
  PostgresOnlineStore,
  registerFeatureGroup,
  type FeatureGroupRecord,
} from '../core/featurestore';

const flag = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const entities = Number(positional[0] ?? 100_000);
const duration = Number(positional[1] ?? 5) * 1000;
const sizes = (flag('sizes') ?? '1,100').split(',').map(Number);
const plot = flag('plot');
/** Ticks per second for `keys` keys per call (one call in flight; slower calls simply run back to back). */
const rateFor = (keys: number) => (keys <= 1 ? 500 : keys <= 10 ? 300 : keys <= 100 ? 100 : 20);

/** One size's figures (µs). */
interface KeysFigure {
  readonly keys: number;
  readonly rate: number;
  readonly calls: number;
  readonly platform: { readonly p50: number; readonly p99: number };
  readonly raw: { readonly p50: number; readonly p99: number };
  readonly prepared: { readonly p50: number; readonly p99: number };
  readonly peakRss: number;
}

function percentile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!;
}

/**
 * Runs every one of `fns` at `rate` calls per second for `ms`, one call in flight: at each tick the
 * functions run one after the other, starting with a different one each tick, so every path meets
 * the same machine (other sessions' load, a core just woken from idle) as often as the others.
 * Returns each function's latencies in µs, sorted.
 */
async function paced(
  rate: number,
  ms: number,
  fns: readonly ((i: number) => Promise<unknown>)[],
): Promise<number[][]> {
  const interval = 1000 / rate;
  const start = performance.now();
  const latencies: number[][] = fns.map(() => []);
  for (let i = 0; performance.now() - start < ms; i++) {
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    for (let k = 0; k < fns.length; k++) {
      const f = (i + k) % fns.length;
      const t = performance.now();
      await fns[f]!(i);
      latencies[f]!.push((performance.now() - t) * 1000);
    }
  }
  return latencies.map((l) => l.sort((a, b) => a - b));
}

async function main(): Promise<void> {
  const config = loadConfig();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-bench-online-'));
  const database = await openDatabase({ url: config.databaseUrl, maxConnections: 4 });
  const online = new PostgresOnlineStore({ pool: database.pool, scratchDir: dir });
  const suffix = Date.now().toString(36);
  const group = async (prefix: string): Promise<FeatureGroupRecord> =>
    (
      await registerFeatureGroup(database.db, {
        name: `bench_online_${prefix}_${suffix}`,
        primaryKey: ['entity_id'],
        eventTime: 'event_time',
        features: [
          { name: 'entity_id', type: 'bigint' },
          { name: 'event_time', type: 'timestamp' },
          ...Array.from({ length: 10 }, (_, j) => ({ name: `${prefix}${j}`, type: 'double' as const })),
        ],
        online: { enabled: true },
      })
    ).record;
  const g1 = await group('a');
  const g2 = await group('b');
  await withDuck(async (duck) => {
    for (const [g, p] of [
      [g1, 'a'],
      [g2, 'b'],
    ] as const) {
      await duck.run(
        `CREATE OR REPLACE TABLE rows AS SELECT i::BIGINT AS entity_id, TIMESTAMP '2026-01-01' AS event_time,
         ${Array.from({ length: 10 }, (_, j) => `random() AS ${p}${j}`).join(', ')} FROM range(${entities}) t(i)`,
      );
      await online.writeFromDuck(duck, 'rows', g.spec);
    }
  });
  await database.pool.query('ANALYZE fti_online.' + PostgresOnlineStore.tableName(g1.spec));
  await database.pool.query('ANALYZE fti_online.' + PostgresOnlineStore.tableName(g2.spec));
  const { record } = await createFeatureView(database.db, {
    name: `bench_online_${suffix}`,
    spine: {
      columns: [
        { name: 'entity_id', type: 'bigint' },
        { name: 'ts', type: 'timestamp' },
      ],
      eventTime: 'ts',
    },
    joins: [{ featureGroup: g1.spec.name }, { featureGroup: g2.spec.name }],
  });
  const reader = new OnlineFeatureReader(online, record.view, { onDemand: new OnDemandRegistry() });
  const t1 = `fti_online."${PostgresOnlineStore.tableName(g1.spec)}"`;
  const t2 = `fti_online."${PostgresOnlineStore.tableName(g2.spec)}"`;
  // The raw baseline: one statement returning the same rows, typed by pg's default parsers.
  const raw = (ids: number[]) =>
    database.pool.query(
      `SELECT k.ord, a.*, b.* FROM unnest($1::bigint[]) WITH ORDINALITY AS k(entity_id, ord)
       LEFT JOIN ${t1} a ON a.entity_id = k.entity_id LEFT JOIN ${t2} b ON b.entity_id = k.entity_id`,
      [ids],
    );
  // The stricter baseline: what a hand-written lookup does at best — a prepared statement, and for
  // one key a scalar parameter (no array to build and unnest).
  const prepared = (ids: number[]) =>
    ids.length === 1
      ? database.pool.query({
          name: `bench_online_one_${suffix}`,
          text: `SELECT a.*, b.* FROM (VALUES ($1::bigint)) AS k(entity_id)
                 LEFT JOIN ${t1} a ON a.entity_id = k.entity_id LEFT JOIN ${t2} b ON b.entity_id = k.entity_id`,
          values: [ids[0]],
        })
      : database.pool.query({
          name: `bench_online_many_${suffix}`,
          text: `SELECT k.ord, a.*, b.* FROM unnest($1::bigint[]) WITH ORDINALITY AS k(entity_id, ord)
                 LEFT JOIN ${t1} a ON a.entity_id = k.entity_id LEFT JOIN ${t2} b ON b.entity_id = k.entity_id`,
          values: [ids],
        });
  const keysFor = (i: number, n: number) =>
    Array.from({ length: n }, (_, j) => (i * 7919 + j * 104729) % entities);
  const ours = (i: number, n: number) =>
    reader.get(
      keysFor(i, n).map((id) => ({ keys: { entity_id: id } })),
      { missing: 'null' },
    );

  process.stdout.write(
    `bench/online: 2 feature groups x 10 features, ${entities} entities each, PostgreSQL online store, one call in flight\n`,
  );
  const figures: KeysFigure[] = [];
  for (const n of sizes) {
    const rate = rateFor(n);
    // Warm-up every path (plans, pool connections), then measure them one after the other.
    for (let i = 0; i < Math.max(20, 20_000 / n); i++) {
      await ours(i, n);
      await raw(keysFor(i, n));
      await prepared(keysFor(i, n));
    }
    const stopSampling = rssSampler();
    const [platform = [], base = [], best = []] = await paced(rate, duration, [
      (i) => ours(i, n),
      (i) => raw(keysFor(i, n)),
      (i) => prepared(keysFor(i, n)),
    ]);
    const peakRss = stopSampling();
    const figure = (sorted: readonly number[]) => ({
      p50: percentile(sorted, 0.5),
      p99: percentile(sorted, 0.99),
    });
    const f: KeysFigure = {
      keys: n,
      rate,
      calls: platform.length,
      platform: figure(platform),
      raw: figure(base),
      prepared: figure(best),
      peakRss,
    };
    figures.push(f);
    const us = (v: number) => v.toFixed(0);
    const x = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
    process.stdout.write(
      `  ${String(n).padStart(4)} key(s) @ ${rate}/s: platform p50 ${us(f.platform.p50)} µs, p99 ${us(f.platform.p99)} µs | raw pg p50 ${us(f.raw.p50)} µs, p99 ${us(f.raw.p99)} µs | ratio p50 ${x(f.platform.p50, f.raw.p50)}, p99 ${x(f.platform.p99, f.raw.p99)}  (${f.calls} calls, peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB)\n` +
        `       prepared raw pg p50 ${us(f.prepared.p50)} µs, p99 ${us(f.prepared.p99)} µs | ratio p50 ${x(f.platform.p50, f.prepared.p50)}, p99 ${x(f.platform.p99, f.prepared.p99)}\n`,
    );
  }
  if (plot) {
    const ms = (v: number) => v / 1000;
    fs.writeFileSync(
      plot,
      lineChartSvg({
        title: `online feature vectors: latency as keys per call grow (${os.cpus().length} cores)`,
        xLabel: 'keys per call',
        yLabel: 'milliseconds',
        log: { x: true, y: true },
        series: [
          { name: 'platform p50', points: figures.map((f) => [f.keys, ms(f.platform.p50)]) },
          { name: 'platform p99', points: figures.map((f) => [f.keys, ms(f.platform.p99)]) },
          { name: 'prepared raw pg p50', points: figures.map((f) => [f.keys, ms(f.prepared.p50)]) },
          { name: 'prepared raw pg p99', points: figures.map((f) => [f.keys, ms(f.prepared.p99)]) },
        ],
      }),
    );
    process.stdout.write(`wrote ${plot}\n`);
  }
  for (const g of [g1, g2])
    await database.pool.query(`DROP TABLE IF EXISTS fti_online."${PostgresOnlineStore.tableName(g.spec)}"`);
  await database.close();
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench/online failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
