import { ensureMaintenanceSchedule, maintenanceScheduleId } from '../../cli/schedules';
import { loadConfig } from '../../core/config';
import { openDatabase, type DatabaseHandle } from '../../core/db';
import { DuckSession } from '../../core/duckdb';
import { OfflineTable, type IngestionDeps } from '../../core/featurestore';
import type { MaintenanceReport } from '../../core/featurestore/maintenance/maintain';
import type { S3ObjectStore } from '../../core/storage';
import { createCardGroup, loadBatch, rowsOf } from '../support/featurestore';
import { uniqueName } from '../support/ids';
import { testIngestionDeps } from '../support/ingestion';
import { testObjectStore } from '../support/stores';
import {
  connectTestTemporal,
  createTestWorkers,
  withWorkers,
  type TemporalTestContext,
} from '../support/temporal';

// The maintenance workflow on the real Temporal server, started by its schedule: it compacts a group
// with many small commits by the policy and never changes what any snapshot returns.
describe('featureGroupMaintenance workflow and schedule', () => {
  let temporal: TemporalTestContext;
  let database: DatabaseHandle;
  let store: S3ObjectStore;
  let deps: IngestionDeps;
  let duck: DuckSession;

  beforeAll(async () => {
    temporal = await connectTestTemporal();
    database = await openDatabase({ url: loadConfig().databaseUrl });
    store = testObjectStore();
    deps = testIngestionDeps(database, store);
    duck = await DuckSession.open({ threads: 1 });
  });
  afterAll(async () => {
    duck.close();
    store.close();
    await database.close();
    await temporal.close();
  });

  it('a scheduled pass compacts 12 small commits into one file; every snapshot reads the same rows before and after', async () => {
    const group = await createCardGroup(database.db);
    const table = new OfflineTable(deps, group);
    for (let i = 0; i < 12; i++) {
      await loadBatch(duck, 'b', [
        [`c${i % 3}`, `2026-01-01 ${String(i).padStart(2, '0')}:00:00`, i, 'x'],
        ['c0', '2026-01-01 00:00:00', 100 + i, 'rewritten'], // the same record key, updated each time
      ]);
      await table.write(duck, 'b', { operation: 'upsert', idempotencyKey: `w${i}` });
    }
    const before = await table.timeline();
    const snapshots = async () => {
      const out: unknown[][][] = [];
      for (const c of before) {
        await table.registerSnapshot(duck, 's', { commitId: c.id });
        out.push(await rowsOf(duck, 's'));
      }
      return out;
    };
    const expected = await snapshots();
    expect(await table.liveFileCount()).toBe(12);

    const taskQueue = uniqueName('fti-maintenance');
    const target = { name: group.spec.name, version: group.spec.version };
    const { scheduleId, created } = await ensureMaintenanceSchedule(temporal.client, target, {
      cadence: { everySeconds: 3600 },
      policy: { minFiles: 10 },
      taskQueue,
      paused: true,
    });
    expect(created).toBe(true);
    expect(scheduleId).toBe(maintenanceScheduleId(group.spec.name, group.spec.version));
    // Calling it again (every `fg create` does) updates instead of failing.
    expect(
      (
        await ensureMaintenanceSchedule(temporal.client, target, {
          cadence: { everySeconds: 1800 },
          policy: { minFiles: 10 },
          taskQueue,
          paused: true,
        })
      ).created,
    ).toBe(false);
    const handle = temporal.client.schedule.getHandle(scheduleId);
    const [worker] = await createTestWorkers(temporal, [taskQueue], {
      db: database.db,
      store,
      ingestion: deps,
    });
    try {
      const report = await withWorkers([worker!], async () => {
        await handle.trigger();
        for (let i = 0; i < 120; i++) {
          const recent = (await handle.describe()).info.recentActions;
          const started = recent[0]?.action;
          if (started) {
            return temporal.client.workflow
              .getHandle(started.workflow.workflowId, started.workflow.firstExecutionRunId)
              .result() as Promise<MaintenanceReport>;
          }
          await new Promise((r) => setTimeout(r, 500));
        }
        throw new Error('the schedule did not start a maintenance run');
      });
      expect(report).toMatchObject({
        liveFilesBefore: 12,
        liveFilesAfter: 1,
        filesCompacted: 12,
        abortedCommits: 0,
      });
      expect(await table.liveFileCount()).toBe(1);
      expect(await snapshots()).toEqual(expected);
      await table.registerSnapshot(duck, 'head');
      expect(await rowsOf(duck, 'head')).toEqual(expected.at(-1));
    } finally {
      await handle.delete();
    }
  }, 180_000);

  it('a partitioned group’s pass is split into compaction commits of 16 partitions made side by side; snapshots unchanged', async () => {
    const group = await createCardGroup(database.db, { partitioning: { period: 'day' } });
    const table = new OfflineTable(deps, group);
    // 20 days, two small commits each: 40 files in 20 partitions.
    for (let day = 1; day <= 20; day++)
      for (const hour of ['03', '15']) {
        const date = `2026-02-${String(day).padStart(2, '0')}`;
        await loadBatch(duck, 'b', [
          [`c${day % 4}`, `${date} ${hour}:00:00`, day, hour],
          ['c9', `${date} 00:00:00`, day * 100 + Number(hour), 'rewritten'],
        ]);
        await table.write(duck, 'b', { operation: 'upsert', idempotencyKey: `${date}T${hour}` });
      }
    expect(await table.liveFileCount()).toBe(40);
    const head = (await table.timeline()).at(-1)!;
    await table.registerSnapshot(duck, 'before');
    const expected = await rowsOf(duck, 'before');
    const taskQueue = uniqueName('fti-maintenance-split');
    // One worker here (the spread over worker processes is tested in scale-out.int.test.ts): the
    // compaction commits still run as separate activities, side by side.
    const workers = await createTestWorkers(temporal, [taskQueue], {
      db: database.db,
      store,
      ingestion: deps,
    });
    const report: MaintenanceReport = await withWorkers(workers, () =>
      temporal.client.workflow.execute('featureGroupMaintenance', {
        taskQueue,
        workflowId: uniqueName('maintenance-split'),
        args: [{ featureGroup: { name: group.spec.name, version: group.spec.version } }],
      }),
    );
    expect(report).toMatchObject({ liveFilesBefore: 40, liveFilesAfter: 20, filesCompacted: 40 });
    expect(report.compactionCommitIds).toHaveLength(2);
    const compactions = (await table.timeline()).filter((c) => c.operation === 'compaction');
    expect(compactions.map((c) => c.files.length).sort((a, b) => a - b)).toEqual([4, 16]);
    expect(new Set(compactions.flatMap((c) => c.files.map((f) => f.partition))).size).toBe(20);
    await table.registerSnapshot(duck, 'after');
    expect(await rowsOf(duck, 'after')).toEqual(expected);
    await table.registerSnapshot(duck, 'old', { commitId: head.id });
    expect(await rowsOf(duck, 'old')).toEqual(expected);
  }, 180_000);
});
