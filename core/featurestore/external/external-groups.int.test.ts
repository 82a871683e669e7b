import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { loadConfig } from '../../config';
import { openDatabase, type DatabaseHandle } from '../../db';
import { sqlPath, withDuck } from '../../duckdb';
import type { S3ObjectStore } from '../../storage';
import { commitRows, createGroup, testViewDeps, type ViewTestDeps } from '../../../test/support/featureviews';
import { uniqueGroupName } from '../../../test/support/featurestore';
import { testObjectStore } from '../../../test/support/stores';
import { assertMonitorableGroup } from '../../monitoring/feature-group-monitor';
import { groupStatistics } from '../commit-statistics';
import { assertWritableGroup } from '../errors';
import { getFeatureGroup } from '../feature-group-repository';
import { materializeOnline } from '../materialize';
import { OfflineTable } from '../offline/offline-table';
import { registerFeatureGroupChecked } from '../register-group';
import {
  createFeatureView,
  createTrainingData,
  getBatchData,
  readTrainingData,
  recreateTrainingData,
} from '../views';

// External feature groups read in place: a Postgres table and a Parquet prefix in S3 joined
// point-in-time with a stored label group, summarized, and materialized online — with no copy in
// the offline store.
describe('external feature groups: a Postgres table and an S3 Parquet prefix read in place', () => {
  let database: DatabaseHandle;
  let store: S3ObjectStore;
  let deps: ViewTestDeps;
  let warehouse: pg.Client;
  const schema = uniqueGroupName('warehouse');
  const urlEnv = 'FTI_TEST_WAREHOUSE_URL';
  const at = (day: number, hour = 0) => new Date(Date.UTC(2026, 9, day, hour));
  let profiles: string;
  let merchants: string;
  let labels: string;
  let scratch: string;

  beforeAll(async () => {
    database = await openDatabase({ url: loadConfig().databaseUrl });
    store = testObjectStore();
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-external-'));
    deps = { ...testViewDeps(database, store), scratchDir: scratch };
    // The "warehouse": a schema of the test database, reached through its own URL variable.
    process.env[urlEnv] = loadConfig().databaseUrl;
    warehouse = new pg.Client({ connectionString: loadConfig().databaseUrl });
    await warehouse.connect();
    await warehouse.query(`CREATE SCHEMA ${schema}`);
    await warehouse.query(
      `CREATE TABLE ${schema}.card_profile (card_id text NOT NULL, updated_at timestamptz NOT NULL, credit_limit double precision, segment text)`,
    );
    await warehouse.query(
      `INSERT INTO ${schema}.card_profile VALUES
        ('c1', $1, 1000, 'retail'), ('c1', $2, 5000, 'premium'), ('c2', $1, 300, 'student')`,
      [at(1), at(10)],
    );
    // The "lake": Parquet files written by pandas-like tools, with zone-aware times and nullable ints.
    await withDuck(async (duck) => {
      for (const [i, rows] of [
        [
          "('m1', TIMESTAMPTZ '2026-10-01 00:00:00+02', 12::INTEGER)",
          "('m2', TIMESTAMPTZ '2026-10-02 00:00:00Z', NULL::INTEGER)",
        ],
        ["('m1', TIMESTAMPTZ '2026-10-08 00:00:00Z', 40::INTEGER)"],
      ].entries()) {
        const file = path.join(scratch, `part-${i}.parquet`);
        await duck.run(
          `COPY (SELECT * FROM (VALUES ${rows.join(', ')}) t(merchant_id, as_of, chargebacks_30d)) TO ${sqlPath(file)} (FORMAT parquet)`,
        );
        await store.putFile(`lake/merchant_risk/part-${i}.parquet`, file);
      }
    });
    profiles = uniqueGroupName('card_profile');
    merchants = uniqueGroupName('merchant_risk');
    await registerFeatureGroupChecked(deps, {
      name: profiles,
      primaryKey: ['card_id'],
      eventTime: 'updated_at',
      features: [
        { name: 'card_id', type: 'string' },
        { name: 'updated_at', type: 'timestamp' },
        { name: 'credit_limit', type: 'double' },
        { name: 'segment', type: 'string' },
      ],
      online: { enabled: true },
      external: { kind: 'postgres', table: `${schema}.card_profile`, urlEnv },
    });
    await registerFeatureGroupChecked(deps, {
      name: merchants,
      primaryKey: ['merchant_id'],
      eventTime: 'as_of',
      features: [
        { name: 'merchant_id', type: 'string' },
        { name: 'as_of', type: 'timestamp' },
        { name: 'chargebacks_30d', type: 'int' },
      ],
      external: { kind: 'parquet', prefix: 'lake/merchant_risk' },
    });
    const label = await createGroup(deps, {
      prefix: 'txn_labels',
      primaryKey: ['txn_id'],
      eventTime: 'ts',
      features: [
        { name: 'txn_id', type: 'string' },
        { name: 'ts', type: 'timestamp' },
        { name: 'card_id', type: 'string' },
        { name: 'merchant_id', type: 'string' },
        { name: 'is_fraud', type: 'bool' },
      ],
    });
    labels = label.spec.name;
    await commitRows(deps, label, [
      { txn_id: 't1', ts: at(5), card_id: 'c1', merchant_id: 'm1', is_fraud: false },
      { txn_id: 't2', ts: at(12), card_id: 'c1', merchant_id: 'm1', is_fraud: true },
      { txn_id: 't3', ts: at(12), card_id: 'c2', merchant_id: 'm2', is_fraud: false },
      { txn_id: 't4', ts: at(12), card_id: 'c9', merchant_id: 'm9', is_fraud: false },
    ]);
  });
  afterAll(async () => {
    await warehouse.query(`DROP SCHEMA ${schema} CASCADE`);
    await warehouse.end();
    await store.deletePrefix('');
    store.close();
    await database.close();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  /** Every row of a dataset, both splits. */
  const allRows = async (view: string, version: number) => [
    ...(await readTrainingData(deps, { name: view }, version, { split: 'train', transformed: false })).rows,
    ...(await readTrainingData(deps, { name: view }, version, { split: 'test', transformed: false })).rows,
  ];

  it('joins both point-in-time into training data, pins each read as a commit without files, and stores no copy', async () => {
    const view = uniqueGroupName('ext_view');
    await createFeatureView(database.db, {
      name: view,
      spine: { featureGroup: labels, features: ['card_id', 'merchant_id', 'is_fraud'] },
      labels: ['is_fraud'],
      joins: [
        { featureGroup: profiles, on: ['card_id'], features: ['credit_limit', 'segment'] },
        { featureGroup: merchants, on: ['merchant_id'], features: ['chargebacks_30d'] },
      ],
      transformations: { segment: { kind: 'one_hot' } },
    });
    const dataset = await createTrainingData(deps, {
      featureView: { name: view },
      splits: { kind: 'random', fractions: { train: 0.5, test: 0.5 }, seed: 1 },
      idempotencyKey: uniqueGroupName('td'),
    });
    const rows = await allRows(view, dataset.version);
    const byTxn = Object.fromEntries(rows.map((r) => [r.txn_id, r]));
    // t1 (Oct 5) sees c1's Oct 1 profile and m1's Sep 30 22:00 UTC row (the +02 offset read as UTC);
    // t2 (Oct 12) sees the Oct 10 profile and the Oct 8 merchant row; m2's count is a real null.
    expect(byTxn.t1).toMatchObject({ credit_limit: 1000, segment: 'retail', chargebacks_30d: 12 });
    expect(byTxn.t2).toMatchObject({ credit_limit: 5000, segment: 'premium', chargebacks_30d: 40 });
    expect(byTxn.t3).toMatchObject({ credit_limit: 300, segment: 'student', chargebacks_30d: null });
    expect(byTxn.t4).toMatchObject({ credit_limit: null, chargebacks_30d: null });

    const pins = dataset.featureGroupCommits;
    const profileGroup = await getFeatureGroup(database.db, profiles);
    const reads = await new OfflineTable(deps, profileGroup).timeline();
    expect(reads).toHaveLength(1);
    expect(reads[0]).toMatchObject({ operation: 'external', files: [], rowsInserted: 3 });
    expect(pins[`${profiles}@v1`]).toBe(reads[0]!.id);
    const merchantReads = await new OfflineTable(
      deps,
      await getFeatureGroup(database.db, merchants),
    ).timeline();
    expect(merchantReads.map((c) => [c.operation, c.rowsInserted])).toEqual([['external', 3]]);
    const stored = [];
    for await (const o of store.list(`offline/${profiles}/`)) stored.push(o.key);
    for await (const o of store.list(`offline/${merchants}/`)) stored.push(o.key);
    expect(stored).toEqual([]);

    // Unchanged source: the same read record. A new row upstream: a new one, and the next dataset sees it.
    const again = await createTrainingData(deps, {
      featureView: { name: view },
      splits: { kind: 'random', fractions: { train: 0.5, test: 0.5 }, seed: 1 },
      idempotencyKey: uniqueGroupName('td'),
    });
    expect(again.featureGroupCommits[`${profiles}@v1`]).toBe(reads[0]!.id);
    await warehouse.query(`INSERT INTO ${schema}.card_profile VALUES ('c9', $1, 50, 'new')`, [at(11)]);
    // The stored dataset still reads; recreating it from a source that changed since is refused.
    await expect(allRows(view, dataset.version)).resolves.toHaveLength(4);
    await expect(recreateTrainingData(deps, { name: view }, dataset.version)).rejects.toThrow(
      /is external and its source changed since read #\d+; the platform cannot re-read a past state/,
    );
    const third = await createTrainingData(deps, {
      featureView: { name: view },
      splits: { kind: 'random', fractions: { train: 0.5, test: 0.5 }, seed: 1 },
      idempotencyKey: uniqueGroupName('td'),
    });
    expect(third.featureGroupCommits[`${profiles}@v1`]).not.toBe(reads[0]!.id);
    const latest = await allRows(view, third.version);
    expect(latest.find((r) => r.txn_id === 't4')).toMatchObject({ credit_limit: 50, segment: 'new' });

    // Batch retrieval for inference reads the same way.
    const batch = await getBatchData(deps, {
      featureView: { name: view },
      spine: { rows: [{ txn_id: 'x', ts: at(20), card_id: 'c2', merchant_id: 'm1', is_fraud: false }] },
      trainingDatasetVersion: third.version,
    });
    expect(batch.rows[0]).toMatchObject({ credit_limit: 300, segment: 'student', chargebacks_30d: 40 });
  });

  it('computes statistics over the source and materializes its latest rows online', async () => {
    const merchantStats = await groupStatistics(deps, { featureGroup: { name: merchants } });
    expect(merchantStats.basis).toBe('snapshot');
    expect(merchantStats.statistics.chargebacks_30d).toMatchObject({ count: 2, nulls: 1, min: 12, max: 40 });

    const result = await materializeOnline(deps, { name: profiles });
    expect(result.applied).toBeGreaterThanOrEqual(2);
    const group = await getFeatureGroup(database.db, profiles);
    const online = await deps.online.read(group.spec, [{ card_id: 'c1' }, { card_id: 'c2' }]);
    expect(online.map((r) => r.values?.credit_limit)).toEqual([5000, 300]);
  });

  it('readers racing on a changed source share one read record', async () => {
    const group = await getFeatureGroup(database.db, profiles);
    await warehouse.query(`INSERT INTO ${schema}.card_profile VALUES ('c7', $1, 70, 'race')`, [at(9)]);
    const reads = await Promise.all(
      Array.from({ length: 4 }, () => new OfflineTable(deps, group).recordExternalRead()),
    );
    expect(new Set(reads.map((r) => r.id)).size).toBe(1);
    expect(reads[0]!.rowsInserted).toBe(5);
  });

  it('refuses writes, time travel, monitors, a missing column and an unreadable table, storing nothing', async () => {
    const group = await getFeatureGroup(database.db, profiles);
    await expect(assertMonitorableGroup(deps, profiles)).rejects.toThrow(
      /is external: a feature-group monitor compares/,
    );
    expect(() => assertWritableGroup(group.spec, 'the event push endpoint')).toThrow(
      /is external: its rows are read in place from its source, so the event push endpoint cannot write to it/,
    );
    const table = new OfflineTable(deps, group);
    await expect(
      withDuck(async (duck) => {
        await duck.run(`CREATE TABLE b AS SELECT 'c1' AS card_id`);
        return table.write(duck, 'b', { operation: 'upsert', idempotencyKey: 'x' });
      }),
    ).rejects.toThrow(
      /is an external feature group, read in place from postgres table .*card_profile .*cannot be written/,
    );
    await expect(table.pin(at(3))).rejects.toThrow(/cannot be read as of/);
    const bad = uniqueGroupName('bad_ext');
    await expect(
      registerFeatureGroupChecked(deps, {
        name: bad,
        primaryKey: ['card_id'],
        eventTime: 'updated_at',
        features: [
          { name: 'card_id', type: 'string' },
          { name: 'updated_at', type: 'timestamp' },
          { name: 'risk', type: 'double' },
        ],
        external: { kind: 'postgres', table: `${schema}.card_profile`, urlEnv },
      }),
    ).rejects.toThrow(/column "risk" does not exist; the table or view must exist/);
    await expect(
      registerFeatureGroupChecked(deps, {
        name: bad,
        primaryKey: ['merchant_id'],
        eventTime: 'as_of',
        features: [
          { name: 'merchant_id', type: 'string' },
          { name: 'as_of', type: 'timestamp' },
          { name: 'score', type: 'double' },
        ],
        external: { kind: 'parquet', prefix: 'lake/merchant_risk' },
      }),
    ).rejects.toThrow(/lacks column\(s\) score/);
    await expect(getFeatureGroup(database.db, bad)).rejects.toThrow(/does not exist|not found/i);
  });
});
