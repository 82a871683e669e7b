// A serving scenario for the inference benchmarks: a label group (spine) and two online feature
// groups of 10 features each, a feature view joining them, a training dataset, a GBDT model and a
// deployment — built through the platform's library on the running stack.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../core/config';
import { openDatabase, type DatabaseHandle } from '../../core/db';
import { withDuck } from '../../core/duckdb';
import {
  createFeatureView,
  OfflineTable,
  OnDemandRegistry,
  PostgresOnlineStore,
  registerFeatureGroup,
  writeCommitOnline,
  TransformationRegistry,
  type FeatureGroupRecord,
} from '../../core/featurestore';
import { runTrainingPipeline, TrainerRegistry, type TrainingDeps } from '../../core/ml';
import { createDeployment } from '../../core/serving';
import { ObjectCache, objectStoreFromConfig, type S3ObjectStore } from '../../core/storage';

/** What a benchmark gets: adapters plus the names it created. */
export interface Scenario {
  readonly database: DatabaseHandle;
  readonly store: S3ObjectStore;
  readonly deps: TrainingDeps & { online: PostgresOnlineStore };
  readonly deployment: string;
  readonly view: string;
  readonly groups: readonly FeatureGroupRecord[];
  readonly entities: number;
  readonly dir: string;
  close(): Promise<void>;
}

/** Builds the scenario with `entities` entities and `spineRows` labelled events. */
export async function buildScenario(
  entities: number,
  spineRows: number,
  threads = os.cpus().length,
): Promise<Scenario> {
  const config = loadConfig();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-bench-serve-'));
  const database = await openDatabase({ url: config.databaseUrl, maxConnections: 16 });
  const store = objectStoreFromConfig(config);
  const suffix = Date.now().toString(36);
  const online = new PostgresOnlineStore({ pool: database.pool, scratchDir: path.join(dir, 'scratch') });
  const deps = {
    db: database.db,
    store,
    cache: new ObjectCache(store, { dir: path.join(dir, 'cache') }),
    onDemand: new OnDemandRegistry(),
    scratchDir: path.join(dir, 'scratch'),
    threads,
    trainers: new TrainerRegistry(),
    online,
  };
  const ingestion = {
    ...deps,
    transformations: new TransformationRegistry(),
    storeFor: () => store,
    env: process.env,
  };
  const group = async (
    name: string,
    features: { name: string; type: 'double' | 'bool' }[],
    isOnline: boolean,
  ) =>
    (
      await registerFeatureGroup(database.db, {
        name: `${name}_${suffix}`,
        primaryKey: ['entity_id'],
        eventTime: 'event_time',
        features: [
          { name: 'entity_id', type: 'bigint' },
          { name: 'event_time', type: 'timestamp' },
          ...features,
        ],
        online: { enabled: isOnline },
      })
    ).record;
  const labels = await group('bench_labels', [{ name: 'label', type: 'bool' }], false);
  const g1 = await group(
    'bench_a',
    Array.from({ length: 10 }, (_, j) => ({ name: `a${j}`, type: 'double' as const })),
    true,
  );
  const g2 = await group(
    'bench_b',
    Array.from({ length: 10 }, (_, j) => ({ name: `b${j}`, type: 'double' as const })),
    true,
  );
  await withDuck(
    async (duck) => {
      for (const [g, p] of [
        [g1, 'a'],
        [g2, 'b'],
      ] as const) {
        await duck.run(
          `CREATE OR REPLACE TABLE batch AS SELECT i::BIGINT AS entity_id, TIMESTAMP '2026-01-01' AS event_time,
           ${Array.from({ length: 10 }, (_, j) => `(hash(i, ${j}, '${p}') % 10000)::DOUBLE / 10000 AS ${p}${j}`).join(', ')}, i + 1 AS _fti_row FROM range(${entities}) t(i)`,
        );
        const { commit } = await new OfflineTable(deps, g).write(duck, 'batch', {
          operation: 'insert',
          idempotencyKey: 'bench',
        });
        await writeCommitOnline(ingestion, { featureGroup: { name: g.spec.name }, commitId: commit.id });
      }
      // Labels depend on features, so the model has something to learn.
      await duck.run(
        `CREATE OR REPLACE TABLE batch AS SELECT (i % ${entities})::BIGINT AS entity_id,
           TIMESTAMP '2026-01-02' + to_seconds(i) AS event_time,
           ((hash(i % ${entities}, 0, 'a') % 10000) + (hash(i % ${entities}, 1, 'b') % 10000) > 10000) AS label,
           i + 1 AS _fti_row FROM range(${spineRows}) t(i)`,
      );
      await new OfflineTable(deps, labels).write(duck, 'batch', {
        operation: 'insert',
        idempotencyKey: 'bench',
      });
    },
    { threads, tempDirectory: path.join(dir, 'duck') },
  );
  const view = `bench_serve_${suffix}`;
  await createFeatureView(database.db, {
    name: view,
    spine: { featureGroup: labels.spec.name },
    labels: ['label'],
    joins: [{ featureGroup: g1.spec.name }, { featureGroup: g2.spec.name }],
  });
  const model = `bench_model_${suffix}`;
  await runTrainingPipeline(
    deps,
    {
      name: 'bench',
      model,
      featureView: { name: view },
      trainer: { name: 'gbdt', params: { numTrees: 100, maxDepth: 6 } },
      alias: 'champion',
    },
    `bench-${suffix}`,
  );
  const deployment = `bench-${suffix}`;
  await createDeployment(database.db, {
    name: deployment,
    variants: [{ variant: 'main', model, version: 'champion', weight: 100 }],
  });
  return {
    database,
    store,
    deps,
    deployment,
    view,
    groups: [g1, g2],
    entities,
    dir,
    async close() {
      for (const g of [g1, g2])
        await database.pool.query(
          `DROP TABLE IF EXISTS fti_online."${PostgresOnlineStore.tableName(g.spec)}"`,
        );
      await database.close();
      store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
