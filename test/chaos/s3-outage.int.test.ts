import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { loadConfig } from '../../core/config';
import { openDatabase, tables, type DatabaseHandle } from '../../core/db';
import { getFeatureGroup, registerFeatureGroup } from '../../core/featurestore';
import { TASK_QUEUES } from '../../core/pipelines';
import type { S3ObjectStore } from '../../core/storage';
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
import { startPrivateS3, type PrivateS3 } from '../support/private-s3';

const RUNS = 3;
const ROWS_PER_WINDOW = 20_000;
const OUTAGE_MS = 30_000;
const STEPS = [
  'extractFeatures',
  'transformFeatures',
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
    const workflowIds: string[] = [];
    const results: Promise<FeaturePipelineResult>[] = [];
    for (let w = 0; w < RUNS; w++) {
      const workflowId = uniqueName(`chaos-s3${w}`);
      const handle = await ns.client.workflow.start('featurePipeline', {
        taskQueue: TASK_QUEUES.features,
        workflowId,
        args: [
          {
            pipeline: {
              name: `chaos-s3${w}`,
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
    }

    // A random point: a random delay, then the first moment a step runs on the worker.
    await sleep(Math.floor(random() * 3000));
    let hit: string[] = [];
    while (hit.length === 0) {
      hit = (await activitiesRunningOn(ns.client, workflowIds, worker.identity))
        .filter((a) => STEPS.includes(a.activityType))
        .map((a) => `${a.workflowId.split('-')[1]}:${a.activityType}`);
      if (hit.length === 0) await sleep(25);
    }
    await s3.stop();
    const downAt = Date.now();
    expect(await s3.reachable()).toBe(false);
    await sleep(OUTAGE_MS / 2);
    expect(await s3.reachable()).toBe(false);
    await sleep(OUTAGE_MS - (Date.now() - downAt));
    await s3.start();
    expect(await s3.reachable()).toBe(true);
    console.log(`s3-outage: stopped ${Date.now() - downAt} ms while running ${hit.join(' ')}`);

    const outcomes = await Promise.all(results);
    expect(outcomes.map((o) => o.rowsWritten)).toEqual(groups.map(() => ROWS_PER_WINDOW));
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
    }
    console.log(
      `s3-outage: ${RUNS} runs, 1 outage of ${OUTAGE_MS / 1000} s, retried steps ${retried.join(' ') || 'none'}, rows lost ${lost}, rows extra ${extra}`,
    );
    expect({ lost, extra }).toEqual({ lost: 0, extra: 0 });
  }, 240_000);
});
