import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { maintenanceScheduleId } from '../../cli/schedules';
import { loadConfig } from '../../core/config';
import { openDatabase, type DatabaseHandle } from '../../core/db';
import { DuckSession } from '../../core/duckdb';
import { getFeatureGroup, OfflineTable, type IngestionDeps } from '../../core/featurestore';
import type { S3ObjectStore } from '../../core/storage';
import { runCli, runCliAsync } from '../support/cli';
import { loadBatch, uniqueGroupName } from '../support/featurestore';
import { uniqueName } from '../support/ids';
import { testIngestionDeps } from '../support/ingestion';
import { testObjectStore } from '../support/stores';
import {
  connectTestTemporal,
  createTestWorkers,
  withWorkers,
  type TemporalTestContext,
} from '../support/temporal';

// `fti fg create` schedules maintenance; `fti fg maintenance run` compacts through a real worker.
describe('fti fg maintenance', () => {
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

  it('fg create registers the group with an hourly maintenance schedule; maintenance run compacts it and prints the pass', async () => {
    const name = uniqueGroupName('maint');
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'fti-fg-')), 'fg.json');
    fs.writeFileSync(
      file,
      JSON.stringify({
        name,
        primaryKey: ['card_id'],
        eventTime: 'event_time',
        features: [
          { name: 'card_id', type: 'string' },
          { name: 'event_time', type: 'timestamp' },
          { name: 'amount', type: 'double' },
          { name: 'category', type: 'string' },
        ],
      }),
    );
    const created = runCli(['fg', 'create', file, '--json']);
    expect(created.stderr).toBe('');
    const [result] = JSON.parse(created.stdout) as { maintenanceSchedule: string }[];
    const scheduleId = maintenanceScheduleId(name, 1);
    expect(result!.maintenanceSchedule).toBe(`schedule ${scheduleId}`);
    const schedule = temporal.client.schedule.getHandle(scheduleId);
    try {
      const described = await schedule.describe();
      expect(described.action).toMatchObject({
        workflowType: 'featureGroupMaintenance',
        taskQueue: 'fti-features',
      });
      expect(described.spec.intervals?.[0]?.every).toBe(3_600_000);

      const table = new OfflineTable(deps, await getFeatureGroup(database.db, name));
      for (let i = 0; i < 3; i++) {
        await loadBatch(duck, 'b', [[`c${i}`, `2026-01-01 0${i}:00:00`, i, 'x']]);
        await table.write(duck, 'b', { operation: 'upsert', idempotencyKey: `w${i}` });
      }
      const taskQueue = uniqueName('fti-maintenance');
      const [worker] = await createTestWorkers(temporal, [taskQueue], {
        db: database.db,
        store,
        ingestion: deps,
      });
      const run = await withWorkers([worker!], () =>
        runCliAsync([
          'fg',
          'maintenance',
          'run',
          name,
          '--min-files',
          '2',
          '--task-queue',
          taskQueue,
          '--json',
        ]),
      );
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({
        liveFilesBefore: 3,
        liveFilesAfter: 1,
        filesCompacted: 3,
      });

      const bad = runCli(['fg', 'maintenance', 'schedule', name, '--min-files', 'many']);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toContain('--min-files must be a positive integer');
    } finally {
      await schedule.delete();
    }
  }, 180_000);
});
