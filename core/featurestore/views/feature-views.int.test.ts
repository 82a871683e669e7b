import { count, eq, inArray } from 'drizzle-orm';
import { loadConfig } from '../../config';
import { openDatabase, tables, type DatabaseHandle } from '../../db';
import { withDuck } from '../../duckdb';
import { ValidationError } from '../../errors';
import type { S3ObjectStore } from '../../storage';
import { testObjectStore } from '../../../test/support/stores';
import { commitRows, createGroup, testViewDeps, type ViewTestDeps } from '../../../test/support/featureviews';
import type { FeatureGroupRecord } from '../feature-group-repository';
import { defineOnDemandFeature, OnDemandRegistry } from './on-demand';
import { OnlineFeatureReader, MissingFeatureError, RequestFieldError } from './online-vectors';
import { getBatchData, readTrainingData, readTrainingMatrix } from './read';
import {
  createFeatureView,
  deleteFeatureView,
  FeatureViewNotFoundError,
  getFeatureView,
  listFeatureViews,
} from './repository';
import { checkOnlineOfflineSkew } from './skew';
import { createTrainingData, listTrainingDatasets, recreateTrainingData } from './training-data';
import type { FeatureViewDefinition } from './definition';
import { uniqueGroupName } from '../../../test/support/featurestore';

const amountRatio = defineOnDemandFeature({
  name: 'amount_ratio',
  type: 'double',
  inputs: ['amount', 'average'],
  compute: ({ amount, average }) =>
    typeof amount === 'number' && typeof average === 'number' && average !== 0 ? amount / average : null,
});

const day = (d: number, h = 0) => new Date(Date.UTC(2026, 2, d, h));

// A small card-fraud setup on the real stack: transactions (spine with labels) and card statistics.
describe('feature views: training data, batch and online retrieval (real S3 + Postgres + DuckDB)', () => {
  let database: DatabaseHandle;
  let store: S3ObjectStore;
  let deps: ViewTestDeps;
  let txns: FeatureGroupRecord;
  let cards: FeatureGroupRecord;
  let definition: FeatureViewDefinition;
  const txnRows: Record<string, unknown>[] = [];
  const cardRows: Record<string, unknown>[] = [];

  beforeAll(async () => {
    database = await openDatabase({ url: loadConfig().databaseUrl });
    store = testObjectStore();
    deps = testViewDeps(database, store, new OnDemandRegistry([amountRatio]));
    txns = await createGroup(deps, {
      prefix: 'txns',
      primaryKey: ['txn_id'],
      eventTime: 'event_time',
      features: [
        { name: 'txn_id', type: 'string' },
        { name: 'event_time', type: 'timestamp' },
        { name: 'card_id', type: 'string' },
        { name: 'amount', type: 'double' },
        { name: 'category', type: 'string' },
        { name: 'merchant', type: 'string' },
        { name: 'is_fraud', type: 'bool' },
      ],
    });
    cards = await createGroup(deps, {
      prefix: 'cards',
      primaryKey: ['card_id'],
      eventTime: 'event_time',
      features: [
        { name: 'card_id', type: 'string' },
        { name: 'event_time', type: 'timestamp' },
        { name: 'txn_count_1d', type: 'bigint' },
        { name: 'amount_avg_7d', type: 'double' },
        { name: 'card_type', type: 'string' },
      ],
      online: { enabled: true, ttlSeconds: 30 * 86_400 },
    });
    const categories = ['grocery', 'travel', 'online'];
    for (let i = 0; i < 200; i++) {
      const card = `c${i % 10}`;
      txnRows.push({
        txn_id: `t${i}`,
        event_time: new Date(day(1).getTime() + i * 3_600_000),
        card_id: card,
        amount: i === 7 ? -5 : i % 17 === 0 ? null : 10 + (i % 13) * 7,
        category: categories[i % 3],
        merchant: `m${i % 5}`,
        is_fraud: i % 11 === 0,
      });
    }
    for (let d = 1; d <= 9; d++)
      for (let c = 0; c < 10; c++)
        cardRows.push({
          card_id: `c${c}`,
          event_time: day(d, c),
          txn_count_1d: d + c,
          amount_avg_7d: 20 + d * c,
          card_type: c % 2 === 0 ? 'credit' : 'debit',
        });
    await commitRows(deps, txns, txnRows);
    await commitRows(deps, cards, cardRows);
    definition = {
      name: uniqueGroupName('fraud_view'),
      description: 'fraud detection features',
      spine: {
        featureGroup: txns.spec.name,
        features: ['card_id', 'amount', 'category', 'merchant', 'is_fraud'],
      },
      joins: [{ featureGroup: cards.spec.name, prefix: 'card_', lookback: '3d' }],
      labels: ['is_fraud'],
      inferenceHelperColumns: ['merchant'],
      filters: [{ column: 'amount', op: '>=', value: 0 }],
      transformations: {
        amount: [{ kind: 'impute', strategy: 'median' }, { kind: 'log' }, { kind: 'standard_scaler' }],
        category: { kind: 'one_hot' },
        card_card_type: { kind: 'label_encoder' },
        card_amount_avg_7d: { kind: 'standard_scaler' },
      },
      onDemand: [
        {
          name: 'amount_ratio',
          function: 'amount_ratio',
          inputs: { amount: 'amount', average: 'card_amount_avg_7d' },
        },
      ],
    };
  });
  afterAll(async () => {
    await store.deletePrefix('');
    store.close();
    await database.close();
  });

  it('creates, reuses, versions, gets and lists views; pins the feature-group versions read', async () => {
    const first = await createFeatureView(deps.db, definition);
    expect(first.created).toBe(true);
    expect(first.record.view.version).toBe(1);
    expect(first.record.view.features).toEqual([
      'amount',
      'category',
      'card_txn_count_1d',
      'card_amount_avg_7d',
      'card_card_type',
      'amount_ratio',
    ]);
    expect(first.record.view.entityKeys).toEqual(['card_id']);
    const query = first.record.view.definition;
    expect(query.joins[0]!.featureGroup).toEqual({ name: cards.spec.name, version: 1 });

    const again = await createFeatureView(deps.db, definition);
    expect(again).toMatchObject({ created: false, record: { id: first.record.id } });
    const second = await createFeatureView(deps.db, { ...definition, description: 'v2' });
    expect(second.record.view.version).toBe(2);
    await expect(
      createFeatureView(deps.db, { ...definition, version: 1, description: 'changed' }),
    ).rejects.toThrow(/version 1 exists with a different definition; views are immutable — create version 3/);
    expect((await getFeatureView(deps.db, definition.name)).view.version).toBe(2);
    expect((await listFeatureViews(deps.db)).filter((v) => v.name === definition.name)).toHaveLength(2);
    await expect(getFeatureView(deps.db, definition.name, 9)).rejects.toThrow(FeatureViewNotFoundError);
    await expect(getFeatureView(deps.db, definition.name, 9)).rejects.toThrow(/versions: 1, 2/);
  });

  it('rejects bad definitions with the column, group and fix named, writing nothing', async () => {
    // Counted by the names this test uses: other files create views in the same database meanwhile.
    const name = uniqueGroupName('bad_view');
    const viewsNamedHere = () =>
      database.db
        .select({ n: count() })
        .from(tables.featureViews)
        .where(inArray(tables.featureViews.name, [name, 'Bad Name']));
    await expect(
      createFeatureView(deps.db, {
        ...definition,
        name,
        joins: [{ featureGroup: cards.spec.name }, { featureGroup: cards.spec.name }],
        transformations: {},
        onDemand: [],
      }),
    ).rejects.toThrow(/column "txn_count_1d" from .* collides with "txn_count_1d" from .*; set a prefix/);
    await expect(
      createFeatureView(deps.db, { ...definition, name, joins: [{ featureGroup: 'no_such_group' }] }),
    ).rejects.toThrow(/feature group no_such_group does not exist/);
    await expect(
      createFeatureView(deps.db, {
        ...definition,
        name,
        joins: [{ featureGroup: cards.spec.name, features: ['nope'] }],
      }),
    ).rejects.toThrow(/feature "nope" does not exist/);
    await expect(
      createFeatureView(deps.db, {
        ...definition,
        name,
        joins: [{ featureGroup: cards.spec.name, on: ['amount'] }],
      }),
    ).rejects.toThrow(/spine column "amount" is double but key "card_id" is string/);
    await expect(createFeatureView(deps.db, { ...definition, name, labels: ['fraud'] })).rejects.toThrow(
      /label "fraud" is not a column of the view/,
    );
    await expect(
      createFeatureView(deps.db, { ...definition, name, transformations: { merchant: { kind: 'one_hot' } } }),
    ).rejects.toThrow(/transformation declared for "merchant", which is not a model feature/);
    await expect(createFeatureView(deps.db, { ...definition, name: 'Bad Name' })).rejects.toThrow(
      /name must be a lowercase identifier/,
    );
    expect((await viewsNamedHere())[0]!.n).toBe(0);
  });

  it('creates split training data, fits transformations on the train split only, and recreates it identically', async () => {
    const ref = { name: definition.name, version: 1 };
    const td = await createTrainingData(deps, {
      featureView: ref,
      start: day(1),
      end: day(9),
      splits: { kind: 'random', fractions: { train: 0.7, test: 0.3 }, seed: 11 },
      idempotencyKey: 'td-random',
    });
    expect(td.state).toBe('ready');
    expect(td.featureGroupCommits).toEqual({
      [`${txns.spec.name}@v1`]: expect.any(Number),
      [`${cards.spec.name}@v1`]: expect.any(Number),
    });
    // 192 spine rows in [day 1, day 9); the filter drops the negative amount and (SQL semantics) the 12 nulls.
    expect(td.rowCounts.train! + td.rowCounts.test!).toBe(179);
    expect(td.rowCounts.train).toBeGreaterThan(100);
    expect(td.statistics.train!.card_amount_avg_7d!.count).toBe(td.rowCounts.train);
    expect(td.query).toContain(`ASOF LEFT JOIN ${cards.spec.name} v1`);

    const raw = await readTrainingData(deps, ref, td.version, { transformed: false });
    expect(raw.rows).toHaveLength(td.rowCounts.train!);
    // Inference helpers (merchant) are not part of training data.
    expect(Object.keys(raw.rows[0]!)).toEqual([
      'txn_id',
      'event_time',
      'card_id',
      'amount',
      'category',
      'is_fraud',
      'card_txn_count_1d',
      'card_amount_avg_7d',
      'card_card_type',
      'amount_ratio',
    ]);
    const avg = raw.rows
      .map((r) => r.card_amount_avg_7d as number | null)
      .filter((v): v is number => v !== null);
    const mean = avg.reduce((a, b) => a + b, 0) / avg.length;
    expect(td.transformation.steps.card_amount_avg_7d![0]).toMatchObject({ kind: 'standard_scaler' });
    expect((td.transformation.steps.card_amount_avg_7d![0] as { mean: number }).mean).toBeCloseTo(mean, 9);
    // Point-in-time: every joined value is the card's latest row at or before the transaction, within 3 days.
    for (const row of raw.rows.slice(0, 40)) {
      const t = (row.event_time as Date).getTime();
      const candidates = cardRows.filter(
        (c) => c.card_id === row.card_id && (c.event_time as Date).getTime() <= t,
      );
      const best = candidates.sort(
        (a, b) => (b.event_time as Date).getTime() - (a.event_time as Date).getTime(),
      )[0];
      const fresh = best && (best.event_time as Date).getTime() >= t - 3 * 86_400_000 ? best : undefined;
      expect(row.card_amount_avg_7d ?? null).toBe(fresh?.amount_avg_7d ?? null);
      if (fresh && typeof row.amount === 'number')
        expect(row.amount_ratio).toBeCloseTo(row.amount / (fresh.amount_avg_7d as number), 12);
    }

    const transformed = await readTrainingData(deps, ref, td.version, { split: 'test' });
    expect(Object.keys(transformed.rows[0]!)).toEqual(
      expect.arrayContaining(['category=grocery', 'category=online', 'category=travel', 'card_card_type']),
    );
    const { matrix } = await readTrainingMatrix(deps, ref, td.version, 'train');
    expect(matrix.featureNames).toEqual(td.transformation.outputs);
    expect(matrix.X).toHaveLength(matrix.rows * matrix.cols);
    expect(new Set(matrix.y)).toEqual(new Set([0, 1]));
    expect(matrix.columns.txn_id).toHaveLength(matrix.rows);

    const again = await createTrainingData(deps, {
      featureView: ref,
      start: day(1),
      end: day(9),
      splits: { kind: 'random', fractions: { train: 0.7, test: 0.3 }, seed: 11 },
      idempotencyKey: 'td-random',
    });
    expect(again.version).toBe(td.version);
    const recreated = await recreateTrainingData(deps, ref, td.version);
    expect(recreated.identical).toBe(true);
    expect(recreated.splits.train!.rows).toBe(td.rowCounts.train);

    const byTime = await createTrainingData(deps, {
      featureView: ref,
      splits: {
        kind: 'time',
        ranges: {
          train: { start: day(1), end: day(5) },
          validation: { start: day(5), end: day(7) },
          test: { start: day(7), end: day(9) },
        },
      },
    });
    expect(byTime.version).toBe(td.version + 1);
    expect(byTime.rowCounts).toEqual({ train: 89, validation: 45, test: 45 });
    expect((await listTrainingDatasets(deps, ref)).map((d) => d.version)).toEqual([
      byTime.version,
      td.version,
    ]);
  });

  it('assigns each record the same random split in every dataset version with that seed, whatever its time range', async () => {
    const ref = { name: definition.name, version: 1 };
    const splits = {
      kind: 'random' as const,
      fractions: { train: 0.6, validation: 0.1, test: 0.3 },
      seed: 7,
    };
    const narrow = await createTrainingData(deps, { featureView: ref, start: day(3), end: day(8), splits });
    // A wider range adds rows before and after: with positions hashed, every later row would move.
    const wide = await createTrainingData(deps, { featureView: ref, start: day(1), end: day(9), splits });
    expect(wide.splitKey).toEqual(['txn_id', 'event_time']);
    const splitOf = async (version: number) => {
      const by = new Map<string, string>();
      for (const split of ['train', 'validation', 'test'] as const) {
        const { rows } = await readTrainingData(deps, ref, version, { split, transformed: false });
        for (const r of rows) by.set(String(r.txn_id), split);
      }
      return by;
    };
    const [a, b] = [await splitOf(narrow.version), await splitOf(wide.version)];
    expect(b.size).toBeGreaterThan(a.size);
    const moved = [...a].filter(([txn, split]) => b.get(txn) !== split);
    expect(moved).toEqual([]);
    expect(new Set(a.values())).toEqual(new Set(['train', 'validation', 'test']));
    expect((await recreateTrainingData(deps, ref, wide.version)).identical).toBe(true);
  });

  it('builds training data from a caller-supplied spine table, stores the spine, and recreates it identically', async () => {
    const name = uniqueGroupName('spine_view');
    await createFeatureView(deps.db, {
      name,
      spine: {
        columns: [
          { name: 'card_id', type: 'string' },
          { name: 'at', type: 'timestamp' },
          { name: 'outcome', type: 'int' },
        ],
        eventTime: 'at',
      },
      labels: ['outcome'],
      joins: [{ featureGroup: cards.spec.name, features: ['amount_avg_7d'] }],
    });
    const spine = Array.from({ length: 30 }, (_, i) => ({
      card_id: `c${i % 4}`,
      at: day(2 + (i % 5), 12),
      outcome: i % 2,
    }));
    const td = await createTrainingData(deps, {
      featureView: { name },
      spine: { rows: spine },
      splits: { kind: 'random', fractions: { train: 0.5, test: 0.5 }, seed: 5 },
    });
    expect(td.rowCounts.train! + td.rowCounts.test!).toBe(30);
    expect(await deps.store.exists(`${td.storagePrefix}/spine.parquet`)).toBe(true);
    expect((await recreateTrainingData(deps, { name }, td.version)).identical).toBe(true);
    await expect(createTrainingData(deps, { featureView: { name } })).rejects.toThrow(
      /the view's spine is a table; pass spine rows/,
    );
    await expect(
      createTrainingData(deps, {
        featureView: { name },
        spine: { rows: [{ card_id: 'c1', at: 'not a time', outcome: 1 }] },
      }),
    ).rejects.toThrow(/column "at" has 1 value\(s\) that are not timestamp/);
    await expect(
      createTrainingData(deps, {
        featureView: { name },
        spine: { rows: [{ card_id: 'c1', at: null, outcome: 1 }] },
      }),
    ).rejects.toThrow(/1 row\(s\) have no event time in "at"/);
    expect(await listTrainingDatasets(deps, { name })).toHaveLength(1);
  });

  it('rejects bad training-data requests before writing anything', async () => {
    const ref = { name: definition.name, version: 1 };
    const count0 = (await listTrainingDatasets(deps, ref)).length;
    await expect(createTrainingData(deps, { featureView: ref, start: day(5), end: day(2) })).rejects.toThrow(
      /start 2026-03-05T00:00:00.000Z is not before end 2026-03-02T00:00:00.000Z/,
    );
    await expect(
      createTrainingData(deps, {
        featureView: ref,
        splits: { kind: 'random', fractions: { train: 0.5, test: 0.1 } },
      }),
    ).rejects.toThrow(/fractions must add up to 1/);
    await expect(
      createTrainingData(deps, { featureView: ref, start: day(20), end: day(21) }),
    ).rejects.toThrow(/no spine rows in \[2026-03-20/);
    await expect(createTrainingData(deps, { featureView: { name: 'no_such_view' } })).rejects.toThrow(
      /feature view no_such_view does not exist/,
    );
    expect(await listTrainingDatasets(deps, ref)).toHaveLength(count0);
  });

  it('serves online vectors in one round trip with statuses, passed and on-demand features, transformed like training', async () => {
    const ref = { name: definition.name, version: 1 };
    const [td] = await listTrainingDatasets(deps, ref);
    const view = (await getFeatureView(deps.db, ref.name, 1)).view;
    const reader = new OnlineFeatureReader(deps.online, view, {
      onDemand: deps.onDemand,
      transformation: td!.transformation,
    });
    const now = day(10);
    const [v1, v2] = await reader.get(
      [
        { keys: { card_id: 'c3' }, request: { amount: 50, category: 'travel', merchant: 'm1' } },
        { keys: { card_id: 'c_unknown' }, request: { amount: 5, category: 'grocery' } },
      ],
      { missing: 'null', now },
    );
    expect(v1!.values).toEqual({
      amount: 50,
      category: 'travel',
      card_txn_count_1d: 12,
      card_amount_avg_7d: 47,
      card_card_type: 'debit',
      amount_ratio: 50 / 47,
    });
    expect(v1!.status).toMatchObject({
      amount: 'passed',
      card_txn_count_1d: 'present',
      amount_ratio: 'computed',
    });
    expect(v1!.helpers).toEqual({ merchant: 'm1' });
    expect(v1!.vector).toHaveLength(td!.transformation.outputs.length);
    expect(v2!.status.card_amount_avg_7d).toBe('missing');
    expect(v2!.values.amount_ratio).toBeNull();
    await expect(reader.get([{ keys: { card_id: 'c_unknown' } }], { missing: 'error', now })).rejects.toThrow(
      MissingFeatureError,
    );
    await expect(reader.get([{ keys: {} }])).rejects.toThrow(/entity key "card_id" is missing/);
    const [stale] = await reader.get([{ keys: { card_id: 'c3' }, request: { amount: 1 } }], {
      now: new Date(now.getTime() + 90 * 86_400_000),
    });
    expect(stale!.status.card_amount_avg_7d).toBe('outside_ttl');
    expect(stale!.values.card_amount_avg_7d).toBeNull();

    // Keys of the wrong type are refused, not looked up (a number never matches a string key).
    await expect(reader.get([{ keys: { card_id: 3 } }], { missing: 'null', now })).rejects.toThrow(
      new RequestFieldError(
        'request 1: entity key "card_id" must be a string (feature type string), got a number.',
      ),
    );
    // Stored features come from the store unless the view lets requests override them.
    await expect(
      reader.get([{ keys: { card_id: 'c3' }, request: { amount: 1, card_txn_count_1d: 99_999 } }], { now }),
    ).rejects.toThrow(/"card_txn_count_1d" is read from feature group .* a request may not set it/);
    const overridable = uniqueGroupName('fraud_override');
    await createFeatureView(deps.db, {
      ...definition,
      name: overridable,
      allowRequestOverride: ['card_txn_count_1d'],
    });
    await expect(
      createFeatureView(deps.db, {
        ...definition,
        name: uniqueGroupName('bad_override'),
        allowRequestOverride: ['amount'],
      }),
    ).rejects.toThrow(/allowRequestOverride "amount" must be a feature joined from a feature group/);
    const lenient = new OnlineFeatureReader(
      deps.online,
      (await getFeatureView(deps.db, overridable, 1)).view,
      {
        onDemand: deps.onDemand,
        transformation: td!.transformation,
      },
    );
    const [overridden] = await lenient.get(
      [{ keys: { card_id: 'c3' }, request: { amount: 1, card_txn_count_1d: 99_999 } }],
      { now },
    );
    expect(overridden!.values.card_txn_count_1d).toBe(99_999);
    expect(overridden!.status.card_txn_count_1d).toBe('passed');
    expect(overridden!.values.card_amount_avg_7d).toBe(47);
  });

  it('batch retrieval returns inference columns transformed with a training dataset version', async () => {
    const ref = { name: definition.name, version: 1 };
    const [td] = await listTrainingDatasets(deps, ref);
    const { rows, matrix, batch } = await getBatchData(deps, {
      featureView: ref,
      range: { start: day(8), end: day(9) },
      trainingDatasetVersion: td!.version,
    });
    expect(rows).toHaveLength(22);
    expect(Object.keys(rows[0]!)).not.toContain('is_fraud');
    expect(Object.keys(rows[0]!)).toContain('merchant');
    expect(matrix.featureNames).toEqual(td!.transformation.outputs);
    expect(Object.keys(batch.commits)).toHaveLength(2);
    await expect(getBatchData(deps, { featureView: ref })).rejects.toThrow(/pass a time range or spine rows/);
    await expect(
      getBatchData(deps, { featureView: ref, spine: { rows: [{ txn_id: 'x', card_id: 'c1' }] } }),
    ).rejects.toThrow(/missing column\(s\) event_time, amount, category, merchant, is_fraud/);
  });

  it('skew check: online vectors equal offline vectors at the latest event time, and a divergent online row is caught', async () => {
    const ref = { name: definition.name, version: 1 };
    const [td] = await listTrainingDatasets(deps, ref);
    const report = await checkOnlineOfflineSkew(deps, {
      featureView: ref,
      trainingDatasetVersion: td!.version,
      sample: 10,
    });
    expect(report.sampled).toBe(10);
    expect(report.mismatches).toEqual([]);
    expect(report.ok).toBe(true);

    // Write a newer row to the online store only: serving now disagrees with the offline store.
    await withDuck(async (duck) => {
      await duck.run(
        `CREATE TABLE drift AS SELECT 'c4' AS card_id, TIMESTAMP '2026-03-09 23:00:00' AS event_time, 1::BIGINT AS txn_count_1d, 999.0::DOUBLE AS amount_avg_7d, 'credit' AS card_type`,
      );
      await deps.online.writeFromDuck(duck, 'drift', cards.spec);
    });
    const drifted = await checkOnlineOfflineSkew(deps, {
      featureView: ref,
      trainingDatasetVersion: td!.version,
      sample: 10,
    });
    expect(drifted.ok).toBe(false);
    expect(drifted.mismatches).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ keys: { card_id: 'c4' }, feature: 'card_amount_avg_7d', online: 999 }),
      ]),
    );
  });

  it('refuses to delete a view a model version uses; deletes it with its training datasets otherwise', async () => {
    const view = await getFeatureView(deps.db, definition.name, 1);
    const [model] = await database.db
      .insert(tables.models)
      .values({ name: uniqueGroupName('model') })
      .returning();
    const [mv] = await database.db
      .insert(tables.modelVersions)
      .values({
        modelId: model!.id,
        version: 1,
        trainer: 'test',
        artifactKey: 'x',
        signature: {},
        featureViewId: view.id,
        idempotencyKey: 'k',
      })
      .returning();
    await expect(deleteFeatureView(deps.db, deps.store, definition.name, 1)).rejects.toThrow(
      new RegExp(`is used by model ${model!.name} v1; delete or move those first`),
    );
    await database.db.delete(tables.modelVersions).where(eq(tables.modelVersions.id, mv!.id));
    const datasets = (await listTrainingDatasets(deps, { name: definition.name, version: 1 })).length;
    expect(datasets).toBeGreaterThanOrEqual(2);
    const { deletedTrainingDatasets } = await deleteFeatureView(deps.db, deps.store, definition.name, 1);
    expect(deletedTrainingDatasets).toBe(datasets);
    await expect(getFeatureView(deps.db, definition.name, 1)).rejects.toThrow(FeatureViewNotFoundError);
    expect(ValidationError).toBeDefined();
  });
});
