import { WorkflowFailedError } from '@temporalio/client';
import { and, eq, isNull } from 'drizzle-orm';
import { loadConfig } from '../../core/config';
import { openDatabase, tables, type DatabaseHandle } from '../../core/db';
import { withDuck } from '../../core/duckdb';
import {
  getFeatureGroup,
  OfflineTable,
  registerFeatureGroup,
  windowAggregation,
  TransformationRegistry,
  type IngestionDeps,
} from '../../core/featurestore';
import type { S3ObjectStore } from '../../core/storage';
import type { FeaturePipelineInput, FeaturePipelineResult } from '../../workflows';
import { uniqueGroupName } from '../support/featurestore';
import { uniqueName } from '../support/ids';
import { testIngestionDeps, writeCsv } from '../support/ingestion';
import { testObjectStore } from '../support/stores';
import {
  connectTestTemporal,
  createTestWorkers,
  rootMessage,
  withWorkers,
  type TemporalTestContext,
} from '../support/temporal';

// Feature pipelines through the real Temporal server, PostgreSQL and S3.
describe('featurePipeline workflow', () => {
  let temporal: TemporalTestContext;
  let database: DatabaseHandle;
  let store: S3ObjectStore;
  let deps: IngestionDeps;
  const taskQueue = uniqueName('fti-features');

  beforeAll(async () => {
    temporal = await connectTestTemporal();
    database = await openDatabase({ url: loadConfig().databaseUrl });
    store = testObjectStore();
    const transformations = new TransformationRegistry().register(
      'txn_windows',
      windowAggregation({
        partitionBy: ['card_id'],
        timeColumn: 'event_time',
        keep: ['amount'],
        features: [
          { name: 'txn_count_1h', fn: 'count', window: '1h' },
          { name: 'amount_sum_1h', fn: 'sum', column: 'amount', window: '1h' },
        ],
      }),
    );
    deps = testIngestionDeps(database, store, transformations);
  });
  afterAll(async () => {
    await store.deletePrefix('');
    store.close();
    await database.close();
    await temporal.close();
  });

  async function createGroup(expectations: unknown[] = []) {
    const name = uniqueGroupName('txn');
    await registerFeatureGroup(database.db, {
      name,
      primaryKey: ['card_id'],
      eventTime: 'event_time',
      features: [
        { name: 'card_id', type: 'string' },
        { name: 'event_time', type: 'timestamp' },
        { name: 'amount', type: 'double' },
        { name: 'txn_count_1h', type: 'bigint' },
        { name: 'amount_sum_1h', type: 'double' },
      ],
      online: { enabled: true },
      expectations: { name: 'txn', expectations: expectations as never },
    });
    return name;
  }

  const csv = writeCsv('card_id,event_time,amount', [
    'c1,2026-01-01T10:00:00Z,10',
    'c1,2026-01-01T10:30:00Z,20',
    'c2,2026-01-01T10:45:00Z,5',
    'c1,2026-01-01T11:15:00Z,40', // next hour; 11:15 sees 10:30 within its trailing hour
  ]);

  async function run(
    input: FeaturePipelineInput,
    workflowId = uniqueName('fp'),
  ): Promise<FeaturePipelineResult> {
    const [worker] = await createTestWorkers(temporal, [taskQueue], {
      db: database.db,
      store,
      ingestion: deps,
    });
    return withWorkers([worker!], () =>
      temporal.client.workflow.execute('featurePipeline', { taskQueue, workflowId, args: [input] }),
    );
  }

  it('extracts, transforms, validates, commits offline, writes online and computes statistics; a re-run reuses the commit', async () => {
    const group = await createGroup([
      { type: 'expect_column_values_to_be_between', column: 'amount', min: 0, max: 1000 },
      { type: 'expect_column_values_to_be_between', column: 'amount', max: 15, severity: 'warning' },
    ]);
    const pipeline = {
      name: uniqueName('txns'),
      featureGroup: { name: group },
      source: { kind: 'csv' as const, path: csv, timeColumn: 'event_time' },
      transformation: 'txn_windows',
      lookbackSeconds: 3600,
    };
    const window = { start: '2026-01-01T11:00:00.000Z', end: '2026-01-01T12:00:00.000Z' };
    const result = await run({ pipeline, window });
    expect(result).toMatchObject({
      rowsExtracted: 4,
      rowsWritten: 1,
      commit: { reused: false, rowsInserted: 1 },
      online: { applied: 1 },
    });
    expect(result.validation).toContain('expect_column_values_to_be_between[amount]');

    const fg = await getFeatureGroup(database.db, group);
    const rows = await withDuck(async (duck) => {
      await new OfflineTable(deps, fg).registerSnapshot(duck, 's');
      return duck.all<{ card_id: string; txn_count_1h: bigint; amount_sum_1h: number }>('SELECT * FROM s');
    });
    // Look-back rows fed the 1-hour window but were not written.
    expect(rows.map((r) => [r.card_id, Number(r.txn_count_1h), r.amount_sum_1h])).toEqual([['c1', 2, 60]]);
    const [online] = await deps.online.read(fg.spec, [{ card_id: 'c1' }]);
    expect(online).toMatchObject({ status: 'present', values: { amount_sum_1h: 60 } });
    const stats = await database.db
      .select()
      .from(tables.featureStatistics)
      .where(eq(tables.featureStatistics.commitId, result.commit.commitId));
    expect(stats[0]?.statistics).toMatchObject({ amount: { count: 1, mean: 40 } });
    const reports = await database.db
      .select()
      .from(tables.validationReports)
      .where(eq(tables.validationReports.commitId, result.commit.commitId));
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ success: false, ingestionPolicy: 'strict' });

    const again = await run({ pipeline, window });
    expect(again.commit).toMatchObject({ commitId: result.commit.commitId, reused: true });
    const commits = await database.db
      .select()
      .from(tables.featureGroupCommits)
      .where(eq(tables.featureGroupCommits.featureGroupId, fg.id));
    expect(commits).toHaveLength(1);
  });

  it('an overwrite leaves the online store holding exactly the new history: newer rows and vanished keys go', async () => {
    const group = await createGroup();
    const pipeline = {
      name: uniqueName('txns'),
      featureGroup: { name: group },
      source: { kind: 'csv' as const, path: csv, timeColumn: 'event_time' },
      transformation: 'txn_windows',
    };
    await run({ pipeline: { ...pipeline, operation: 'upsert' } });
    const fg = await getFeatureGroup(database.db, group);
    expect(await deps.online.count(fg.spec)).toBe(2);
    // The history is rewritten with one earlier transaction of c1 only (c2 never existed).
    const rewritten = writeCsv('card_id,event_time,amount', ['c1,2025-12-31T09:00:00Z,7']);
    const result = await run({
      pipeline: { ...pipeline, source: { ...pipeline.source, path: rewritten }, operation: 'overwrite' },
    });
    expect(result.online).toMatchObject({ applied: 1 });
    const [c1, c2] = await deps.online.read(fg.spec, [{ card_id: 'c1' }, { card_id: 'c2' }]);
    expect(c1).toMatchObject({ status: 'present', values: { amount: 7, amount_sum_1h: 7 } });
    expect(c2).toMatchObject({ status: 'missing' });
    expect(await deps.online.count(fg.spec)).toBe(1);
  });

  it('strict validation failure: non-retryable, nothing committed, online unchanged, report kept', async () => {
    const group = await createGroup([
      { type: 'expect_column_values_to_be_between', column: 'amount', max: 15 },
    ]);
    const pipeline = {
      name: uniqueName('strict'),
      featureGroup: { name: group },
      source: { kind: 'csv' as const, path: csv },
      transformation: 'txn_windows',
    };
    const error = await run({ pipeline }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkflowFailedError);
    expect(rootMessage(error)).toMatch(/validation failed under the strict policy, nothing was written/);
    const fg = await getFeatureGroup(database.db, group);
    expect(
      await database.db
        .select()
        .from(tables.featureGroupCommits)
        .where(eq(tables.featureGroupCommits.featureGroupId, fg.id)),
    ).toEqual([]);
    expect(await deps.online.count(fg.spec)).toBe(0);
    const reports = await database.db
      .select()
      .from(tables.validationReports)
      .where(
        and(eq(tables.validationReports.featureGroupId, fg.id), isNull(tables.validationReports.commitId)),
      );
    expect(reports).toHaveLength(1);
  });

  it('bad input names the row and column, and writes nothing', async () => {
    const group = await createGroup();
    const bad = writeCsv('card_id,event_time,amount,txn_count_1h,amount_sum_1h', [
      'c1,2026-01-01T10:00:00Z,1,1,1',
      'c2,yesterday-ish,2,1,2',
    ]);
    const pipeline = {
      name: uniqueName('bad'),
      featureGroup: { name: group },
      source: { kind: 'csv' as const, path: bad },
    };
    const error = (await run({ pipeline }).catch((e: unknown) => e)) as WorkflowFailedError;
    expect(error).toBeInstanceOf(WorkflowFailedError);
    const message = rootMessage(error);
    expect(message).toContain(
      'column "event_time" has 1 value(s) that are not a valid timestamp (first at row 2)',
    );
    expect(message).not.toContain('yesterday-ish');
    const fg = await getFeatureGroup(database.db, group);
    expect(
      await database.db
        .select()
        .from(tables.featureGroupCommits)
        .where(eq(tables.featureGroupCommits.featureGroupId, fg.id)),
    ).toEqual([]);

    const missing = {
      ...pipeline,
      name: uniqueName('missing'),
      source: { kind: 'csv' as const, path: '/nonexistent/file.csv' },
    };
    const notFound = (await run({ pipeline: missing }).catch((e: unknown) => e)) as WorkflowFailedError;
    expect(rootMessage(notFound)).toContain('csv file /nonexistent/file.csv: no such file');
  });

  it('a file lacking a declared feature is refused naming the file and the column; a delete pipeline needs only keys', async () => {
    const group = await createGroup();
    const full = writeCsv('card_id,event_time,amount,txn_count_1h,amount_sum_1h', [
      'c1,2026-01-01T10:00:00Z,1,1,1',
      'c2,2026-01-01T10:00:00Z,2,1,2',
    ]);
    await run({
      pipeline: {
        name: uniqueName('load'),
        featureGroup: { name: group },
        source: { kind: 'csv', path: full },
      },
    });

    const lacking = writeCsv('card_id,event_time,amount,txn_count_1h', ['c3,2026-01-01T10:00:00Z,3,1']);
    const error = await run({
      pipeline: {
        name: uniqueName('lacking'),
        featureGroup: { name: group },
        source: { kind: 'csv', path: lacking },
      },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkflowFailedError);
    expect(rootMessage(error)).toContain(lacking);
    expect(rootMessage(error)).toContain('amount_sum_1h');

    // Deleting by record key: the file names only the key and the event time.
    const keys = writeCsv('card_id,event_time', ['c1,2026-01-01T10:00:00Z']);
    const deleted = await run({
      pipeline: {
        name: uniqueName('delete'),
        featureGroup: { name: group },
        source: { kind: 'csv', path: keys },
        operation: 'delete',
      },
    });
    expect(deleted.commit).toMatchObject({ rowsDeleted: 1 });
    const fg = await getFeatureGroup(database.db, group);
    const rows = await withDuck(async (duck) => {
      await new OfflineTable(deps, fg).registerSnapshot(duck, 's');
      return duck.all<{ card_id: string }>('SELECT card_id FROM s ORDER BY card_id');
    });
    expect(rows.map((r) => r.card_id)).toEqual(['c2']);
  });
});
