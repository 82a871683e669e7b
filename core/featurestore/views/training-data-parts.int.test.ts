import { loadConfig } from '../../config';
import { openDatabase, type DatabaseHandle } from '../../db';
import type { S3ObjectStore } from '../../storage';
import { testObjectStore } from '../../../test/support/stores';
import { commitRows, createGroup, testViewDeps, type ViewTestDeps } from '../../../test/support/featureviews';
import { uniqueGroupName } from '../../../test/support/featurestore';
import type { FeatureGroupRecord } from '../feature-group-repository';
import { defineOnDemandFeature, OnDemandRegistry } from './on-demand';
import { readTrainingData } from './read';
import { createFeatureView } from './repository';
import { createTrainingData, type TrainingDatasetInfo } from './training-data';
import {
  deleteTrainingDataParts,
  materializeTrainingDataPart,
  planTrainingData,
} from './training-data-parts';

const ratio = defineOnDemandFeature({
  name: 'part_ratio',
  type: 'double',
  inputs: ['amount', 'average'],
  compute: ({ amount, average }) =>
    typeof amount === 'number' && typeof average === 'number' && average !== 0 ? amount / average : null,
});

/** The value with every non-integer number rounded to 12 significant digits. */
function roundFloats(value: unknown): unknown {
  if (typeof value === 'number') return Number.isInteger(value) ? value : Number(value.toPrecision(12));
  if (Array.isArray(value)) return value.map(roundFloats);
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, roundFloats(v)]));
  return value;
}

const hour = (h: number) => new Date(Date.UTC(2026, 2, 1) + h * 3_600_000);

// A point-in-time join split by key bucket must give the dataset one job gives (real S3 + Postgres + DuckDB).
describe('partitioned training data: parts by key bucket, finished once, equal to one job', () => {
  let database: DatabaseHandle;
  let store: S3ObjectStore;
  let deps: ViewTestDeps;
  let viewName: string;

  beforeAll(async () => {
    database = await openDatabase({ url: loadConfig().databaseUrl });
    store = testObjectStore();
    deps = testViewDeps(database, store, new OnDemandRegistry([ratio]));
    // Spine keyed by transaction: not the partition key, so it is read whole and filtered by bucket.
    const txns = await createGroup(deps, {
      prefix: 'ptxns',
      primaryKey: ['txn_id'],
      eventTime: 'event_time',
      features: [
        { name: 'txn_id', type: 'string' },
        { name: 'event_time', type: 'timestamp' },
        { name: 'card_id', type: 'string' },
        { name: 'merchant', type: 'string' },
        { name: 'amount', type: 'double' },
        { name: 'is_fraud', type: 'bool' },
      ],
      partitioning: { period: 'day' },
    });
    // Keyed by the partition key with 4 buckets: each part opens its bucket's files only.
    const cards = await createGroup(deps, {
      prefix: 'pcards',
      primaryKey: ['card_id'],
      eventTime: 'event_time',
      features: [
        { name: 'card_id', type: 'string' },
        { name: 'event_time', type: 'timestamp' },
        { name: 'amount_avg', type: 'double' },
        { name: 'card_type', type: 'string' },
      ],
      partitioning: { period: 'day', keyBuckets: 4 },
    });
    // Keyed by another column: every part reads it whole.
    const merchants: FeatureGroupRecord = await createGroup(deps, {
      prefix: 'pmerch',
      primaryKey: ['merchant'],
      eventTime: 'event_time',
      features: [
        { name: 'merchant', type: 'string' },
        { name: 'event_time', type: 'timestamp' },
        { name: 'risk', type: 'double' },
      ],
    });
    const txnRows: Record<string, unknown>[] = [];
    for (let i = 0; i < 400; i++)
      txnRows.push({
        txn_id: `t${i}`,
        event_time: hour(i % 96),
        card_id: `c${i % 23}`,
        merchant: `m${i % 7}`,
        amount: i % 19 === 0 ? null : 5 + (i % 13) * 3.5,
        is_fraud: i % 9 === 0,
      });
    // Duplicate spine rows on purpose: equal keys and times must number the same in parts and whole.
    txnRows.push({ ...txnRows[5]!, txn_id: 't5b' }, { ...txnRows[5]!, txn_id: 't5c' });
    const cardRows: Record<string, unknown>[] = [];
    for (let h = 0; h < 96; h += 5)
      for (let c = 0; c < 23; c++)
        cardRows.push({
          card_id: `c${c}`,
          event_time: hour(h + (c % 5)),
          amount_avg: 10 + h + c,
          card_type: c % 3 === 0 ? 'credit' : 'debit',
        });
    const merchantRows: Record<string, unknown>[] = [];
    for (let h = 0; h < 96; h += 24)
      for (let m = 0; m < 7; m++)
        merchantRows.push({ merchant: `m${m}`, event_time: hour(h + m), risk: m / 7 + h });
    await commitRows(deps, txns, txnRows);
    await commitRows(deps, cards, cardRows);
    await commitRows(deps, merchants, merchantRows);
    viewName = uniqueGroupName('part_view');
    await createFeatureView(deps.db, {
      name: viewName,
      spine: { featureGroup: txns.spec.name, features: ['card_id', 'merchant', 'amount', 'is_fraud'] },
      joins: [
        { featureGroup: cards.spec.name, prefix: 'card_', lookback: '30h' },
        { featureGroup: merchants.spec.name, prefix: 'm_' },
      ],
      labels: ['is_fraud'],
      filters: [{ column: 'amount', op: '>=', value: 6 }],
      transformations: { amount: [{ kind: 'impute', strategy: 'median' }, { kind: 'standard_scaler' }] },
      onDemand: [
        {
          name: 'part_ratio',
          function: 'part_ratio',
          inputs: { amount: 'amount', average: 'card_amount_avg' },
        },
      ],
    });
  });
  afterAll(async () => {
    await store.deletePrefix('');
    store.close();
    await database.close();
  });

  const splits = { kind: 'random' as const, fractions: { train: 0.75, test: 0.25 }, seed: 3 };
  const range = { start: hour(4), end: hour(90) };

  async function partitioned(
    parts: number,
    key: string,
  ): Promise<{ dataset: TrainingDatasetInfo; rows: number[] }> {
    const plan = await planTrainingData(deps, {
      featureView: { name: viewName },
      parts,
      idempotencyKey: key,
    });
    const made = [];
    for (let index = 0; index < parts; index++)
      made.push(await materializeTrainingDataPart(deps, { plan, index, ...range }));
    const dataset = await createTrainingData(deps, {
      featureView: plan.featureView,
      splits,
      ...range,
      commits: plan.commits,
      parts: made.map((p) => p.key),
      idempotencyKey: key,
    });
    await deleteTrainingDataParts(deps, plan);
    return { dataset, rows: made.map((p) => p.rows) };
  }

  async function splitRows(dataset: TrainingDatasetInfo, split: 'train' | 'test') {
    return (await readTrainingData(deps, { name: viewName }, dataset.version, { split, transformed: false }))
      .rows;
  }

  it.each([3, 4])(
    '%i parts make the same dataset as one job: rows in order, hashes, statistics, fitted parameters',
    async (parts) => {
      const whole = await createTrainingData(deps, {
        featureView: { name: viewName },
        splits,
        ...range,
        idempotencyKey: `whole-${parts}`,
      });
      const { dataset, rows } = await partitioned(parts, `parts-${parts}`);
      // Every spine row in range went to exactly one part (before filters).
      expect(rows.reduce((a, b) => a + b, 0)).toBeGreaterThan(whole.rowCounts.train! + whole.rowCounts.test!);
      expect(rows.filter((n) => n > 0)).toHaveLength(parts);
      expect(dataset.featureGroupCommits).toEqual(whole.featureGroupCommits);
      expect(dataset.rowCounts).toEqual(whole.rowCounts);
      expect(dataset.contentHashes).toEqual(whole.contentHashes);
      // Statistics sum floats in the order rows sit in memory, which a join of parts does not share
      // with one join: equal to the last few bits, not bit for bit.
      expect(roundFloats(dataset.statistics)).toEqual(roundFloats(whole.statistics));
      expect(dataset.transformation).toEqual(whole.transformation);
      for (const split of ['train', 'test'] as const)
        expect(await splitRows(dataset, split)).toEqual(await splitRows(whole, split));
      // The join found features (a dataset of nulls would compare equal too).
      const train = await splitRows(dataset, 'train');
      expect(train.filter((r) => r.card_amount_avg !== null).length).toBeGreaterThan(train.length / 2);
      expect(train.filter((r) => r.m_risk !== null).length).toBeGreaterThan(train.length / 2);
      expect(train.some((r) => typeof r.part_ratio === 'number')).toBe(true);
      const left: string[] = [];
      for await (const object of store.list(`training-data-parts/${viewName}/`)) left.push(object.key);
      expect(left).toEqual([]);
    },
  );

  it('refuses a plan of one part or of more parts than buckets can hold, naming the fix', async () => {
    await expect(
      planTrainingData(deps, { featureView: { name: viewName }, parts: 1, idempotencyKey: 'x' }),
    ).rejects.toThrow(/parts must be an integer from 2 to 256 \(1 part: create the dataset in one job\)/);
    await expect(
      planTrainingData(deps, { featureView: { name: viewName }, parts: 300, idempotencyKey: 'x' }),
    ).rejects.toThrow(/parts must be an integer from 2 to 256/);
  });
});
