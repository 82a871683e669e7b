import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import pg from 'pg';
import { loadConfig } from '../../core/config';
import { openDatabase, runMigrations, tables, type DatabaseHandle } from '../../core/db';
import { getFeatureGroup, registerFeatureGroup } from '../../core/featurestore';
import { TASK_QUEUES } from '../../core/pipelines';
import { objectStoreFromConfig, type S3ObjectStore } from '../../core/storage';
import type { FeaturePipelineResult } from '../../workflows';
import {
  activitiesRunningOn,
  chaosRandom,
  compareSnapshotWithSource,
  completedActivities,
  createChaosNamespace,
  eventGroupDefinition,
  hourWindow,
  sleep,
  WorkerProcess,
  writeWindowedEvents,
  type ChaosNamespace,
} from '../support/chaos';
import { uniqueGroupName } from '../support/featurestore';
import { uniqueName } from '../support/ids';
import { startPrivatePostgres, type PrivatePostgres } from '../support/private-postgres';

const RUNS = 4;
const ROWS_PER_WINDOW = 20_000;
const OUTAGE_MS = 5_000;
const STEPS = [
  'extractFeatures',
  'transformFeatures',
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
    const workflowIds: string[] = [];
    const results: Promise<FeaturePipelineResult>[] = [];
    const startRun = async (w: number) => {
      const workflowId = uniqueName(`chaos-pg${w}`);
      const handle = await ns.client.workflow.start('featurePipeline', {
        taskQueue: TASK_QUEUES.features,
        workflowId,
        args: [
          {
            pipeline: {
              name: `chaos-pg${w}`,
              featureGroup: { name: groups[w]! },
              source: { kind: 'csv', path: csv, timeColumn: 'event_time' },
            },
            window: hourWindow(w),
          },
        ],
      });
      workflowIds.push(workflowId);
      const result = handle.result() as Promise<FeaturePipelineResult>;
      result.catch(() => undefined); // awaited below
      results.push(result);
    };

    const outages: { mode: 'fast' | 'immediate'; hit: string[] }[] = [];
    for (const [i, mode] of (['fast', 'immediate'] as const).entries()) {
      await startRun(2 * i);
      await startRun(2 * i + 1);
      // A random point: a random delay, then the first moment a step runs on the worker.
      await sleep(Math.floor(random() * 3000));
      let hit: string[] = [];
      while (hit.length === 0) {
        hit = (await activitiesRunningOn(ns.client, workflowIds, worker.identity))
          .filter((a) => STEPS.includes(a.activityType))
          .map((a) => `${a.workflowId.split('-')[1]}:${a.activityType}`);
        if (hit.length === 0) await sleep(25);
      }
      await server.stop(mode);
      expect(await reachable(server.url('fti_chaos'))).toBe(false);
      await sleep(OUTAGE_MS);
      await server.start();
      expect(await reachable(server.url('fti_chaos'))).toBe(true);
      outages.push({ mode, hit });
    }
    console.log(`postgres-restart: outages ${JSON.stringify(outages)}`);

    const outcomes = await Promise.all(results);
    expect(outcomes.map((o) => o.rowsWritten)).toEqual(groups.map(() => ROWS_PER_WINDOW));
    // Recovered by retries inside the same process: the worker was never restarted.
    expect(worker.alive).toBe(true);
    const retried: string[] = [];
    for (const id of workflowIds) {
      for (const a of await completedActivities(ns.client.workflow.getHandle(id))) {
        if (a.attempt > 1) retried.push(`${id.split('-')[1]}:${a.activityType}#${a.attempt}`);
      }
    }

    const t = tables.featureGroupCommits;
    let lost = 0;
    let extra = 0;
    for (let w = 0; w < RUNS; w++) {
      const fg = await getFeatureGroup(database.db, groups[w]!);
      const commits = await database.db.select().from(t).where(eq(t.featureGroupId, fg.id));
      expect(commits.filter((c) => c.state === 'completed')).toHaveLength(1);
      expect(commits.filter((c) => c.state === 'inflight')).toEqual([]);
      const diff = await compareSnapshotWithSource(
        { db: database.db, store, cacheDir: path.join(dir, 'cache') },
        fg,
        csv,
        hourWindow(w),
      );
      expect(diff.rows).toBe(ROWS_PER_WINDOW);
      lost += diff.lost;
      extra += diff.extra;
      const runs = await database.db
        .select()
        .from(tables.pipelineRuns)
        .where(eq(tables.pipelineRuns.workflowId, workflowIds[w]!));
      expect(runs.map((r) => r.status)).toEqual(['completed']);
    }
    console.log(
      `postgres-restart: ${RUNS} runs, ${outages.length} outages, retried steps ${retried.join(' ') || 'none'}, rows lost ${lost}, rows extra ${extra}`,
    );
    expect({ lost, extra }).toEqual({ lost: 0, extra: 0 });
  }, 240_000);
});
