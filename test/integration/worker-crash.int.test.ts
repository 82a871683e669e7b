import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { and, eq } from 'drizzle-orm';
import { loadConfig } from '../../core/config';
import { openDatabase, tables, type DatabaseHandle } from '../../core/db';
import { sqlPath, withDuck } from '../../core/duckdb';
import { getFeatureGroup, OfflineTable, registerFeatureGroup } from '../../core/featurestore';
import { projectRoot } from '../../core/project-root';
import { ObjectCache, objectStoreFromConfig } from '../../core/storage';
import { TASK_QUEUES } from '../../core/pipelines';
import { uniqueGroupName } from '../support/featurestore';
import { uniqueName } from '../support/ids';
import { connectTestTemporal, type TemporalTestContext } from '../support/temporal';

function startFeaturesWorker(): ChildProcess {
  return spawn(process.execPath, [path.join(projectRoot(), 'dist', 'workers', 'features.js')], {
    env: process.env,
    stdio: 'ignore',
  });
}

// The compiled features worker is SIGKILLed while its commit is in flight, then restarted: Temporal
// retries the step on the new worker, which takes over the abandoned commit. Every row lands once.
describe('features worker killed mid-ingestion', () => {
  let temporal: TemporalTestContext;
  let database: DatabaseHandle;
  const workers: ChildProcess[] = [];

  beforeAll(async () => {
    temporal = await connectTestTemporal();
    database = await openDatabase({ url: loadConfig().databaseUrl });
  });
  afterAll(async () => {
    for (const w of workers) w.kill('SIGKILL');
    await database.close();
    await temporal.close();
  });

  it('ends with every row exactly once in one commit', async () => {
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
    const rows = 400_000;
    await withDuck((duck) =>
      duck.run(
        `COPY (SELECT 'e' || i AS entity_id, TIMESTAMP '2026-01-01' + to_seconds(i) AS event_time, i * 0.5 AS value FROM range(${rows}) t(i)) TO ${sqlPath(csv)} (FORMAT csv, HEADER true)`,
      ),
    );
    workers.push(startFeaturesWorker());
    const handle = await temporal.client.workflow.start('featurePipeline', {
      taskQueue: TASK_QUEUES.features,
      workflowId: uniqueName('crash'),
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

    // Kill the worker the moment its commit is in flight (files being written, not yet visible).
    const t = tables.featureGroupCommits;
    const deadline = Date.now() + 90_000;
    let killed = false;
    while (!killed && Date.now() < deadline) {
      const inflight = await database.db
        .select({ id: t.id })
        .from(t)
        .where(and(eq(t.featureGroupId, fg.id), eq(t.state, 'inflight')));
      if (inflight.length > 0) {
        workers[0]!.kill('SIGKILL');
        killed = true;
      } else {
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    expect(killed).toBe(true);
    workers.push(startFeaturesWorker());
    await handle.result();

    const commits = await database.db.select().from(t).where(eq(t.featureGroupId, fg.id));
    expect(commits.map((c) => c.state)).toEqual(['completed']);
    const config = loadConfig();
    const store = objectStoreFromConfig(config);
    const files: string[] = [];
    for await (const o of store.list(`offline/${group}/`)) files.push(o.key);
    expect(files).toEqual((commits[0]!.files as { key: string }[]).map((f) => f.key));
    const count = await withDuck(async (duck) => {
      await new OfflineTable(
        { db: database.db, store, cache: new ObjectCache(store, { dir: path.join(dir, 'cache') }) },
        fg,
      ).registerSnapshot(duck, 's');
      return duck.one<{ n: bigint; d: bigint }>(
        'SELECT count(*) AS n, count(DISTINCT entity_id) AS d FROM s',
      );
    });
    expect(Number(count!.n)).toBe(rows);
    expect(Number(count!.d)).toBe(rows);
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
