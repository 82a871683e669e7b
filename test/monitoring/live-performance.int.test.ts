import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../core/config';
import { openDatabase, type DatabaseHandle } from '../../core/db';
import { runTrainingPipeline } from '../../core/ml';
import { OnDemandRegistry } from '../../core/featurestore';
import { evaluateMonitorRules } from '../../core/monitoring/alerts/evaluate';
import { listAlerts } from '../../core/monitoring/alerts/lifecycle';
import { saveAlertRule, saveAlertSink } from '../../core/monitoring/alerts/rules';
import { runDeploymentMonitor } from '../../core/monitoring/deployment-monitor';
import { monitorHistory, saveMonitor } from '../../core/monitoring/monitors';
import { createApiKey } from '../../core/serving/api-keys';
import { createDeployment } from '../../core/serving/deployments';
import { createInferenceServer, type InferenceServer } from '../../core/serving/server';
import type { S3ObjectStore } from '../../core/storage';
import { runCli } from '../support/cli';
import { uniqueName } from '../support/ids';
import { testObjectStore } from '../support/stores';
import { createChurnView, testTrainingDeps, type TrainingTestDeps } from '../support/training';

// Live performance against the real service and Postgres: predictions logged with event times,
// labels pushed later (some late, some never, some for another time), joined by entity keys and
// event time; realized metrics per variant (shadow included) and slice, label coverage, CBPE
// estimates, and a performance alert.
describe('live performance from delayed labels (real service, Postgres)', () => {
  let database: DatabaseHandle;
  let store: S3ObjectStore;
  let deps: TrainingTestDeps;
  let server: InferenceServer;
  let base: string;
  let key: string;
  const deployment = uniqueName('perf').replace(/-/g, '_');
  const scratchDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-perf-'));
  const eventTime = (i: number) => new Date(Date.UTC(2026, 5, 1) + i * 1000).toISOString();
  const post = async (route: string, body: unknown) => {
    const response = await fetch(`${base}${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    database = await openDatabase({ url: loadConfig().databaseUrl });
    store = testObjectStore();
    deps = testTrainingDeps(database, store);
    const churn = await createChurnView(deps, { rows: 800 });
    const model = uniqueName('perf_model').replace(/-/g, '_');
    const spec = { model, featureView: { name: churn.view } } as const;
    await runTrainingPipeline(
      deps,
      {
        ...spec,
        name: 'perf-gbdt',
        alias: 'champion',
        trainer: { name: 'gbdt', params: { numTrees: 20, maxDepth: 3 } },
      },
      uniqueName('r'),
    );
    await runTrainingPipeline(
      deps,
      {
        ...spec,
        name: 'perf-logreg',
        trainingDataset: { version: 1 },
        alias: 'challenger',
        trainer: { name: 'logistic_regression' },
      },
      uniqueName('r'),
    );
    await createDeployment(database.db, {
      name: deployment,
      variants: [
        { variant: 'main', model, version: 'champion', weight: 100 },
        { variant: 'challenger', model, version: 'challenger', weight: 0, shadow: true },
      ],
      createdBy: 'test',
    });
    server = await createInferenceServer({ ...deps, pool: database.pool });
    await server.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(server.app.server.address() as { port: number }).port}`;
    key = (await createApiKey(database.db, uniqueName('perf-key'), { scopes: ['predict', 'labels'] })).key;
  });
  afterAll(async () => {
    await server?.close();
    await database.pool.query('DELETE FROM prediction_logs WHERE deployment = $1', [deployment]);
    await database.pool.query(`DELETE FROM alert_rules WHERE name LIKE 'perf-it-%'`);
    await database.close();
    store.close();
    fs.rmSync(scratchDir, { recursive: true, force: true });
  });

  it('joins labels by keys and event time, with coverage, per variant and slice, next to CBPE estimates; a performance rule fires', async () => {
    const t0 = new Date();
    const predicted: string[] = [];
    for (let start = 0; start < 600; start += 200) {
      const { status, body } = await post(`/v1/deployments/${deployment}/predict`, {
        instances: Array.from({ length: 200 }, (_, j) => ({
          keys: { customer_id: start + j },
          eventTime: eventTime(start + j),
        })),
      });
      expect(status).toBe(200);
      for (const p of body.predictions as { label: string }[]) predicted.push(p.label);
    }
    const flip = (label: string) => (label === 'true' ? 'false' : 'true');
    // Logged rows: 600 answered + 600 shadow scores.
    for (let i = 0; i < 100; i++) {
      const { rows } = await database.pool.query(
        'SELECT count(*) AS n FROM prediction_logs WHERE deployment = $1',
        [deployment],
      );
      if (Number(rows[0].n) >= 1200) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const t1 = new Date();

    // Labels for a deployment that does not exist: 404, naming it.
    const unknown = await post(`/v1/deployments/no_such_deployment/labels`, {
      labels: [{ keys: { customer_id: 1 }, eventTime: eventTime(1), label: 'true' }],
    });
    expect(unknown.status).toBe(404);
    expect(String(unknown.body.error)).toContain('no_such_deployment');
    // Storing labels never loads the model or its feature code (a service without the view's
    // on-demand functions must still take them): the route reads only the deployment's contract.
    const lean = await createInferenceServer({
      ...deps,
      onDemand: new OnDemandRegistry(),
      pool: database.pool,
    });
    try {
      await lean.app.listen({ port: 0, host: '127.0.0.1' });
      const stored = await fetch(
        `http://127.0.0.1:${(lean.app.server.address() as { port: number }).port}/v1/deployments/${deployment}/labels`,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
          body: JSON.stringify({
            labels: [{ keys: { customer_id: 5 }, eventTime: eventTime(5), label: predicted[5] }],
          }),
        },
      );
      expect(stored.status).toBe(200);
      expect(lean.runtime.activeDeployments).toEqual([]);
    } finally {
      await lean.close();
    }

    // Bad labels are refused whole: nothing stored.
    const bad = await post(`/v1/deployments/${deployment}/labels`, {
      labels: [
        { keys: { customer_id: 1 }, eventTime: eventTime(1), label: 'maybe' },
        { keys: { account: 1 }, eventTime: eventTime(2), label: 'true' },
      ],
    });
    expect(bad.status).toBe(400);
    expect(String(bad.body.error)).toContain(
      "labels[0].label must be one of the model's classes (false, true)",
    );
    expect(String(bad.body.error)).toContain('labels[1].keys.customer_id is missing');
    // 0–299: the predicted label at the exact event time (right); 400–449: a day off (no join).
    const first = await post(`/v1/deployments/${deployment}/labels`, {
      labels: [
        ...Array.from({ length: 300 }, (_, i) => ({
          keys: { customer_id: i },
          eventTime: eventTime(i),
          label: predicted[i],
        })),
        ...Array.from({ length: 50 }, (_, j) => ({
          keys: { customer_id: 400 + j },
          eventTime: new Date(Date.parse(eventTime(400 + j)) + 86_400_000).toISOString(),
          label: predicted[400 + j],
        })),
      ],
    });
    expect(first).toMatchObject({ status: 200, body: { stored: 350 } });
    // 300–399 arrive later, from a file, 30 s off the prediction's event time (within tolerance), all wrong.
    const csv = path.join(scratchDir, 'late.csv');
    fs.writeFileSync(
      csv,
      [
        'customer_id,event_time,churned',
        ...Array.from(
          { length: 100 },
          (_, j) =>
            `${300 + j},${new Date(Date.parse(eventTime(300 + j)) + 30_000).toISOString()},${flip(predicted[300 + j]!)}`,
        ),
      ].join('\n'),
    );
    const pushed = runCli(['labels', 'push', deployment, csv, '--label-column', 'churned']);
    expect(pushed.stderr).toBe('');
    expect(pushed.stdout).toContain('100 labels stored');

    const monitor = uniqueName('perf-mon');
    await saveMonitor(database.db, {
      name: monitor,
      subjectType: 'deployment',
      subject: deployment,
      everySeconds: 3600,
      sliceColumn: 'plan',
    });
    const sink = uniqueName('perf-it-sink');
    await saveAlertSink(database.db, { name: sink, url: 'http://127.0.0.1:9/unused', format: 'json' });
    await saveAlertRule(database.db, {
      name: uniqueName('perf-it-accuracy'),
      kind: 'performance',
      subject: monitor,
      condition: { metric: 'accuracy', below: 0.8 },
      sinks: [sink],
    });
    const summary = await runDeploymentMonitor({ ...deps, scratchDir }, monitor, t1, t0);
    const { runs } = await monitorHistory(database.db, monitor, { last: 1 });
    const results = runs[0]!.results;
    const metric = (segment: string, role: string, column: string) =>
      results.find((r) => r.segment === segment && r.role === role && r.column === column);

    // 600 predictions, 400 joined labels (300 right, 100 wrong), 200 without a label.
    expect(metric('main', 'performance', 'label_coverage')).toMatchObject({ values: 600 });
    expect(metric('main', 'performance', 'label_coverage')!.score).toBeCloseTo(400 / 600, 12);
    expect(metric('main', 'performance', 'accuracy')).toMatchObject({ values: 400, method: 'realized' });
    expect(metric('main', 'performance', 'accuracy')!.score).toBeCloseTo(0.75, 12);
    expect(metric('main', 'performance', 'roc_auc')).toBeDefined();
    expect(metric('main', 'performance', 'log_loss')).toBeDefined();
    // The shadow challenger is judged on the same labelled rows.
    expect(metric('challenger', 'performance', 'label_coverage')!.score).toBeCloseTo(400 / 600, 12);
    expect(metric('challenger', 'performance', 'accuracy')!.values).toBe(400);
    // Slices by plan add up to the labelled rows.
    const slices = results.filter((r) => r.segment.startsWith('main/plan=') && r.column === 'accuracy');
    expect(slices.map((s) => s.segment).sort()).toEqual(['main/plan=free', 'main/plan=pro']);
    expect(slices.reduce((a, s) => a + s.values, 0)).toBe(400);
    // CBPE: estimates for every scored row, inside their bands, also stored next to the realized value.
    const estimated = metric('main', 'estimated_performance', 'roc_auc')!;
    expect(estimated).toMatchObject({ values: 600, method: 'cbpe' });
    const band = estimated.details as { lower: number; upper: number };
    expect(band.lower).toBeLessThanOrEqual(estimated.score!);
    expect(band.upper).toBeGreaterThanOrEqual(estimated.score!);
    expect(
      (metric('main', 'performance', 'accuracy')!.details as { estimated?: { value: number } }).estimated
        ?.value,
    ).toBeGreaterThan(0.5);

    // Shown by the report and exported to Prometheus.
    const report = runCli(['monitor', 'report', monitor]);
    expect(report.stdout).toMatch(/main\s+realized\s+accuracy\s+0\.7500\s+400\s+estimated 0\.\d+/);
    expect(report.stdout).toMatch(/main\s+estimated\s+roc_auc\s+0\.\d+\s+600\s+band /);
    const scraped = await (await fetch(`${base}/metrics`)).text();
    expect(scraped).toContain(
      `fti_monitor_performance{monitor="${monitor}",segment="main",kind="realized",metric="accuracy"} 0.75`,
    );

    // realized accuracy 0.75 < 0.8: the performance rule fires for both variants' window.
    const notifications = await evaluateMonitorRules(database.db, summary);
    expect(notifications).toHaveLength(1);
    const [alert] = await listAlerts(database.db, { state: 'firing' }).then((a) =>
      a.filter((x) => x.id === notifications[0]!.alertId),
    );
    expect(alert!.title).toContain('Realized accuracy');
    expect(alert!.summary).toContain('main accuracy = 0.750 on 400 rows');

    // A replay compressed in time names the served window whose labels a window reports; by
    // default it is the window one label delay (here a day) earlier, which served nothing.
    const delayed = uniqueName('perf-mon-delay');
    await saveMonitor(database.db, {
      name: delayed,
      subjectType: 'deployment',
      subject: deployment,
      everySeconds: 60,
      labelDelaySeconds: 86_400,
    });
    const later = { start: new Date(t1.getTime() + 1), end: new Date(t1.getTime() + 60_000) };
    await runDeploymentMonitor({ ...deps, scratchDir }, delayed, later.end, later.start);
    const byDelay = (await monitorHistory(database.db, delayed, { last: 1 })).runs[0]!.results;
    expect(byDelay.filter((r) => r.role === 'performance')).toEqual([]);
    const replayed = uniqueName('perf-mon-replay');
    await saveMonitor(database.db, {
      name: replayed,
      subjectType: 'deployment',
      subject: deployment,
      everySeconds: 60,
      labelDelaySeconds: 86_400,
    });
    await runDeploymentMonitor({ ...deps, scratchDir }, replayed, later.end, later.start, {
      performanceWindow: { start: t0, end: t1 },
    });
    const byWindow = (await monitorHistory(database.db, replayed, { last: 1 })).runs[0]!;
    const accuracy = byWindow.results.find(
      (r) => r.segment === 'main' && r.role === 'performance' && r.column === 'accuracy',
    );
    expect(accuracy).toMatchObject({ values: 400 });
    expect(accuracy!.score).toBeCloseTo(0.75, 12);
    await expect(
      runDeploymentMonitor(
        { ...deps, scratchDir },
        replayed,
        new Date(later.end.getTime() + 60_000),
        later.end,
        {
          performanceWindow: { start: t1, end: t0 },
        },
      ),
    ).rejects.toThrow(/performance window start .* is not before its end/);
  }, 120_000);
});
