import fs from 'node:fs';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { bundleWorkflowCode, DefaultLogger, Worker, type WorkerOptions } from '@temporalio/worker';
import { and, desc, eq } from 'drizzle-orm';
import { activitiesFor, type FeaturePipelineActivities } from '../../activities';
import { loadConfig } from '../../core/config';
import { openDatabase, tables, type DatabaseHandle } from '../../core/db';
import { withDuck } from '../../core/duckdb';
import {
  computeCommitStatistics,
  getFeatureGroup,
  groupStatistics,
  OfflineTable,
  registerFeatureGroup,
  validateStaged,
  type FeatureDefinition,
  type IngestionDeps,
} from '../../core/featurestore';
import type { S3ObjectStore } from '../../core/storage';
import type { FeaturePipelineInput, FeaturePipelineResult } from '../../workflows';
import { uniqueGroupName } from '../support/featurestore';
import { uniqueName } from '../support/ids';
import { testIngestionDeps, writeCsv } from '../support/ingestion';
import { testObjectStore } from '../support/stores';
import { connectTestTemporal, type TemporalTestContext } from '../support/temporal';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Found-4/6/8 through the real Temporal server, PostgreSQL and S3: nothing after the commit fails a
// run, a re-run of a window says what it reused or supersedes it, validation reports stay single.
describe('featurePipeline: post-commit steps, window re-runs, validation reports', () => {
  let temporal: TemporalTestContext;
  let database: DatabaseHandle;
  let store: S3ObjectStore;
  let deps: IngestionDeps;
  let workflowBundle: { code: string };
  const taskQueue = uniqueName('fti-features-reruns');
  const window = { start: '2026-03-01T00:00:00.000Z', end: '2026-03-02T00:00:00.000Z' };
  const header = 'card_id,event_time,amount';

  beforeAll(async () => {
    temporal = await connectTestTemporal();
    database = await openDatabase({ url: loadConfig().databaseUrl });
    store = testObjectStore();
    deps = testIngestionDeps(database, store);
    workflowBundle = await bundleWorkflowCode({
      workflowsPath: require.resolve('../../workflows'),
      logger: new DefaultLogger('WARN'),
    });
  });
  afterAll(async () => {
    await store.deletePrefix('');
    store.close();
    await database.close();
    await temporal.close();
  });

  async function createGroup(amount: Partial<FeatureDefinition> = {}, expectations: unknown[] = []) {
    const name = uniqueGroupName('rerun');
    await registerFeatureGroup(database.db, {
      name,
      primaryKey: ['card_id'],
      eventTime: 'event_time',
      features: [
        { name: 'card_id', type: 'string' },
        { name: 'event_time', type: 'timestamp' },
        { name: 'amount', type: 'double', ...amount } as FeatureDefinition,
      ],
      online: { enabled: true },
      expectations: { name: 'e', expectations: expectations as never },
    });
    return name;
  }

  /** A pipeline reading `csv` (columns card_id, event_time, amount) into `group`. */
  function csvPipeline(name: string, group: string, csv: string) {
    return {
      name: uniqueName(name),
      featureGroup: { name: group },
      source: { kind: 'csv' as const, path: csv, timeColumn: 'event_time' },
    };
  }

  /** A worker of this file's queue whose activities may be wrapped (a forced failure, a call counter). */
  async function workerWith(
    wrap: (a: FeaturePipelineActivities) => Partial<FeaturePipelineActivities>,
    options: Partial<WorkerOptions> = {},
  ): Promise<Worker> {
    const base = activitiesFor(taskQueue, {
      db: database.db,
      store,
      ingestion: deps,
    }) as unknown as FeaturePipelineActivities;
    return Worker.create({
      ...options,
      connection: temporal.nativeConnection,
      namespace: temporal.namespace,
      taskQueue,
      workflowBundle,
      activities: { ...base, ...wrap(base) },
    });
  }

  /** Runs the workflow on a worker whose activities may be wrapped. */
  async function run(
    input: FeaturePipelineInput,
    wrap: (a: FeaturePipelineActivities) => Partial<FeaturePipelineActivities> = () => ({}),
  ): Promise<FeaturePipelineResult> {
    const worker = await workerWith(wrap);
    return worker.runUntil(
      temporal.client.workflow.execute('featurePipeline', {
        taskQueue,
        workflowId: uniqueName('fp-rerun'),
        args: [input],
      }),
    );
  }

  async function snapshot(group: string) {
    const fg = await getFeatureGroup(database.db, group);
    return withDuck(async (duck) => {
      await new OfflineTable(deps, fg).registerSnapshot(duck, 's');
      return duck.all<{ card_id: string; amount: number }>('SELECT card_id, amount FROM s ORDER BY card_id');
    });
  }

  /** The latest completed run record of the result's pipeline (tests here run one at a time). */
  async function runRecord(workflowResult: FeaturePipelineResult) {
    const t = tables.pipelineRuns;
    const [row] = await database.db
      .select()
      .from(t)
      .where(and(eq(t.name, workflowResult.pipeline), eq(t.status, 'completed')))
      .orderBy(desc(t.id))
      .limit(1);
    return row!;
  }

  it('a statistics step that still fails after its retries leaves the run completed with its commit and a warning; statistics can be recomputed', async () => {
    const group = await createGroup();
    const csv = writeCsv(header, ['c1,2026-03-01T01:00:00Z,10', 'c2,2026-03-01T02:00:00Z,20']);
    const pipeline = csvPipeline('stats-fails', group, csv);
    let commits = 0;
    const result = await run({ pipeline, window }, (a) => ({
      ingestFeatures: (...args) => {
        commits++;
        return a.ingestFeatures(...args);
      },
      computeFeatureStatistics: () => {
        throw ApplicationFailure.nonRetryable('statistics store unavailable (forced by the test)');
      },
    }));
    expect(commits).toBe(1);
    expect(result.commit).toMatchObject({ reused: false, rowsInserted: 2 });
    expect(result.online).toMatchObject({ applied: 2 });
    expect(result.statisticsId).toBeNull();
    expect(result.warnings).toEqual([
      expect.stringContaining(
        `statistics of commit ${result.commit.commitId} failed after their retries (statistics store unavailable (forced by the test)); the commit stands.`,
      ),
    ]);
    expect(await snapshot(group)).toEqual([
      { card_id: 'c1', amount: 10 },
      { card_id: 'c2', amount: 20 },
    ]);
    const record = await runRecord(result);
    expect(record.status).toBe('completed');
    expect(record.result).toMatchObject({ commitId: result.commit.commitId, warnings: result.warnings });

    // Redo: group statistics compute the missing ones when they merge, and so does
    // `fti fg stats --commit N --recompute` for one commit.
    const group1 = await groupStatistics(deps, { featureGroup: { name: group } });
    expect(group1).toMatchObject({ basis: 'merged', commitsMerged: 1, commitsComputed: 1 });
    expect(group1.statistics.amount).toMatchObject({ count: 2, mean: 15 });
    const later = await computeCommitStatistics(deps, {
      featureGroup: { name: group },
      commitId: result.commit.commitId,
      recompute: true,
    });
    expect(later.statistics?.amount).toMatchObject({ count: 2, mean: 15, min: 10, max: 20 });
  });

  it('an online write that fails once is retried on its own: one commit, online rows applied, no warning', async () => {
    const group = await createGroup();
    const csv = writeCsv(header, ['c1,2026-03-01T01:00:00Z,10']);
    const pipeline = csvPipeline('online-once', group, csv);
    let commits = 0;
    let onlineCalls = 0;
    const result = await run({ pipeline, window }, (a) => ({
      ingestFeatures: (...args) => {
        commits++;
        return a.ingestFeatures(...args);
      },
      writeFeaturesOnline: (...args) => {
        if (++onlineCalls === 1) throw new Error('online store connection reset (forced by the test)');
        return a.writeFeaturesOnline(...args);
      },
    }));
    expect([commits, onlineCalls]).toEqual([1, 2]);
    expect(result).toMatchObject({ online: { applied: 1 }, warnings: [], notice: null });
    const fg = await getFeatureGroup(database.db, group);
    const [row] = await deps.online.read(fg.spec, [{ card_id: 'c1' }]);
    expect(row).toMatchObject({ status: 'present', values: { amount: 10 } });
  });

  it('NaN and Infinity in a feature that allows them: the run completes and statistics count them (was: STDDEV_SAMP is out of range after the commit)', async () => {
    const group = await createGroup({ allowNonFinite: true } as Partial<FeatureDefinition>);
    const csv = writeCsv(header, [
      'c1,2026-03-01T01:00:00Z,NaN',
      'c2,2026-03-01T02:00:00Z,Infinity',
      'c3,2026-03-01T03:00:00Z,-Infinity',
      'c4,2026-03-01T04:00:00Z,4',
      'c5,2026-03-01T05:00:00Z,6',
    ]);
    const pipeline = csvPipeline('nonfinite', group, csv);
    const result = await run({ pipeline, window });
    expect(result.warnings).toEqual([]);
    expect(result.statisticsId).not.toBeNull();
    const [stats] = await database.db
      .select()
      .from(tables.featureStatistics)
      .where(eq(tables.featureStatistics.commitId, result.commit.commitId));
    expect(stats!.statistics).toMatchObject({
      amount: { count: 5, nonFinite: { nan: 1, posInf: 1, negInf: 1 }, min: 4, max: 6, mean: 5 },
    });
  });

  it('a re-run of a window whose source changed says it reused commit N; --rerun supersedes it and the snapshot equals the new source', async () => {
    const group = await createGroup();
    const csv = writeCsv(header, [
      'c1,2026-03-01T01:00:00Z,10',
      'c2,2026-03-01T02:00:00Z,20',
      'c3,2026-03-01T03:00:00Z,30',
    ]);
    const pipeline = csvPipeline('window', group, csv);
    const first = await run({ pipeline, window });
    const n = first.commit.commitId;
    expect(first.notice).toBeNull();

    const same = await run({ pipeline, window });
    expect(same.commit).toMatchObject({ commitId: n, reused: true, sourceChanged: false });
    expect(same.notice).toContain(
      `reused commit ${n} for window [${window.start}, ${window.end}): the source is unchanged`,
    );

    // The source is fixed: c2 corrected, c3 removed, c4 added.
    fs.writeFileSync(
      csv,
      `${header}\nc4,2026-03-01T04:00:00Z,40\nc1,2026-03-01T01:00:00Z,10\nc2,2026-03-01T02:00:00Z,25\n`,
    );
    const changed = await run({ pipeline, window });
    expect(changed.commit).toMatchObject({ commitId: n, reused: true, sourceChanged: true });
    expect(changed.notice).toContain(`reused commit ${n}`);
    expect(changed.notice).toContain('the source changed since that commit was written');
    expect(changed.notice).toContain(`--start ${window.start} --end ${window.end} --rerun`);
    expect((await runRecord(changed)).result).toMatchObject({
      reused: true,
      sourceChanged: true,
      notice: changed.notice,
    });
    expect(await snapshot(group)).toHaveLength(3); // still the old content

    const rerun = await run({ pipeline, window, rerun: true });
    const m = rerun.commit.commitId;
    expect(m).not.toBe(n);
    expect(rerun.commit).toMatchObject({ reused: false, supersedesCommitId: n });
    expect(rerun.notice).toContain(`commit ${m} supersedes commit ${n}`);
    expect(await snapshot(group)).toEqual([
      { card_id: 'c1', amount: 10 },
      { card_id: 'c2', amount: 25 },
      { card_id: 'c4', amount: 40 },
    ]);
    const fg = await getFeatureGroup(database.db, group);
    const timeline = await new OfflineTable(deps, fg).timeline();
    expect(timeline.map((c) => [c.id, c.supersedesCommitId])).toEqual([
      [n, null],
      [m, n],
    ]);
    // Online follows: the removed key's row is gone or older rows never win (upsert-if-newer).
    const [c2] = await deps.online.read(fg.spec, [{ card_id: 'c2' }]);
    expect(c2).toMatchObject({ status: 'present', values: { amount: 25 } });

    // Later plain runs of the window reuse the window's latest commit, not the superseded one.
    const after = await run({ pipeline, window });
    expect(after.commit).toMatchObject({ commitId: m, reused: true, sourceChanged: false });

    // Group statistics merge per-commit sketches, leaving out the superseded commit: they equal the snapshot's.
    const merged = await groupStatistics(deps, { featureGroup: { name: group } });
    const exact = await groupStatistics(deps, { featureGroup: { name: group }, exact: true });
    expect(merged).toMatchObject({ basis: 'merged', commitsMerged: 1, headCommitId: m });
    expect(merged.statistics.amount).toMatchObject({ count: 3, min: 10, max: 40, mean: 25 });
    expect(exact.statistics.amount).toMatchObject({ count: 3, min: 10, max: 40, mean: 25 });
  });

  it('a run cancelled before its commit writes nothing: the ingest step stops at its next phase', async () => {
    const group = await createGroup();
    const csv = writeCsv(header, ['c1,2026-03-01T01:00:00Z,10']);
    const pipeline = csvPipeline('cancelled', group, csv);
    let step: ReturnType<FeaturePipelineActivities['ingestFeatures']> | undefined;
    let cancelSeen = false;
    const worker = await workerWith(
      (base) => ({
        // Holds the step until Temporal delivers the cancellation (with a heartbeat), then runs it.
        ingestFeatures: (run) => {
          step = (async () => {
            const context = Context.current();
            const deadline = Date.now() + 30_000;
            while (!context.cancellationSignal.aborted && Date.now() < deadline) {
              context.heartbeat('waiting for the cancellation');
              await sleep(50);
            }
            cancelSeen = context.cancellationSignal.aborted;
            return base.ingestFeatures(run);
          })();
          return step;
        },
      }),
      { maxHeartbeatThrottleInterval: '200 milliseconds' },
    );
    await worker.runUntil(async () => {
      const handle = await temporal.client.workflow.start('featurePipeline', {
        taskQueue,
        workflowId: uniqueName('fp-cancel'),
        args: [{ pipeline, window }],
      });
      while (!step) await sleep(20);
      await handle.cancel();
      await expect(handle.result()).rejects.toThrow();
      await step.catch(() => undefined);
    });
    expect(cancelSeen).toBe(true);
    await expect(step).rejects.toThrow(/cancelled before its commit; nothing was written/);
    const fg = await getFeatureGroup(database.db, group);
    const commits = await database.db
      .select()
      .from(tables.featureGroupCommits)
      .where(eq(tables.featureGroupCommits.featureGroupId, fg.id));
    expect(commits).toEqual([]);
    expect(await deps.online.count(fg.spec)).toBe(0);
  });

  it('an ingest step retried after it committed returns its own commit even though the source changed in between, and the window run again keeps one validation report and one commit', async () => {
    const group = await createGroup({}, [
      { type: 'expect_column_values_to_be_between', column: 'amount', max: 15, severity: 'warning' },
    ]);
    const rows = ['c1,2026-03-01T01:00:00Z,10', 'c2,2026-03-01T02:00:00Z,20'];
    const csv = writeCsv(header, rows);
    const pipeline = csvPipeline('reports', group, csv);
    let attempts = 0;
    let first: Awaited<ReturnType<FeaturePipelineActivities['ingestFeatures']>> | undefined;
    const result = await run({ pipeline, window }, (a) => ({
      // The first attempt stores its report and commits, then dies before Temporal hears of it, and a
      // late row lands in the source: Temporal retries the whole step.
      ingestFeatures: async (...args) => {
        const out = await a.ingestFeatures(...args);
        if (++attempts === 1) {
          first = out;
          fs.appendFileSync(csv, 'c3,2026-03-01T03:00:00Z,30\n');
          throw new Error('worker lost after validating and committing (forced by the test)');
        }
        return out;
      },
    }));
    expect(attempts).toBe(2);
    expect(first?.commit).toMatchObject({ reused: false, rowsInserted: 2 });
    // The retry returned the commit its first attempt wrote, as written: the late row is not in it,
    // and the run does not call its own commit reused or its source changed.
    expect(result.commit).toMatchObject({
      commitId: first!.commit.commitId,
      reused: false,
      sourceChanged: false,
      rowsInserted: 2,
    });
    expect(result).toMatchObject({ rowsWritten: 2, notice: null, validation: first!.validation.summary });
    expect(await snapshot(group)).toEqual([
      { card_id: 'c1', amount: 10 },
      { card_id: 'c2', amount: 20 },
    ]);
    fs.writeFileSync(csv, `${header}\n${rows.join('\n')}\n`); // the source as committed, for the run below
    await run({ pipeline, window });
    const fg = await getFeatureGroup(database.db, group);
    const commitRows = await database.db
      .select()
      .from(tables.featureGroupCommits)
      .where(eq(tables.featureGroupCommits.featureGroupId, fg.id));
    expect(commitRows.map((c) => c.state)).toEqual(['completed']);
    const reports = await database.db
      .select()
      .from(tables.validationReports)
      .where(eq(tables.validationReports.featureGroupId, fg.id));
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ commitId: result.commit.commitId, success: false });

    // The step itself is idempotent by key: called again directly with the same key, still one report.
    const staged = `staging/tests/${uniqueName('report')}.parquet`;
    await withDuck(async (duck) => {
      const file = `${deps.scratchDir}/${uniqueName('batch')}.parquet`;
      fs.mkdirSync(deps.scratchDir, { recursive: true });
      await duck.run(
        `COPY (SELECT 'c9' AS card_id, TIMESTAMP '2026-03-01 05:00:00' AS event_time, 99.0 AS amount) TO '${file}' (FORMAT parquet)`,
      );
      await store.putFile(staged, file);
    });
    const input = {
      stagedKey: staged,
      featureGroup: { name: group },
      policy: 'always' as const,
      idempotencyKey: 'k#1',
    };
    const a = await validateStaged(deps, input);
    const b = await validateStaged(deps, input);
    expect(b.reportId).toBe(a.reportId);
  });
});
