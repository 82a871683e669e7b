import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { loadConfig } from '../config';
import { openDatabase, type DatabaseHandle } from '../db';
import { withDuck, sqlPath } from '../duckdb';
import type { S3ObjectStore } from '../storage';
import { testObjectStore } from '../../test/support/stores';
import { uniqueName } from '../../test/support/ids';
import { PredictionLogWriter, type PredictionLogEntry } from './prediction-log';

// The prediction log against the real PostgreSQL and S3: nothing is dropped silently.
describe('prediction log', () => {
  let database: DatabaseHandle;
  let store: S3ObjectStore;
  const scratchDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-plog-'));
  const deployment = uniqueName('plog');
  const entry = (i: number): PredictionLogEntry => ({
    deployment,
    deploymentVersion: 1,
    variant: 'main',
    modelVersion: 3,
    shadow: false,
    requestId: `r${i}`,
    entity: { card_id: `c${i}` },
    features: { amount: { value: i, status: 'passed' } },
    prediction: { probabilities: { true: 0.5 } },
    latencyMs: 1,
  });
  const logged = async () =>
    (
      await database.pool.query(
        'SELECT request_id, features FROM prediction_logs WHERE deployment = $1 ORDER BY id',
        [deployment],
      )
    ).rows as { request_id: string; features: unknown }[];
  /** Rows of every spill file in the store. */
  const spilledRows = async () => {
    let rows: { request_id: string }[] = [];
    for await (const { key } of store.list('prediction-logs/spill/')) {
      const file = path.join(scratchDir, `${path.basename(key)}`);
      await store.download(key, file);
      rows = rows.concat(
        await withDuck((d) =>
          d.all<{ request_id: string }>(`SELECT request_id FROM read_parquet(${sqlPath(file)})`),
        ),
      );
    }
    return rows.map((r) => r.request_id).sort();
  };

  beforeAll(async () => {
    database = await openDatabase({ url: loadConfig().databaseUrl });
    store = testObjectStore();
  });
  afterAll(async () => {
    await database.pool.query('DELETE FROM prediction_logs WHERE deployment = $1', [deployment]);
    await store.deletePrefix('');
    store.close();
    await database.close();
    fs.rmSync(scratchDir, { recursive: true, force: true });
  });

  it('spills to S3 Parquet when Postgres refuses a batch, and the overflow of a full buffer, counting every outcome', async () => {
    // A database that does not exist: every INSERT fails, as in an outage.
    const url = new URL(loadConfig().databaseUrl);
    url.pathname = '/no_such_database_for_logs';
    const refusing = new pg.Pool({ connectionString: url.toString(), max: 1 });
    refusing.on('error', () => undefined);
    const outcomes: Record<string, number> = {};
    const writer = new PredictionLogWriter(refusing, {
      flushMs: 60_000,
      maxBuffer: 10,
      spill: { store, scratchDir },
      onOutcome: (o, n) => (outcomes[o] = (outcomes[o] ?? 0) + n),
    });
    for (let i = 0; i < 25; i++) writer.log(entry(i));
    await writer.close();
    await refusing.end();
    expect({ written: writer.written, spilled: writer.spilled, dropped: writer.dropped }).toEqual({
      written: 0,
      spilled: 25,
      dropped: 0,
    });
    expect(outcomes).toEqual({ spilled: 25 });
    expect(await spilledRows()).toEqual(Array.from({ length: 25 }, (_, i) => `r${i}`).sort());
  });

  it('writes to Postgres, optionally without feature values, and deletes rows past their retention', async () => {
    const writer = new PredictionLogWriter(database.pool, { flushMs: 60_000, logFeatures: false });
    for (let i = 100; i < 105; i++) writer.log(entry(i));
    await writer.close();
    expect(writer.written).toBe(5);
    const rows = await logged();
    expect(rows.map((r) => r.request_id)).toEqual(['r100', 'r101', 'r102', 'r103', 'r104']);
    expect(rows.every((r) => JSON.stringify(r.features) === '{}')).toBe(true);
    await database.pool.query(
      `UPDATE prediction_logs SET created_at = now() - interval '40 days' WHERE deployment = $1 AND request_id IN ('r100', 'r101')`,
      [deployment],
    );
    const pruner = new PredictionLogWriter(database.pool, { retentionDays: 30 });
    const deleted = await pruner.prune();
    await pruner.close();
    expect(deleted).toBeGreaterThanOrEqual(2);
    expect((await logged()).map((r) => r.request_id)).toEqual(['r102', 'r103', 'r104']);
  });

  it('counts an entry that cannot be serialized as dropped and writes the others', async () => {
    const writer = new PredictionLogWriter(database.pool, { flushMs: 60_000 });
    writer.log(entry(200));
    writer.log({ ...entry(201), features: { big: 1n } as unknown as Record<string, number> });
    writer.log(entry(202));
    await writer.close();
    expect(writer.written).toBe(2);
    expect(writer.dropped).toBe(1);
    expect((await logged()).map((r) => r.request_id)).toEqual(expect.arrayContaining(['r200', 'r202']));
    expect((await logged()).map((r) => r.request_id)).not.toContain('r201');
  });
});
