import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../core/config';
import { openDatabase, type DatabaseHandle } from '../../core/db';
import { registerFeatureGroup } from '../../core/featurestore';
import type { S3ObjectStore } from '../../core/storage';
import type { FeaturePipelineResult } from '../../workflows';
import {
  chaosRandom,
  createChaosNamespace,
  eventGroupDefinition,
  expectOneCommitPerWindow,
  retriedSteps,
  sleep,
  StartedRuns,
  startWindowRun,
  stepLabels,
  stepsRunningOn,
  WorkerProcess,
  writeWindowedEvents,
  type ChaosNamespace,
} from '../support/chaos';
import { uniqueGroupName } from '../support/featurestore';
import { startPrivateS3, type PrivateS3 } from '../support/private-s3';

const RUNS = 3;
const ROWS_PER_WINDOW = 20_000;
const OUTAGE_MS = 30_000;
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

// Chaos: the object store (a private SeaweedFS of this file's own; the stack's S3 is never touched)
// is stopped for 30 s while feature runs have steps running on a compiled features worker whose
// S3_ENDPOINT points at it, then started again. The worker must ride it out without a restart, and
// every run must finish with exactly one commit whose snapshot equals its source window.
describe('chaos: S3 server stopped 30 s mid-pipeline', () => {
  let s3: PrivateS3;
  let ns: ChaosNamespace;
  let database: DatabaseHandle;
  let store: S3ObjectStore;
  let worker: WorkerProcess | undefined;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-chaos-s3-'));

  beforeAll(async () => {
    s3 = await startPrivateS3();
    store = s3.store();
    ns = await createChaosNamespace('s3');
    database = await openDatabase({ url: loadConfig().databaseUrl });
  });
  afterAll(async () => {
    await worker?.stop();
    store?.close();
    await database?.close();
    await ns?.close();
    await s3?.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('feature runs finish with one commit per window holding exactly the source rows, on the same worker', async () => {
    const { random } = chaosRandom('s3-outage');
    const csv = path.join(dir, 'events.csv');
    await writeWindowedEvents(csv, RUNS, ROWS_PER_WINDOW);
    const groups: string[] = [];
    for (let w = 0; w < RUNS; w++) {
      const definition = eventGroupDefinition(uniqueGroupName(`chaos_s3${w}`));
      groups.push((await registerFeatureGroup(database.db, definition)).record.spec.name);
    }
    worker = await WorkerProcess.start('features', { ...ns.env, ...s3.env });
    // A random point: a random delay after the worker polls, then the runs start, then the first
    // moment a step runs on the worker (the runs can finish within a second: no delay after they start).
    await sleep(Math.floor(random() * 3000));
    const runs = new StartedRuns<FeaturePipelineResult>();
    for (let w = 0; w < RUNS; w++) {
      runs.add(await startWindowRun(ns.client, 'chaos-s3', w, groups[w]!, csv));
    }
    const hit = stepLabels(await stepsRunningOn(ns.client, runs.workflowIds, worker.identity, STEPS));
    expect(hit.length).toBeGreaterThan(0);
    await s3.stop();
    const downAt = Date.now();
    expect(await s3.reachable()).toBe(false);
    await sleep(OUTAGE_MS / 2);
    expect(await s3.reachable()).toBe(false);
    await sleep(OUTAGE_MS - (Date.now() - downAt));
    await s3.start();
    expect(await s3.reachable()).toBe(true);
    console.log(`s3-outage: stopped ${Date.now() - downAt} ms while running ${hit.join(' ')}`);

    const outcomes = await runs.all();
    expect(outcomes.map((o) => o.rowsWritten)).toEqual(groups.map(() => ROWS_PER_WINDOW));
    expect(worker.alive).toBe(true);
    const retried = await retriedSteps(ns.client, runs.workflowIds);
    const { lost, extra } = await expectOneCommitPerWindow(
      { db: database.db, store, cacheDir: path.join(dir, 'cache') },
      groups,
      csv,
      ROWS_PER_WINDOW,
    );
    console.log(
      `s3-outage: ${RUNS} runs, 1 outage of ${OUTAGE_MS / 1000} s, retried steps ${retried.join(' ') || 'none'}, rows lost ${lost}, rows extra ${extra}`,
    );
    expect({ lost, extra }).toEqual({ lost: 0, extra: 0 });
  }, 240_000);
});
