import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../core/config';
import { openDatabase, type DatabaseHandle } from '../../core/db';
import { registerFeatureGroup } from '../../core/featurestore';
import { objectStoreFromConfig, type S3ObjectStore } from '../../core/storage';
import type { FeaturePipelineResult } from '../../workflows';
import {
  chaosRandom,
  createChaosNamespace,
  eventGroupDefinition,
  expectOneCommitPerWindow,
  expectRealKills,
  expectRecovered,
  killRepeatedly,
  recoveriesOf,
  StartedRuns,
  startWindowRun,
  WorkerProcess,
  writeWindowedEvents,
  type ChaosNamespace,
} from '../support/chaos';
import { uniqueGroupName } from '../support/featurestore';

const RUNS = 10;
/** Enough rows that a run lasts a few seconds, so kills can land in its later steps. */
const ROWS_PER_WINDOW = 20_000;
/** The steps that heartbeat: a kill in one is noticed within the step's 30 s heartbeat timeout. */
const STEPS = [
  'extractFeatures',
  'transformFeatures',
  'extractTransformFeatures',
  'ingestFeatures',
  'validateFeatures',
  'commitFeatures',
  'writeFeaturesOnline',
  'computeFeatureStatistics',
];

// Chaos: the compiled features worker is SIGKILLed 10 times, each time at a random delay after it
// starts polling and then the first moment one of the runs has a step running on it; it is restarted
// after every kill. Ten runs (one window of one source each, into ten groups) are started one per
// kill. All of this happens in a Temporal namespace of this file's own, so no other worker can take
// the work. Every run must end with exactly one commit whose snapshot equals its source window.
describe('chaos: features worker kill -9 at random points', () => {
  let ns: ChaosNamespace;
  let database: DatabaseHandle;
  let store: S3ObjectStore;
  const state: { worker?: WorkerProcess } = {};
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-chaos-fp-'));

  beforeAll(async () => {
    ns = await createChaosNamespace('kill-fp');
    database = await openDatabase({ url: loadConfig().databaseUrl });
    store = objectStoreFromConfig(loadConfig());
  });
  afterAll(async () => {
    await state.worker?.stop();
    store.close();
    await database.close();
    await ns.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('ten runs, each hit by a kill, end with one commit per window holding exactly the source rows', async () => {
    const { random } = chaosRandom('kill-feature-pipeline');
    const csv = path.join(dir, 'events.csv');
    await writeWindowedEvents(csv, RUNS, ROWS_PER_WINDOW);
    const groups: string[] = [];
    for (let w = 0; w < RUNS; w++) {
      groups.push(
        (await registerFeatureGroup(database.db, eventGroupDefinition(uniqueGroupName(`chaos_fp${w}`))))
          .record.spec.name,
      );
    }

    const logDir = path.join(dir, 'logs');
    fs.mkdirSync(logDir);
    const restart = () => WorkerProcess.start('features', ns.env, { logDir });
    const live = { worker: await restart() };
    state.worker = live.worker;
    const runs = new StartedRuns<FeaturePipelineResult>();
    const kills = await killRepeatedly({
      state: live,
      restart: async () => (state.worker = await restart()),
      client: ns.client,
      workflowIds: () => runs.workflowIds,
      activityTypes: STEPS,
      kills: RUNS,
      random,
      maxDelayMs: 3000,
      maxInRunDelayMs: 800,
      beforeKill: async (w) => runs.add(await startWindowRun(ns.client, 'chaos-fp', w, groups[w]!, csv)),
    });

    // Every kill was real: ten distinct live processes, each running some run's step when killed.
    expectRealKills('kill-feature-pipeline', kills, RUNS);
    const outcomes = await runs.all();
    expect(outcomes.map((o) => o.rowsWritten)).toEqual(groups.map(() => ROWS_PER_WINDOW));
    // Temporal had to recover every interrupted step on a later attempt by another process.
    expectRecovered(await recoveriesOf(ns.client, kills), kills.length);

    const { lost, extra } = await expectOneCommitPerWindow(
      { db: database.db, store, cacheDir: path.join(dir, 'cache') },
      groups,
      csv,
      ROWS_PER_WINDOW,
    );
    console.log(
      `kill-feature-pipeline: ${RUNS} runs, ${kills.length} kills, rows lost ${lost}, rows extra ${extra}`,
    );
    expect({ lost, extra }).toEqual({ lost: 0, extra: 0 });
  }, 300_000);
});
