import { and, eq } from 'drizzle-orm';
import { backfillSchedule, createFeatureSchedule } from '../../cli/schedules';
import { loadConfig } from '../../core/config';
import { openDatabase, tables, type DatabaseHandle } from '../../core/db';
import { getFeatureGroup, registerFeatureGroup, type IngestionDeps } from '../../core/featurestore';
import type { S3ObjectStore } from '../../core/storage';
import { uniqueGroupName } from '../support/featurestore';
import { uniqueName } from '../support/ids';
import { testIngestionDeps, writeCsv } from '../support/ingestion';
import { testObjectStore } from '../support/stores';
import {
  connectTestTemporal,
  createTestWorkers,
  withWorkers,
  type TemporalTestContext,
} from '../support/temporal';

// A Temporal Schedule backfilled over a range on the real server: one commit per window, and a
// second backfill of the same range adds none.
describe('feature pipeline schedules and backfills', () => {
  let temporal: TemporalTestContext;
  let database: DatabaseHandle;
  let store: S3ObjectStore;
  let deps: IngestionDeps;

  beforeAll(async () => {
    temporal = await connectTestTemporal();
    database = await openDatabase({ url: loadConfig().databaseUrl });
    store = testObjectStore();
    deps = testIngestionDeps(database, store);
  });
  afterAll(async () => {
    await store.deletePrefix('');
    store.close();
    await database.close();
    await temporal.close();
  });

  async function completedCommits(featureGroupId: number) {
    const t = tables.featureGroupCommits;
    return database.db
      .select()
      .from(t)
      .where(and(eq(t.featureGroupId, featureGroupId), eq(t.state, 'completed')));
  }

  async function waitFor<T>(
    fn: () => Promise<T>,
    done: (value: T) => boolean,
    timeoutMs = 90_000,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await fn();
      if (done(value) || Date.now() > deadline) return value;
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  it('backfilling three hourly windows yields exactly three commits, even when repeated', async () => {
    const group = uniqueGroupName('hourly');
    await registerFeatureGroup(database.db, {
      name: group,
      primaryKey: ['card_id'],
      eventTime: 'event_time',
      features: [
        { name: 'card_id', type: 'string' },
        { name: 'event_time', type: 'timestamp' },
        { name: 'amount', type: 'double' },
      ],
    });
    const fg = await getFeatureGroup(database.db, group);
    const csv = writeCsv('card_id,event_time,amount', [
      'a,2026-03-01T00:10:00Z,1',
      'b,2026-03-01T00:50:00Z,2',
      'a,2026-03-01T01:20:00Z,3',
      'a,2026-03-01T02:05:00Z,4',
      'c,2026-03-01T02:59:59Z,5',
      'z,2026-03-01T03:00:00Z,6', // outside the backfilled range
    ]);
    const taskQueue = uniqueName('fti-features');
    const name = uniqueName('hourly');
    const handle = await createFeatureSchedule(
      temporal.client,
      { name, featureGroup: { name: group }, source: { kind: 'csv', path: csv, timeColumn: 'event_time' } },
      { cadence: { everySeconds: 3600 }, taskQueue, paused: true },
    );
    const [worker] = await createTestWorkers(temporal, [taskQueue], {
      db: database.db,
      store,
      ingestion: deps,
    });
    try {
      await withWorkers([worker!], async () => {
        // Nominal times 01:00, 02:00, 03:00 → windows [00,01), [01,02), [02,03).
        await backfillSchedule(handle, new Date('2026-03-01T00:30:00Z'), new Date('2026-03-01T03:00:00Z'));
        const commits = await waitFor(
          () => completedCommits(fg.id),
          (c) => c.length >= 3,
        );
        expect(
          commits
            .map((c) => [c.windowStart?.toISOString(), c.windowEnd?.toISOString(), c.rowsInserted])
            .sort(),
        ).toEqual([
          ['2026-03-01T00:00:00.000Z', '2026-03-01T01:00:00.000Z', 2],
          ['2026-03-01T01:00:00.000Z', '2026-03-01T02:00:00.000Z', 1],
          ['2026-03-01T02:00:00.000Z', '2026-03-01T03:00:00.000Z', 2],
        ]);
        // Let the first runs finish entirely (a still-running run's workflow id cannot start again).
        const completedRuns = () =>
          database.db
            .select()
            .from(tables.pipelineRuns)
            .where(and(eq(tables.pipelineRuns.name, name), eq(tables.pipelineRuns.status, 'completed')));
        expect(await waitFor(completedRuns, (r) => r.length >= 3)).toHaveLength(3);
        await backfillSchedule(handle, new Date('2026-03-01T00:30:00Z'), new Date('2026-03-01T03:00:00Z'));
        const runs = await waitFor(
          () =>
            database.db
              .select()
              .from(tables.pipelineRuns)
              .where(and(eq(tables.pipelineRuns.name, name), eq(tables.pipelineRuns.status, 'completed'))),
          (r) => r.length >= 6,
        );
        expect(runs).toHaveLength(6);
        expect(await completedCommits(fg.id)).toHaveLength(3);
      });
    } finally {
      await handle.delete();
    }
  }, 300_000);
});
