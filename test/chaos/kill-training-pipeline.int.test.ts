import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { loadConfig } from '../../core/config';
import { openDatabase, tables, type DatabaseHandle } from '../../core/db';
import { TASK_QUEUES } from '../../core/pipelines';
import { listModelVersions } from '../../core/registry';
import { objectStoreFromConfig, type S3ObjectStore } from '../../core/storage';
import type { TrainingPipelineResult } from '../../workflows';
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
/** The steps that heartbeat (2 min heartbeat timeout each); the control steps are not targeted. */
const STEPS = ['prepareTrainingDataset', 'trainModel', 'evaluateModel', 'registerModel'];

// Chaos: the compiled training worker is SIGKILLed 10 times at seeded random points (a random delay
// after it polls, then the first moment a run's step runs on it) and restarted after each kill. Ten
// training runs, one started per kill, each for a model of its own, in a Temporal namespace of this
// file's own. Each must register exactly one version of its model, with its own run as lineage.
describe('chaos: training worker kill -9 at random points', () => {
  let ns: ChaosNamespace;
  let database: DatabaseHandle;
  let store: S3ObjectStore;
  let view: string;
  const state: { worker?: WorkerProcess } = {};
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-chaos-tp-'));

  beforeAll(async () => {
    ns = await createChaosNamespace('kill-tp');
    database = await openDatabase({ url: loadConfig().databaseUrl });
    // The bucket root, as the worker process sees it (no per-test prefix).
    store = objectStoreFromConfig(loadConfig());
    view = (await createChurnView(testTrainingDeps(database, store), { rows: 400 })).view;
  });
  afterAll(async () => {
    await state.worker?.stop();
    store.close();
    await database.close();
    await ns.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('ten runs, each hit by a kill, register exactly one version of their model', async () => {
    const { random } = chaosRandom('kill-training-pipeline');
    const restart = () => WorkerProcess.start('training', ns.env, { logDir: dir });
    const live = { worker: await restart() };
    state.worker = live.worker;
    const models = Array.from({ length: RUNS }, (_, i) => uniqueName(`chaos_tp${i}`).replace(/-/g, '_'));
    const runs = new StartedRuns<TrainingPipelineResult>();
    const kills = await killRepeatedly({
      state: live,
      restart: async () => (state.worker = await restart()),
      client: ns.client,
      workflowIds: () => runs.workflowIds,
      activityTypes: STEPS,
      kills: RUNS,
      random,
      maxDelayMs: 2000,
      // A run lasts about a second (150 trees, no early stop): kills land in its later steps too.
      maxInRunDelayMs: 300,
      beforeKill: async (i) => {
        const workflowId = uniqueName(`chaos-tp${i}`);
        const handle = await ns.client.workflow.start('trainingPipeline', {
          taskQueue: TASK_QUEUES.training,
          workflowId,
          args: [
            {
              spec: {
                name: `chaos-tp${i}`,
                model: models[i]!,
                featureView: { name: view },
                trainer: { name: 'gbdt', params: { numTrees: 150, maxDepth: 4, earlyStoppingRounds: 0 } },
                alias: 'champion',
              },
            },
          ],
        });
        runs.add(handle);
      },
    });

    expectRealKills('kill-training-pipeline', kills, RUNS);

    const outcomes = await runs.all();
    expect(outcomes.map((o) => [o.model, o.version, o.state])).toEqual(
      models.map((m) => [m, 1, 'registered']),
    );
    expectRecovered(await recoveriesOf(ns.client, kills), kills.length);

    let extraVersions = 0;
    for (let i = 0; i < RUNS; i++) {
      const versions = await listModelVersions(database.db, models[i]!);
      extraVersions += versions.length - 1;
      expect(versions.map((v) => [v.version, v.state, v.aliases, v.lineage.workflowId])).toEqual([
        [1, 'registered', ['champion'], runs.workflowIds[i]],
      ]);
      const records = await database.db
        .select()
        .from(tables.pipelineRuns)
        .where(eq(tables.pipelineRuns.workflowId, runs.workflowIds[i]!));
      expect(records.map((r) => r.status)).toEqual(['completed']);
    }
    console.log(
      `kill-training-pipeline: ${RUNS} runs, ${kills.length} kills, extra model versions ${extraVersions}`,
    );
  }, 420_000);
});
