// bench/online: online feature vectors from the library API (2 feature groups, 20 features) for 1
// key and for 100 keys per call, at a fixed request rate; p50/p99 latency in microseconds against a
// raw `pg` query fetching the same rows, measured in the same run on the same pool.
// Usage: node dist/bench/online.js [entities=100000] [seconds=5]   (needs infra/stack.sh up)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../core/config';
import { openDatabase } from '../core/db';
import { withDuck } from '../core/duckdb';
import {
  createFeatureView,
  OnDemandRegistry,
  OnlineFeatureReader,
  PostgresOnlineStore,
  registerFeatureGroup,
  type FeatureGroupRecord,
} from '../core/featurestore';

const entities = Number(process.argv[2] ?? 100_000);
const duration = Number(process.argv[3] ?? 5) * 1000;

function percentile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!;
}

/** Runs `fn` at `rate` calls per second (one in flight) for `ms`; returns latencies in µs. */
async function paced(rate: number, ms: number, fn: (i: number) => Promise<unknown>): Promise<number[]> {
  const interval = 1000 / rate;
  const start = performance.now();
  const latencies: number[] = [];
  for (let i = 0; performance.now() - start < ms; i++) {
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const t = performance.now();
    await fn(i);
    latencies.push((performance.now() - t) * 1000);
  }
  return latencies.sort((a, b) => a - b);
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
  const keysFor = (i: number, n: number) =>
    Array.from({ length: n }, (_, j) => (i * 7919 + j * 104729) % entities);

  const lines = [
    `bench/online: 2 feature groups x 10 features, ${entities} entities each, PostgreSQL online store, one call in flight`,
  ];
  for (const [n, rate] of [
    [1, 500],
    [100, 100],
  ] as const) {
    // Warm-up both paths (plans, pool connections), then measure them one after the other.
    for (let i = 0; i < 200; i++) {
      await reader.get(
        keysFor(i, n).map((id) => ({ keys: { entity_id: id } })),
        { missing: 'null' },
      );
      await raw(keysFor(i, n));
    }
    const ours = await paced(rate, duration, (i) =>
      reader.get(
        keysFor(i, n).map((id) => ({ keys: { entity_id: id } })),
        { missing: 'null' },
      ),
    );
    const base = await paced(rate, duration, (i) => raw(keysFor(i, n)));
    const p50 = percentile(ours, 0.5);
    const p99 = percentile(ours, 0.99);
    const b50 = percentile(base, 0.5);
    const b99 = percentile(base, 0.99);
    lines.push(
      `  ${String(n).padStart(3)} key(s) @ ${rate}/s: platform p50 ${p50.toFixed(0)} µs, p99 ${p99.toFixed(0)} µs | raw pg p50 ${b50.toFixed(0)} µs, p99 ${b99.toFixed(0)} µs | ratio p50 ${(p50 / b50).toFixed(2)}x, p99 ${(p99 / b99).toFixed(2)}x  (${ours.length} calls)`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
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
