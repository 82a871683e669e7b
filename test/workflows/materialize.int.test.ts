import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../core/config';
import { getFeatureGroup, registerFeatureGroup } from '../../core/featurestore';
import { openDatabase, type DatabaseHandle } from '../../core/db';
import type { S3ObjectStore } from '../../core/storage';
import { runCliAsync } from '../support/cli';
import { commitRows, createGroup, testViewDeps, type ViewTestDeps } from '../support/featureviews';
import { uniqueGroupName } from '../support/featurestore';
import { uniqueName } from '../support/ids';
import { testObjectStore } from '../support/stores';
import {
  connectTestTemporal,
  createTestWorkers,
  withWorkers,
  type TemporalTestContext,
} from '../support/temporal';

// fti fg materialize through a real features worker: offline history written without going online
// (a backfill done before online serving was enabled) reaches the online store.
describe('fti fg materialize', () => {
  let temporal: TemporalTestContext;
  let database: DatabaseHandle;
  let store: S3ObjectStore;
  let deps: ViewTestDeps;
  const taskQueue = uniqueName('fti-materialize');

  beforeAll(async () => {
    temporal = await connectTestTemporal();
    database = await openDatabase({ url: loadConfig().databaseUrl });
    store = testObjectStore();
    deps = testViewDeps(database, store);
  });
  afterAll(async () => {
    await store.deletePrefix('');
    store.close();
    await database.close();
    await temporal.close();
  });

  const features = [
    { name: 'card_id', type: 'string' as const },
    { name: 'event_time', type: 'timestamp' as const },
    { name: 'amount_sum_1d', type: 'double' as const },
  ];
  const at = (day: number, hour = 0) => new Date(Date.UTC(2026, 10, day, hour));

  it('loads the latest row per key in the window; keeps newer online rows; a re-run leaves the same state; refuses a group not served online', async () => {
    const group = await createGroup(deps, {
      prefix: 'mat',
      primaryKey: ['card_id'],
      eventTime: 'event_time',
      features,
      online: { enabled: true },
    });
    await commitRows(
      deps,
      group,
      [
        { card_id: 'a', event_time: at(1), amount_sum_1d: 1 },
        { card_id: 'a', event_time: at(2), amount_sum_1d: 2 },
        { card_id: 'a', event_time: at(5), amount_sum_1d: 5 }, // after the window
        { card_id: 'b', event_time: at(1, 12), amount_sum_1d: 10 },
        { card_id: 'c', event_time: at(2), amount_sum_1d: 20 },
        { card_id: 'old', event_time: new Date(Date.UTC(2026, 9, 1)), amount_sum_1d: 99 }, // before it
      ],
      'upsert',
      { online: false },
    );
    expect(await deps.online.count(group.spec)).toBe(0);
    // A streaming write newer than the history: materialization must not roll it back.
    await deps.online.writeRows(group.spec, [{ card_id: 'c', event_time: at(3), amount_sum_1d: 30 }]);

    const [worker] = await createTestWorkers(temporal, [taskQueue], {
      db: database.db,
      store,
      ingestion: deps,
    });
    const cli = (args: string[]) =>
      runCliAsync(['fg', 'materialize', group.spec.name, '--task-queue', taskQueue, '--json', ...args]);
    const window = ['--start', at(1).toISOString(), '--end', at(4).toISOString()];
    const [first, again] = await withWorkers([worker!], async () => [await cli(window), await cli(window)]);
    expect(first.stderr).toBe('');
    expect(JSON.parse(first.stdout)).toMatchObject({
      offered: 3,
      applied: 2,
      window: { start: at(1).toISOString() },
    });
    // A re-run rewrites the same rows (ties on event time apply): the state below is unchanged.
    expect(JSON.parse(again.stdout)).toMatchObject({ offered: 3, applied: 2 });
    const rows = await deps.online.read(group.spec, [
      { card_id: 'a' },
      { card_id: 'b' },
      { card_id: 'c' },
      { card_id: 'old' },
    ]);
    expect(rows.map((r) => [r.status, r.values?.amount_sum_1d ?? null])).toEqual([
      ['present', 2],
      ['present', 10],
      ['present', 30],
      ['missing', null],
    ]);

    // Bad input is refused before anything runs, naming what to fix.
    const offline = await createGroup(deps, {
      prefix: 'matoff',
      primaryKey: ['card_id'],
      eventTime: 'event_time',
      features,
    });
    const refused = await runCliAsync(['fg', 'materialize', offline.spec.name, '--task-queue', taskQueue]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('is not served online');
    const backwards = await runCliAsync([
      'fg',
      'materialize',
      group.spec.name,
      '--start',
      at(4).toISOString(),
      '--end',
      at(1).toISOString(),
    ]);
    expect(backwards.code).not.toBe(0);
    expect(backwards.stderr).toContain('is not before --end');
  }, 120_000);

  it('fti fg create starts materialization when it turns online serving on over existing history', async () => {
    const name = uniqueGroupName('late_online');
    const definition = { name, primaryKey: ['card_id'], eventTime: 'event_time', features };
    const { record } = await registerFeatureGroup(database.db, definition);
    await commitRows(deps, record, [
      { card_id: 'a', event_time: at(1), amount_sum_1d: 1 },
      { card_id: 'a', event_time: at(2), amount_sum_1d: 2 },
      { card_id: 'b', event_time: at(1), amount_sum_1d: 7 },
    ]);
    const file = path.join(os.tmpdir(), `${name}.fg.json`);
    fs.writeFileSync(file, JSON.stringify({ ...definition, online: { enabled: true } }));
    const [worker] = await createTestWorkers(temporal, [taskQueue], {
      db: database.db,
      store,
      ingestion: deps,
    });
    const online = await withWorkers([worker!], async () => {
      const created = await runCliAsync([
        'fg',
        'create',
        file,
        '--task-queue',
        taskQueue,
        '--no-maintenance',
        '--json',
      ]);
      expect(created.stderr).toBe('');
      const [result] = JSON.parse(created.stdout) as {
        outcome: string;
        materialization: { workflowId: string };
      }[];
      expect(result!.outcome).toBe('unchanged');
      await temporal.client.workflow.getHandle(result!.materialization.workflowId).result();
      // Registering it again changes nothing and starts nothing.
      const again = await runCliAsync([
        'fg',
        'create',
        file,
        '--task-queue',
        taskQueue,
        '--no-maintenance',
        '--json',
      ]);
      expect((JSON.parse(again.stdout) as { materialization: unknown }[])[0]!.materialization).toBeNull();
      return deps.online.read((await getFeatureGroup(database.db, name)).spec, [
        { card_id: 'a' },
        { card_id: 'b' },
      ]);
    });
    fs.rmSync(file, { force: true });
    expect(online.map((r) => r.values?.amount_sum_1d)).toEqual([2, 7]);
  }, 120_000);
});
