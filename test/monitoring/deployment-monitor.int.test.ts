import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { loadConfig } from '../../core/config';
import { openDatabase, type DatabaseHandle } from '../../core/db';
import { runTrainingPipeline } from '../../core/ml';
import { createApiKey } from '../../core/serving/api-keys';
import { runBatchInference } from '../../core/serving/batch';
import { createDeployment } from '../../core/serving/deployments';
import { createInferenceServer, type InferenceServer } from '../../core/serving/server';
import { PredictionLogWriter } from '../../core/serving/prediction-log';
import type { S3ObjectStore } from '../../core/storage';
import { commitRows } from '../support/featureviews';
import { uniqueName } from '../support/ids';
import { runCli, runCliAsync } from '../support/cli';
import {
  connectTestTemporal,
  createTestWorkers,
  withWorkers,
  type TemporalTestContext,
} from '../support/temporal';
import { monitorScheduleId } from '../../cli/schedules';
import { testObjectStore } from '../support/stores';
import { createChurnView, testTrainingDeps, type TrainingTestDeps } from '../support/training';
import { runDeploymentMonitor } from '../../core/monitoring/deployment-monitor';
import { monitorHistory, saveMonitor } from '../../core/monitoring/monitors';
import { pushLabels } from '../../core/monitoring/labels';
import { saveAlertSink } from '../../core/monitoring/alerts/rules';

// A deployment monitor over real served traffic: the inference service logs requests to the real
// prediction log; the monitor reads a window of it, and of batch runs, and compares each with the
// model's stored references.
describe('deployment monitor (real service, Postgres, S3)', () => {
  let database: DatabaseHandle;
  let store: S3ObjectStore;
  let deps: TrainingTestDeps;
  let server: InferenceServer;
  let temporal: TemporalTestContext;
  let base: string;
  let key: string;
  let activity: Awaited<ReturnType<typeof createChurnView>>['activity'];
  const deployment = uniqueName('mon').replace(/-/g, '_');
  const monitor = uniqueName('mon');
  const scratchDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-monitor-'));
  let traffic: { start: Date; end: Date };
  const logged = async () =>
    Number(
      (
        await database.pool.query('SELECT count(*) AS n FROM prediction_logs WHERE deployment = $1', [
          deployment,
        ])
      ).rows[0].n,
    );
  const untilLogged = async (n: number) => {
    for (let i = 0; i < 100 && (await logged()) < n; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await logged()).toBe(n);
  };
  const post = async (route: string, body: unknown) => {
    const response = await fetch(`${base}${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(200);
    return (await response.json()) as Record<string, unknown>;
  };
  const predict = (customers: number[]) =>
    post(`/v1/deployments/${deployment}/predict`, {
      instances: customers.map((c) => ({ keys: { customer_id: c } })),
    });

  beforeAll(async () => {
    temporal = await connectTestTemporal();
    database = await openDatabase({ url: loadConfig().databaseUrl });
    store = testObjectStore();
    deps = testTrainingDeps(database, store);
    const churn = await createChurnView(deps, { rows: 800 });
    activity = churn.activity;
    const model = uniqueName('mon_model').replace(/-/g, '_');
    await runTrainingPipeline(
      deps,
      {
        name: 'mon-gbdt',
        model,
        featureView: { name: churn.view },
        alias: 'champion',
        trainer: { name: 'gbdt', params: { numTrees: 20, maxDepth: 3 } },
      },
      uniqueName('r'),
    );
    await createDeployment(database.db, {
      name: deployment,
      variants: [{ variant: 'main', model, version: 'champion', weight: 100 }],
      createdBy: 'test',
    });
    server = await createInferenceServer({ ...deps, pool: database.pool });
    await server.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(server.app.server.address() as { port: number }).port}`;
    key = (await createApiKey(database.db, uniqueName('mon-key'))).key;
    await saveMonitor(database.db, {
      name: monitor,
      subjectType: 'deployment',
      subject: deployment,
      everySeconds: 3600,
    });
  });
  afterAll(async () => {
    await temporal?.close();
    await server?.close();
    await database.pool.query('DELETE FROM prediction_logs WHERE deployment = $1', [deployment]);
    await database.close();
    store.close();
    fs.rmSync(scratchDir, { recursive: true, force: true });
  });

  it('finds no problem in undrifted traffic, then drift, unseen categories and out-of-range values after the data changes', async () => {
    const t0 = new Date();
    const before = Array.from({ length: 400 }, (_, i) => i);
    for (let i = 0; i < before.length; i += 100) await predict(before.slice(i, i + 100));
    await untilLogged(400);
    const t1 = new Date();
    const calm = await runDeploymentMonitor({ ...deps, scratchDir }, monitor, t1, t0);
    expect(calm).toMatchObject({ status: 'ok', rows: 400, problems: [], computed: true });

    // The world changes for customers 400…799: many more sessions, and a plan training never saw.
    await commitRows(
      deps,
      activity,
      Array.from({ length: 400 }, (_, i) => ({
        customer_id: 400 + i,
        ts: new Date(),
        sessions: 40 + (i % 30),
        plan: i % 2 === 0 ? 'enterprise' : 'free',
        tenure_days: (i * 7) % 1000,
      })),
    );
    const after = Array.from({ length: 400 }, (_, i) => 400 + i);
    for (let i = 0; i < after.length; i += 100) await predict(after.slice(i, i + 100));
    // Model inputs straight over OIP (one-hot and scaled already), with the same shift in sessions.
    await post(`/v2/models/${deployment}/infer`, {
      inputs: [
        {
          name: 'features',
          shape: [200, 4],
          datatype: 'FP32',
          data: Array.from({ length: 200 }, (_, i) => [45 + (i % 10), 1, 0, 0]).flat(),
        },
      ],
    });
    await untilLogged(1000);
    const t2 = new Date();
    traffic = { start: t0, end: t2 };
    const drifted = await runDeploymentMonitor({ ...deps, scratchDir }, monitor, t2, t1);
    expect(drifted.status).toBe('problems');
    expect(drifted.rows).toBe(600);
    const problems = drifted.problems.join('\n');
    expect(problems).toMatch(/^main feature sessions: drift \(ks /m);
    expect(problems).toMatch(/^main feature sessions: .* outside the reference range/m);
    expect(problems).toMatch(/^main feature plan: .* unseen categories \(enterprise\)/m);
    expect(problems).toMatch(/^main model_input sessions: drift/m);
    // tenure_days was drawn like training: no false alarm on it.
    expect(problems).not.toMatch(/feature tenure_days/);

    // Stored as a time series; a retried window writes nothing new.
    const again = await runDeploymentMonitor({ ...deps, scratchDir }, monitor, t2, t1);
    expect(again).toMatchObject({ runId: drifted.runId, computed: false, status: 'problems' });
    const { runs } = await monitorHistory(database.db, monitor);
    expect(runs.map((r) => r.status)).toEqual(['problems', 'ok']);
    const sessions = runs[0]!.results.find((r) => r.role === 'feature' && r.column === 'sessions')!;
    expect(sessions).toMatchObject({
      segment: 'main',
      kind: 'numeric',
      values: 400,
      method: 'ks',
      drift: true,
    });
    expect(sessions.outOfRange).toBeGreaterThan(0.3);
    const plan = runs[0]!.results.find((r) => r.role === 'feature' && r.column === 'plan')!;
    expect(plan.unseen).toBeCloseTo(0.5, 6);
    const predictions = runs[0]!.results.filter((r) => r.role === 'prediction').map((r) => r.column);
    expect(predictions.sort()).toEqual(['label', 'probability:false', 'probability:true']);
    expect(runs[1]!.results.filter((r) => r.drift)).toEqual([]);

    // Prometheus: the latest window's verdicts, per column, on the service's /metrics.
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain(
      `fti_monitor_drift{monitor="${monitor}",segment="main",role="feature",column="sessions"} 1`,
    );
    expect(metrics).toContain(
      `fti_monitor_drift{monitor="${monitor}",segment="main",role="feature",column="tenure_days"} 0`,
    );
    expect(metrics).toMatch(new RegExp(`fti_monitor_rows\\{monitor="${monitor}"\\} 600`));
  });

  it('checks rows that reached only the spill files (Postgres refused them): their segment, count, drift and labels', async () => {
    // Served rows of the drifted traffic, logged again while Postgres refuses every batch.
    const { rows } = await database.pool.query(
      `SELECT deployment_version, variant, model_version, request_id, entity, features, prediction
       FROM prediction_logs WHERE deployment = $1 AND variant = 'main' AND entity ? 'customer_id'
       ORDER BY id DESC LIMIT 300`,
      [deployment],
    );
    expect(rows).toHaveLength(300);
    const url = new URL(loadConfig().databaseUrl);
    url.pathname = '/no_such_database_for_logs';
    const refusing = new pg.Pool({ connectionString: url.toString(), max: 1 });
    refusing.on('error', () => undefined);
    const writer = new PredictionLogWriter(refusing, { flushMs: 60_000, spill: { store, scratchDir } });
    const t0 = new Date();
    for (const r of rows)
      writer.log({
        deployment,
        deploymentVersion: r.deployment_version,
        variant: r.variant,
        modelVersion: r.model_version,
        shadow: false,
        requestId: r.request_id,
        entity: r.entity,
        features: r.features,
        prediction: r.prediction,
        latencyMs: 1,
      });
    await writer.close();
    await refusing.end();
    expect(writer.spilled).toBe(300);
    // Their outcomes arrive: labels join spilled rows as they join logged ones.
    await pushLabels(
      database.db,
      deployment,
      rows.map((r) => ({
        keys: r.entity,
        eventTime: t0.toISOString(),
        label: Number((r.entity as { customer_id: number }).customer_id) % 2 ? 'true' : 'false',
      })),
    );
    const t1 = new Date();
    const spilled = await runDeploymentMonitor({ ...deps, scratchDir }, monitor, t1, t0);
    expect(spilled).toMatchObject({ status: 'problems', rows: 300 });
    expect(spilled.problems.join('\n')).toMatch(/^main feature sessions: drift/m);
    const { runs } = await monitorHistory(database.db, monitor, { last: 1 });
    expect(runs[0]!.summary).toMatchObject({ rows: { main: 300 } });
    const coverage = runs[0]!.results.find(
      (r) => r.segment === 'main' && r.role === 'performance' && r.column === 'label_coverage',
    );
    expect(coverage).toMatchObject({ values: 300, score: 1 });
  });

  it('fti monitor create schedules it; run checks a window through a worker; report and list show it; delete removes both', async () => {
    const name = uniqueName('cli-mon');
    const created = runCli([
      'monitor',
      'create',
      deployment,
      '--name',
      name,
      '--every',
      '1h',
      '--threshold',
      'sessions.threshold=0.001',
      '--json',
    ]);
    expect(created.stderr).toBe('');
    expect(JSON.parse(created.stdout)).toMatchObject({ scheduleId: monitorScheduleId(name), created: true });
    const schedule = await temporal.client.schedule.getHandle(monitorScheduleId(name)).describe();
    expect(schedule.action).toMatchObject({ workflowType: 'monitorWindow', taskQueue: 'fti-inference' });
    expect(schedule.spec.intervals?.[0]?.every).toBe(3_600_000);

    // A drift rule on this monitor, delivering to a local receiver: the window's alert arrives.
    const received: { kind: string; columns: { column: string }[] }[] = [];
    const receiver = http.createServer((request, response) => {
      let body = '';
      request.on('data', (c: Buffer) => (body += c.toString('utf8')));
      request.on('end', () => {
        const alert = (
          JSON.parse(body) as { alert: { kind: string; details: { columns: { column: string }[] } } }
        ).alert;
        received.push({ kind: alert.kind, columns: alert.details.columns });
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', () => resolve()));
    const sink = uniqueName('mon-sink');
    await saveAlertSink(database.db, {
      name: sink,
      url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/alerts`,
      format: 'json',
    });
    const ruleCreated = runCli([
      'alerts',
      'rule',
      'create',
      uniqueName('mon-drift'),
      '--kind',
      'drift',
      '--subject',
      name,
      '--sink',
      sink,
      '--roles',
      'feature',
    ]);
    expect(ruleCreated.stderr).toBe('');
    expect(ruleCreated.stdout).toContain(`evaluated after each window of monitor ${name}`);

    const taskQueue = uniqueName('fti-monitor');
    const [worker] = await createTestWorkers(temporal, [taskQueue], {
      db: database.db,
      store,
      inference: deps,
    });
    // The worker keeps running until the alert's delivery (a child workflow the window started) arrives.
    const run = await withWorkers([worker!], async () => {
      const result = await runCliAsync([
        'monitor',
        'run',
        name,
        '--start',
        traffic.start.toISOString(),
        '--end',
        traffic.end.toISOString(),
        '--task-queue',
        taskQueue,
        '--json',
      ]);
      for (let i = 0; i < 100 && received.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
      return result;
    });
    expect(run.stderr).toBe('');
    const summary = JSON.parse(run.stdout) as { status: string; rows: number; problems: string[] };
    expect(summary).toMatchObject({ status: 'problems', rows: 1000 });
    expect(summary.problems.join('\n')).toMatch(/main feature sessions: drift/);
    receiver.close();
    expect(received).toHaveLength(1);
    expect(received[0]!.kind).toBe('drift');
    expect(received[0]!.columns.map((c) => c.column)).toEqual(expect.arrayContaining(['sessions', 'plan']));

    const report = runCli(['monitor', 'report', name]);
    expect(report.stdout).toContain(`monitor ${name}: deployment ${deployment}, every 3600 s, window 3600 s`);
    expect(report.stdout).toMatch(/main\s+feature\s+sessions\s+800\s+ks\s+0\.0000\s+0\.001\s+yes/);
    const listed = JSON.parse(runCli(['monitor', 'list', '--json']).stdout) as {
      name: string;
      latest: { status: string; results: unknown[] };
    }[];
    expect(listed.find((m) => m.name === name)?.latest.status).toBe('problems');
    // A summary per monitor, not every column of every monitor (that grew past 1 MB in CI).
    expect(listed.find((m) => m.name === name)?.latest.results).toEqual([]);

    const bad = runCli(['monitor', 'create', deployment, '--name', name, '--threshold', 'sessions.limit=2']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('--threshold "sessions.limit=2" must look like <column>.<key>=<value>');
    const missing = runCli(['monitor', 'create', 'no_such_deployment']);
    expect(missing.stderr).toContain('no_such_deployment');

    expect(runCli(['monitor', 'delete', name]).code).toBe(0);
    await expect(temporal.client.schedule.getHandle(monitorScheduleId(name)).describe()).rejects.toThrow();
    expect(runCli(['monitor', 'report', name]).stderr).toContain(`monitor ${name} does not exist`);
  }, 180_000);

  it('checks batch-inference inputs and predictions from the profile each batch stored', async () => {
    const start = new Date();
    const result = await runBatchInference(deps, {
      deployment,
      window: { start: new Date(Date.UTC(2026, 0, 1, 0)), end: new Date(Date.UTC(2026, 0, 1, 6)) },
    });
    const end = new Date();
    const run = await runDeploymentMonitor({ ...deps, scratchDir }, monitor, end, start);
    const { runs } = await monitorHistory(database.db, monitor, { last: 1 });
    expect(runs[0]!.id).toBe(run.runId);
    const batch = runs[0]!.results.filter((r) => r.segment === 'batch:main');
    expect(batch.find((r) => r.role === 'feature' && r.column === 'sessions')!.values).toBe(result.rows);
    expect(batch.find((r) => r.role === 'prediction' && r.column === 'label')!.values).toBe(result.rows);
  });
});
