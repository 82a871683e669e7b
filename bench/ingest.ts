// bench/ingest: one feature-pipeline run (through Temporal) ingesting N rows × 10 features —
// offline commit + online upsert + statistics — against the raw floor measured in the same run:
// DuckDB writing the same rows to Parquet + PostgreSQL COPY of the same rows.
// Usage: node dist/bench/ingest.js [rows=1000000]   (needs the stack: infra/stack.sh up)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline as streamPipeline } from 'node:stream/promises';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { from as copyFrom } from 'pg-copy-streams';
import { loadConfig } from '../core/config';
import { openDatabase } from '../core/db';
import { sqlPath, withDuck } from '../core/duckdb';
import { PostgresOnlineStore, registerFeatureGroup, TransformationRegistry } from '../core/featurestore';
import { ObjectCache, objectStoreFromConfig } from '../core/storage';
import type { FeaturePipelineResult } from '../workflows';
import { installTemporalLogging } from '../workers/logging';
import { createLogger } from '../core/log';
import { createPlatformWorker } from '../workers/worker-factory';

const rows = Number(process.argv[2] ?? 1_000_000);
const seconds = (ms: number) => (ms / 1000).toFixed(2);

async function main(): Promise<void> {
  const config = loadConfig();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-bench-ingest-'));
  const source = path.join(dir, 'source.parquet');
  const features = Array.from({ length: 10 }, (_, i) => `f${i}`);
  await withDuck((duck) =>
    duck.run(
      `COPY (SELECT 'k' || (i % ${Math.max(1, Math.floor(rows / 4))}) AS entity_id, TIMESTAMP '2026-01-01' + to_seconds(i) AS event_time,
        ${features.map((f, j) => `random() * ${j + 1} AS ${f}`).join(', ')} FROM range(${rows}) t(i)) TO ${sqlPath(source)} (FORMAT parquet)`,
    ),
  );
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
      ...features.map((f) => ({ name: f, type: 'double' as const })),
    ],
    online: { enabled: true },
  });

  // Raw floor: DuckDB → Parquet, and COPY of the same rows into a plain PostgreSQL table.
  const floorStart = Date.now();
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
    `CREATE TEMP TABLE floor (entity_id text, event_time timestamp, ${features.map((f) => `${f} double precision`).join(', ')})`,
  );
  await streamPipeline(
    fs.createReadStream(floorCsv),
    client.query(copyFrom('COPY floor FROM STDIN (FORMAT csv)')),
  );
  client.release();
  const floorMs = Date.now() - floorStart;

  // The platform: a featurePipeline workflow run on a private task queue.
  installTemporalLogging(createLogger('bench', 'warn'));
  const native = await NativeConnection.connect({ address: config.temporalAddress });
  const connection = await Connection.connect({ address: config.temporalAddress });
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
  const runStart = Date.now();
  const result = (await worker.runUntil(
    temporal.workflow.execute('featurePipeline', {
      taskQueue,
      workflowId: `bench-ingest-${name}`,
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
  const runMs = Date.now() - runStart;

  process.stdout.write(
    [
      `bench/ingest: ${rows} rows x ${features.length} features (${result.commit.rowsInserted} record keys committed, ${result.online.applied} online rows, statistics ${result.statisticsId})`,
      `  platform pipeline run : ${seconds(runMs)} s  ${(rows / (runMs / 1000)).toFixed(0)} rows/s`,
      `  raw floor (DuckDB Parquet + pg COPY): ${seconds(floorMs)} s  ${(rows / (floorMs / 1000)).toFixed(0)} rows/s`,
      `  ratio platform/floor  : ${(runMs / floorMs).toFixed(2)}x`,
    ].join('\n') + '\n',
  );
  await connection.close();
  await native.close();
  await database.pool.query(`DROP TABLE IF EXISTS fti_online.${name}_v1`);
  await database.close();
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((error: unknown) => {
  process.stderr.write(`bench/ingest failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
