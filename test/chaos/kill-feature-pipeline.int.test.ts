import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { loadConfig } from '../../core/config';
import { openDatabase, tables, type DatabaseHandle } from '../../core/db';
import { getFeatureGroup, registerFeatureGroup } from '../../core/featurestore';
import { TASK_QUEUES } from '../../core/pipelines';
import { objectStoreFromConfig, type S3ObjectStore } from '../../core/storage';
import type { FeaturePipelineResult } from '../../workflows';
import {
  chaosRandom,
  compareSnapshotWithSource,
  eventGroupDefinition,
  hourWindow,
  writeWindowedEvents,
  createChaosNamespace,
  killRepeatedly,
  expectRecovered,
  recoveriesOf,
  WorkerProcess,
  type ChaosNamespace,
} from '../support/chaos';
import { uniqueGroupName } from '../support/featurestore';
import { uniqueName } from '../support/ids';

const RUNS = 10;
const ROWS_PER_WINDOW = 5_000;
/** The steps that heartbeat: a kill in one is noticed within the step's 30 s heartbeat timeout. */
const STEPS = [
  'extractFeatures',
  'transformFeatures',
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
    const workflowIds: string[] = [];
    const results: Promise<FeaturePipelineResult>[] = [];
    const kills = await killRepeatedly({
      state: live,
      restart: async () => (state.worker = await restart()),
      client: ns.client,
      workflowIds: () => workflowIds,
      activityTypes: STEPS,
      kills: RUNS,
      random,
      maxDelayMs: 3000,
      beforeKill: async (w) => {
        const workflowId = uniqueName(`chaos-fp${w}`);
        const handle = await ns.client.workflow.start('featurePipeline', {
          taskQueue: TASK_QUEUES.features,
          workflowId,
          args: [
            {
              pipeline: {
                name: `chaos-fp${w}`,
                featureGroup: { name: groups[w]! },
                source: { kind: 'csv', path: csv, timeColumn: 'event_time' },
              },
              window: hourWindow(w),
            },
          ],
        });
        workflowIds.push(workflowId);
        const result = handle.result() as Promise<FeaturePipelineResult>;
        result.catch(() => undefined); // awaited below; a failure must not go unhandled meanwhile
        results.push(result);
      },
    });

    // Every kill was real: ten distinct live processes, each running some run's step when killed.
    expect(new Set(kills.map((k) => k.pid)).size).toBe(RUNS);
    expect(kills.every((k) => k.hit.length > 0)).toBe(true);
    console.log(
      `kill-feature-pipeline: kills ${kills
        .map(
          (k) =>
            `${k.delayMs}ms→${k.hit.map((h) => `${h.workflowId.split('-')[1]}:${h.activityType}`).join('+')}`,
        )
        .join(', ')}`,
    );

    const outcomes = await Promise.all(results);
    expect(outcomes.map((o) => o.rowsWritten)).toEqual(groups.map(() => ROWS_PER_WINDOW));
    // Temporal had to recover every interrupted step on a later attempt by another process.
    const recoveries = await recoveriesOf(ns.client, kills);
    expectRecovered(recoveries, kills.length);

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
      `kill-feature-pipeline: ${RUNS} runs, ${kills.length} kills, rows lost ${lost}, rows extra ${extra}`,
    );
    expect({ lost, extra }).toEqual({ lost: 0, extra: 0 });
  }, 300_000);
});
