import fs from 'node:fs';
import { ScheduleOverlapPolicy } from '@temporalio/client';
import type { ActivityDeps } from '../../activities';
import os from 'node:os';
import path from 'node:path';
import type { DatabaseHandle } from '../../core/db';
import { OnDemandRegistry, TransformationRegistry } from '../../core/featurestore';
import { TrainerRegistry } from '../../core/ml';
import { getModelVersion } from '../../core/registry';
import type { S3ObjectStore } from '../../core/storage';
import { runAirQualityExample, type AirQualityResult } from '../../examples/air-quality/end-to-end';
import * as module from '../../examples/air-quality/features/module';
import { createFreshDatabase } from '../support/fresh-database';
import { uniqueName } from '../support/ids';
import { testIngestionDeps } from '../support/ingestion';
import { testObjectStore } from '../support/stores';
import {
  connectTestTemporal,
  createTestWorkers,
  rootMessage,
  withWorkers,
  type TemporalTestContext,
} from '../support/temporal';

// Example 2 (batch forecasting) at a small scale on the real stack, in a database of its own.
describe('example 2: daily PM2.5 forecasting, end to end', () => {
  let temporal: TemporalTestContext;
  let database: DatabaseHandle & { drop: () => Promise<void> };
  let store: S3ObjectStore;
  let result: AirQualityResult;
  let activityDeps: ActivityDeps;
  const prefix = `${uniqueName('t')}-`;
  const queues = {
    features: uniqueName('aq-features'),
    training: uniqueName('aq-training'),
    inference: uniqueName('aq-inference'),
  };

  beforeAll(async () => {
    temporal = await connectTestTemporal();
    database = await createFreshDatabase();
    store = testObjectStore();
    const transformations = new TransformationRegistry();
    for (const [name, t] of Object.entries(module.transformations)) transformations.register(name, t);
    const ingestion = testIngestionDeps(database, store, transformations);
    const shared = { ...ingestion, onDemand: new OnDemandRegistry() };
    activityDeps = {
      db: database.db,
      store,
      ingestion,
      training: { ...shared, trainers: new TrainerRegistry() },
      inference: { ...shared, scoringThreads: 1 },
    };
    const workers = await createTestWorkers(temporal, Object.values(queues), activityDeps);
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-aq-'));
    result = await withWorkers(workers, () =>
      runAirQualityExample({
        client: temporal.client,
        db: database.db,
        dataDir,
        queues,
        days: 365,
        cities: 3,
        runId: uniqueName('run'),
        schedulePrefix: prefix,
        log: (line) => fs.appendFileSync(path.join(dataDir, 'run.log'), `${line}\n`),
      }),
    ).catch((error: unknown) => {
      throw new Error(`air-quality example failed: ${rootMessage(error)}`);
    });
  }, 600_000);
  afterAll(async () => {
    await store.deletePrefix('');
    store.close();
    await database?.drop();
    await temporal.close();
  });

  it('learns PM2.5 from weather (regression) and registers it with lineage', async () => {
    expect(result.model.state).toBe('registered');
    expect(result.model.metrics.r2).toBeGreaterThan(0.5);
    const model = await getModelVersion(database.db, 'air_quality', 'champion');
    expect(model.signature.task).toBe('regression');
    expect(model.lineage.featureView).toMatchObject({ name: 'air_quality' });
  });

  it('writes one prediction per city per day for the last week, and leaves the three schedules', async () => {
    expect(result.batches).toHaveLength(7);
    for (const b of result.batches) expect(b.rows).toBe(3);
    const { rows } = await database.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM predictions');
    expect(rows[0]!.n).toBe(21);
    expect(result.schedules).toEqual(
      ['features-aq-weather', 'features-aq-pm25', 'training-air-quality-gbdt', 'batch-air-quality'].map(
        (x) => `${prefix}${x}`,
      ),
    );
    const schedule = await temporal.client.schedule.getHandle(`${prefix}batch-air-quality`).describe();
    expect(schedule.state.paused).toBe(true);
  });

  it('a backfill of the daily feature schedule makes one commit per window', async () => {
    const group = await database.pool.query<{ id: number }>(
      `SELECT id FROM feature_groups WHERE name = 'aq_weather'`,
    );
    const commits = async () =>
      (
        await database.pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM feature_group_commits WHERE feature_group_id = $1 AND state = 'completed'`,
          [group.rows[0]!.id],
        )
      ).rows[0]!.n;
    const before = await commits();
    const end = result.data.end.getTime();
    // Workers stop when withWorkers returns: the backfill gets fresh ones on the same queues.
    const workers = await createTestWorkers(temporal, Object.values(queues), activityDeps);
    await withWorkers(workers, async () => {
      await temporal.client.schedule.getHandle(`${prefix}features-aq-weather`).backfill([
        {
          start: new Date(end - 3 * 86_400_000 + 1000),
          end: new Date(end - 86_400_000 + 1000),
          overlap: ScheduleOverlapPolicy.ALLOW_ALL,
        },
      ]);
      const deadline = Date.now() + 60_000;
      while ((await commits()) < before + 2 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 250));
    });
    expect(await commits()).toBe(before + 2);
    const windows = await database.pool.query<{ start: Date; end: Date }>(
      `SELECT window_start AS start, window_end AS end FROM feature_group_commits WHERE feature_group_id = $1 AND state = 'completed' ORDER BY sequence DESC LIMIT 2`,
      [group.rows[0]!.id],
    );
    for (const w of windows.rows) expect(w.end.getTime() - w.start.getTime()).toBe(86_400_000);
  });
});
