import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import pg from 'pg';
import { loadConfig } from '../../core/config';
import { openDatabase, runMigrations, tables, type DatabaseHandle } from '../../core/db';
import { registerFeatureGroup } from '../../core/featurestore';
import { objectStoreFromConfig, type S3ObjectStore } from '../../core/storage';
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
import { startPrivatePostgres, type PrivatePostgres } from '../support/private-postgres';

const RUNS = 4;
const ROWS_PER_WINDOW = 20_000;
const OUTAGE_MS = 5_000;
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

/** True when a new connection to `url` succeeds within 2 s. */
async function reachable(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.end();
    return true;
  } catch {
    return false;
  }
}

// Chaos: the platform database (a private PostgreSQL server of this file's own; the shared one at
// 127.0.0.1:5432 is never touched) goes down for 5 s twice — once with a fast shutdown (sessions
// terminated with 57P01, as `pg_ctlcluster restart` does), once crash-like (immediate) — while
// feature runs have steps running on a compiled features worker whose DATABASE_URL points at it.
// The worker must ride it out without a restart, and every run must finish exactly once.
describe('chaos: PostgreSQL restarted mid-pipeline', () => {
  let server: PrivatePostgres;
  let ns: ChaosNamespace;
  let database: DatabaseHandle;
  let store: S3ObjectStore;
  let worker: WorkerProcess | undefined;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-chaos-pg-'));

  beforeAll(async () => {
    server = await startPrivatePostgres();
    const url = await server.createDatabase('fti_chaos');
    database = await openDatabase({ url });
    await runMigrations(database);
    ns = await createChaosNamespace('pg');
    store = objectStoreFromConfig(loadConfig());
  });
  afterAll(async () => {
    await worker?.stop();
    store?.close();
    await database?.close();
    await ns?.close();
    await server?.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('feature runs finish with one commit per window holding exactly the source rows, on the same worker', async () => {
    const { random } = chaosRandom('postgres-restart');
    const csv = path.join(dir, 'events.csv');
    await writeWindowedEvents(csv, RUNS, ROWS_PER_WINDOW);
    const groups: string[] = [];
    for (let w = 0; w < RUNS; w++) {
      const definition = eventGroupDefinition(uniqueGroupName(`chaos_pg${w}`));
      groups.push((await registerFeatureGroup(database.db, definition)).record.spec.name);
    }
    worker = await WorkerProcess.start('features', { ...ns.env, DATABASE_URL: server.url('fti_chaos') });
    const runs = new StartedRuns<FeaturePipelineResult>();
    const startRun = async (w: number) =>
      runs.add(await startWindowRun(ns.client, 'chaos-pg', w, groups[w]!, csv));

    const outages: { mode: 'fast' | 'immediate'; hit: string[] }[] = [];
    for (const [i, mode] of (['fast', 'immediate'] as const).entries()) {
      // A random point: a random delay, then two runs start, then the first moment a step runs on
      // the worker (a run can finish within a second: no delay after it started).
      await sleep(Math.floor(random() * 3000));
      await startRun(2 * i);
      await startRun(2 * i + 1);
      const hit = stepLabels(await stepsRunningOn(ns.client, runs.workflowIds, worker.identity, STEPS));
      expect(hit.length).toBeGreaterThan(0);
      await server.stop(mode);
      expect(await reachable(server.url('fti_chaos'))).toBe(false);
      await sleep(OUTAGE_MS);
      await server.start();
      expect(await reachable(server.url('fti_chaos'))).toBe(true);
      outages.push({ mode, hit });
    }
    console.log(`postgres-restart: outages ${JSON.stringify(outages)}`);

    const outcomes = await runs.all();
    expect(outcomes.map((o) => o.rowsWritten)).toEqual(groups.map(() => ROWS_PER_WINDOW));
    // Recovered by retries inside the same process: the worker was never restarted.
    expect(worker.alive).toBe(true);
    const retried = await retriedSteps(ns.client, runs.workflowIds);
    const { lost, extra } = await expectOneCommitPerWindow(
      { db: database.db, store, cacheDir: path.join(dir, 'cache') },
      groups,
      csv,
      ROWS_PER_WINDOW,
    );
    for (const workflowId of runs.workflowIds) {
      const records = await database.db
        .select()
        .from(tables.pipelineRuns)
        .where(eq(tables.pipelineRuns.workflowId, workflowId));
      expect(records.map((r) => r.status)).toEqual(['completed']);
    }
    console.log(
      `postgres-restart: ${RUNS} runs, ${outages.length} outages, retried steps ${retried.join(' ') || 'none'}, rows lost ${lost}, rows extra ${extra}`,
    );
    expect({ lost, extra }).toEqual({ lost: 0, extra: 0 });
  }, 240_000);
});
