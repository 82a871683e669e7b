import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { and, eq } from 'drizzle-orm';
import { loadConfig } from '../../core/config';
import { openDatabase, tables, type DatabaseHandle } from '../../core/db';
import { sqlPath, withDuck } from '../../core/duckdb';
import { getFeatureGroup, OfflineTable, registerFeatureGroup } from '../../core/featurestore';
import { ObjectCache, objectStoreFromConfig } from '../../core/storage';
import { TASK_QUEUES } from '../../core/pipelines';
import {
  activitiesRunningOn,
  completedActivities,
  createChaosNamespace,
  sleep,
  WorkerProcess,
  type ChaosNamespace,
} from '../support/chaos';
import { uniqueGroupName } from '../support/featurestore';
import { uniqueName } from '../support/ids';

// The compiled features worker is SIGKILLed while its commit is in flight, then restarted: Temporal
// retries the step on the new worker, which takes over the abandoned commit. Every row lands once.
// The workflow runs in a namespace of this file's own, so the worker this test kills is the only
// one that can have been running the commit (asserted through the identity Temporal records).
describe('features worker killed mid-ingestion', () => {
  let ns: ChaosNamespace;
  let database: DatabaseHandle;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    ns = await createChaosNamespace('crash');
    database = await openDatabase({ url: loadConfig().databaseUrl });
  });
  afterAll(async () => {
    for (const w of workers) await w.stop();
    await database.close();
    await ns.close();
  });

  it('retries the killed commit on the new worker and ends with every row exactly once in one commit', async () => {
    const group = uniqueGroupName('crash');
    await registerFeatureGroup(database.db, {
      name: group,
      primaryKey: ['entity_id'],
      eventTime: 'event_time',
      features: [
        { name: 'entity_id', type: 'string' },
        { name: 'event_time', type: 'timestamp' },
        { name: 'value', type: 'double' },
      ],
      online: { enabled: true },
    });
    const fg = await getFeatureGroup(database.db, group);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-crash-'));
    const csv = path.join(dir, 'rows.csv');
    const rows = 200_000;
    await withDuck((duck) =>
      duck.run(
        `COPY (SELECT 'e' || i AS entity_id, TIMESTAMP '2026-01-01' + to_seconds(i) AS event_time, i * 0.5 AS value FROM range(${rows}) t(i)) TO ${sqlPath(csv)} (FORMAT csv, HEADER true)`,
      ),
    );
    workers.push(await WorkerProcess.start('features', ns.env, { logDir: dir }));
    const workflowId = uniqueName('crash');
    const handle = await ns.client.workflow.start('featurePipeline', {
      taskQueue: TASK_QUEUES.features,
      workflowId,
      args: [
        {
          pipeline: {
            name: uniqueName('crash'),
            featureGroup: { name: group },
            source: { kind: 'csv', path: csv },
          },
        },
      ],
    });

    // Kill the worker the moment its commit is in flight: Temporal reports ingestFeatures (extract
    // through commit) running on this very process, and the commit row is inflight (files being
    // written, not yet visible).
    const t = tables.featureGroupCommits;
    const killed = workers[0]!;
    const deadline = Date.now() + 90_000;
    let hit = false;
    while (!hit && Date.now() < deadline) {
      const running = await activitiesRunningOn(ns.client, [workflowId], killed.identity);
      const inflight = await database.db
        .select({ id: t.id })
        .from(t)
        .where(and(eq(t.featureGroupId, fg.id), eq(t.state, 'inflight')));
      if (running.some((a) => a.activityType === 'ingestFeatures') && inflight.length > 0) {
        await killed.kill9();
        hit = true;
      } else {
        await sleep(10);
      }
    }
    expect(hit).toBe(true);
    const replacement = await WorkerProcess.start('features', ns.env, { logDir: dir });
    workers.push(replacement);
    expect(replacement.pid).not.toBe(killed.pid);
    await handle.result();

    // The step that commits ran twice: first on the killed process, finally on its replacement.
    const commitStep = (await completedActivities(handle)).find((a) => a.activityType === 'ingestFeatures');
    expect(commitStep?.attempt).toBeGreaterThanOrEqual(2);
    expect(commitStep?.workerIdentity).toBe(replacement.identity);

    const commits = await database.db.select().from(t).where(eq(t.featureGroupId, fg.id));
    expect(commits.map((c) => c.state)).toEqual(['completed']);
    const config = loadConfig();
    const store = objectStoreFromConfig(config);
    const files: string[] = [];
    for await (const o of store.list(`offline/${group}/`)) files.push(o.key);
    expect(files.sort()).toEqual((commits[0]!.files as { key: string }[]).map((f) => f.key).sort());
    const count = await withDuck(async (duck) => {
      await new OfflineTable(
        { db: database.db, store, cache: new ObjectCache(store, { dir: path.join(dir, 'cache') }) },
        fg,
      ).registerSnapshot(duck, 's');
      return duck.one<{ n: bigint; d: bigint; v: number }>(
        'SELECT count(*) AS n, count(DISTINCT entity_id) AS d, sum(value) AS v FROM s',
      );
    });
    expect(Number(count!.n)).toBe(rows);
    expect(Number(count!.d)).toBe(rows);
    expect(Number(count!.v)).toBe((0.5 * rows * (rows - 1)) / 2);
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
