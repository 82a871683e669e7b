import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { loadConfig } from '../../core/config';
import { openDatabase, tables, type DatabaseHandle } from '../../core/db';
import { runTrainingPipeline } from '../../core/ml';
import { TASK_QUEUES } from '../../core/pipelines';
import { createDeployment, type BatchInferenceResult } from '../../core/serving';
import { objectStoreFromConfig, type S3ObjectStore } from '../../core/storage';
import {
  chaosRandom,
  createChaosNamespace,
  killRepeatedly,
  expectRealKills,
  expectRecovered,
  StartedRuns,
  recoveriesOf,
  WorkerProcess,
  type ChaosNamespace,
} from '../support/chaos';
import { uniqueName } from '../support/ids';
import { createChurnView, testTrainingDeps } from '../support/training';

const RUNS = 10;
const HOUR = 3_600_000;
const HOURS_PER_WINDOW = 10;
/** One label row per minute from 01:00: each window scores this many spine rows. */
const ROWS_PER_WINDOW = HOURS_PER_WINDOW * 60;

// Chaos: the compiled inference worker is SIGKILLed 10 times at seeded random points (a random delay
// after it polls, then the first moment a run's scoring step runs on it) and restarted after each
// kill. Ten batch runs over ten disjoint windows of one deployment, one started per kill, in a
// Temporal namespace of this file's own. Each window must hold exactly its rows' predictions, once.
describe('chaos: inference worker kill -9 at random points', () => {
  let ns: ChaosNamespace;
  let database: DatabaseHandle;
  let store: S3ObjectStore;
  const deployment = uniqueName('chaos-bi');
  const state: { worker?: WorkerProcess } = {};
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-chaos-bi-'));

  beforeAll(async () => {
    ns = await createChaosNamespace('kill-bi');
    database = await openDatabase({ url: loadConfig().databaseUrl });
    // The bucket root, as the worker process sees it (no per-test prefix).
    store = objectStoreFromConfig(loadConfig());
    const deps = testTrainingDeps(database, store);
    const { view } = await createChurnView(deps, { rows: RUNS * ROWS_PER_WINDOW + 60 });
    const model = uniqueName('chaos_bi').replace(/-/g, '_');
    await runTrainingPipeline(
      deps,
      {
        name: 'chaos-bi',
        model,
        featureView: { name: view },
        trainer: { name: 'gbdt', params: { numTrees: 10 } },
        alias: 'champion',
      },
      uniqueName('r'),
    );
    await createDeployment(database.db, {
      name: deployment,
      variants: [{ variant: 'main', model, version: 'champion', weight: 100 }],
    });
  });
  afterAll(async () => {
    await state.worker?.stop();
    store.close();
    await database.close();
    await ns.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('ten runs, each hit by a kill, leave exactly one prediction per spine row of their window', async () => {
    const { random } = chaosRandom('kill-batch-inference');
    const restart = () => WorkerProcess.start('inference', ns.env, { logDir: dir });
    const live = { worker: await restart() };
    state.worker = live.worker;
    const base = Date.UTC(2026, 0, 1, 1);
    const windowOf = (w: number) => ({
      start: new Date(base + w * HOURS_PER_WINDOW * HOUR).toISOString(),
      end: new Date(base + (w + 1) * HOURS_PER_WINDOW * HOUR).toISOString(),
    });
    const runs = new StartedRuns<BatchInferenceResult>();
    const kills = await killRepeatedly({
      state: live,
      restart: async () => (state.worker = await restart()),
      client: ns.client,
      workflowIds: () => runs.workflowIds,
      activityTypes: ['scoreBatch'],
      kills: RUNS,
      random,
      maxDelayMs: 1000,
      beforeKill: async (w) => {
        const workflowId = uniqueName(`chaos-bi${w}`);
        const handle = await ns.client.workflow.start('batchInference', {
          taskQueue: TASK_QUEUES.inference,
          workflowId,
          args: [{ deployment, window: windowOf(w), sinks: ['postgres'] }],
        });
        runs.add(handle);
      },
    });

    expectRealKills('kill-batch-inference', kills, RUNS);

    const outcomes = await runs.all();
    expect(outcomes.map((o) => o.rows)).toEqual(outcomes.map(() => ROWS_PER_WINDOW));
    expectRecovered(await recoveriesOf(ns.client, kills), kills.length);

    const [dep] = await database.db
      .select({ id: tables.deployments.id })
      .from(tables.deployments)
      .where(eq(tables.deployments.name, deployment));
    const perWindow = await database.pool.query<{ start: Date; n: number; keys: number }>(
      `SELECT window_start AS start, count(*)::int AS n, count(DISTINCT entity->>'customer_id')::int AS keys
       FROM predictions WHERE deployment_id = $1 GROUP BY window_start ORDER BY window_start`,
      [dep!.id],
    );
    expect(perWindow.rows.map((r) => [r.start.toISOString(), r.n, r.keys])).toEqual(
      Array.from({ length: RUNS }, (_, w) => [windowOf(w).start, ROWS_PER_WINDOW, ROWS_PER_WINDOW]),
    );
    const total = perWindow.rows.reduce((s, r) => s + r.n, 0);
    const distinct = perWindow.rows.reduce((s, r) => s + r.keys, 0);
    console.log(
      `kill-batch-inference: ${RUNS} runs, ${kills.length} kills, predictions lost ${RUNS * ROWS_PER_WINDOW - distinct}, duplicated ${total - distinct}`,
    );
  }, 300_000);
});
