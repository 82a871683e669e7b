import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { eq } from 'drizzle-orm';
import { loadConfig } from '../../core/config';
import { openDatabase, tables, type DatabaseHandle } from '../../core/db';
import { sweepAlertRules } from '../../core/monitoring/alerts/evaluate';
import {
  acknowledgeAlert,
  applyEvaluation,
  getAlert,
  listAlerts,
} from '../../core/monitoring/alerts/lifecycle';
import { saveAlertRule, saveAlertSink } from '../../core/monitoring/alerts/rules';
import { verifyWebhookSignature } from '../../core/monitoring/alerts/signature';
import type { S3ObjectStore } from '../../core/storage';
import { runCli } from '../support/cli';
import { uniqueName } from '../support/ids';
import { testObjectStore } from '../support/stores';
import { connectTestTemporal, createTestWorkers, type TemporalTestContext } from '../support/temporal';
import { testTrainingDeps } from '../support/training';

const SECRET = 'a-receiver-secret-of-32-characters!';

/** A webhook receiver on a fixed port that verifies signatures and records what it accepted. */
class Receiver {
  readonly events: { id: string; body: Record<string, unknown> }[] = [];
  private server: http.Server | undefined;
  constructor(
    readonly port: number,
    private readonly answer = 200,
  ) {}
  async start(): Promise<void> {
    this.server = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (c: Buffer) => chunks.push(c));
      request.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const verified = verifyWebhookSignature({ secret: SECRET, headers: request.headers, body });
        if (!verified.ok) {
          response.writeHead(401).end(verified.reason);
          return;
        }
        if (this.answer === 200)
          this.events.push({
            id: String(request.headers['x-fti-event-id']),
            body: JSON.parse(body) as Record<string, unknown>,
          });
        response.writeHead(this.answer).end(this.answer === 200 ? 'ok' : 'bad request');
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', () => resolve()));
  }
  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** A free TCP port (listened on, then released). */
async function freePort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const until = async (what: string, check: () => Promise<boolean>, ms = 30_000) => {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
};

// Alerts against the real Postgres and a real Temporal worker: deduplication, cooldown,
// acknowledgement and resolution; durable, signed webhook delivery while the receiver is down,
// then up; a receiver that refuses the request is not retried.
describe('alerts (real Postgres, Temporal, HTTP receivers)', () => {
  let temporal: TemporalTestContext;
  let database: DatabaseHandle;
  let store: S3ObjectStore;

  beforeAll(async () => {
    temporal = await connectTestTemporal();
    database = await openDatabase({ url: loadConfig().databaseUrl });
    store = testObjectStore();
  });
  afterAll(async () => {
    // This file's sweep rules must not be evaluated by anyone else's sweep later.
    await database.pool.query(`DELETE FROM alert_rules WHERE name LIKE 'alerts-it-%'`);
    store.close();
    await database.close();
    await temporal.close();
  });

  it('one open alert per key: repeats count without notifying inside the cooldown; acknowledged stays silent; resolves; fires anew after', async () => {
    const sink = uniqueName('alerts-it-sink');
    await saveAlertSink(database.db, { name: sink, url: 'http://127.0.0.1:9/unused', format: 'json' });
    const rule = await saveAlertRule(database.db, {
      name: uniqueName('alerts-it-dedup'),
      kind: 'stale_feature_group',
      subject: 'some_group',
      condition: { maxAgeSeconds: 60 },
      sinks: [sink],
      cooldownSeconds: 600,
      enabled: false, // evaluated by hand here, never by another test's sweep
    });
    const firing = { dedupKey: 'k', subject: 'some_group', title: 't', summary: 's', details: {} };
    const t0 = new Date('2026-11-30T10:00:00Z');
    const first = await applyEvaluation(database.db, rule, [firing], ['k'], t0);
    expect(first).toHaveLength(1);
    expect(first[0]).toMatchObject({ notification: 1, sinks: [sink] });
    const id = first[0]!.alertId;
    expect(
      await applyEvaluation(database.db, rule, [firing], ['k'], new Date(t0.getTime() + 60_000)),
    ).toEqual([]);
    const renotified = await applyEvaluation(
      database.db,
      rule,
      [firing],
      ['k'],
      new Date(t0.getTime() + 601_000),
    );
    expect(renotified).toEqual([{ alertId: id, notification: 2, sinks: [sink] }]);
    expect((await getAlert(database.db, id)).alert).toMatchObject({
      state: 'firing',
      count: 3,
      notifications: 2,
    });

    expect(await acknowledgeAlert(database.db, id, 'ops')).toMatchObject({
      state: 'acknowledged',
      ackedBy: 'ops',
    });
    expect(
      await applyEvaluation(database.db, rule, [firing], ['k'], new Date(t0.getTime() + 3_600_000)),
    ).toEqual([]);
    expect((await getAlert(database.db, id)).alert).toMatchObject({ state: 'acknowledged', count: 4 });

    await applyEvaluation(database.db, rule, [], ['k'], new Date(t0.getTime() + 3_700_000));
    expect((await getAlert(database.db, id)).alert.state).toBe('resolved');
    const again = await applyEvaluation(
      database.db,
      rule,
      [firing],
      ['k'],
      new Date(t0.getTime() + 3_800_000),
      'run-7',
    );
    expect(again).toHaveLength(1);
    expect(again[0]!.alertId).not.toBe(id);
    // The same evaluation applied again (a retried activity) returns its notification again and
    // counts nothing more; a window that could not decide resolves nothing.
    expect(
      await applyEvaluation(database.db, rule, [firing], ['k'], new Date(t0.getTime() + 3_900_000), 'run-7'),
    ).toEqual(again);
    expect((await getAlert(database.db, again[0]!.alertId)).alert).toMatchObject({
      count: 1,
      notifications: 1,
    });
    await applyEvaluation(database.db, rule, [], [], new Date(t0.getTime() + 4_000_000), 'run-8');
    expect((await getAlert(database.db, again[0]!.alertId)).alert.state).toBe('firing');
    expect((await listAlerts(database.db, { rule: rule.name, state: 'all' })).map((a) => a.state)).toEqual([
      'firing',
      'resolved',
    ]);
  });

  it('a failed pipeline run is delivered, signed, once the receiver comes up — retried durably while it is down', async () => {
    const port = await freePort();
    const sink = uniqueName('alerts-it-hook');
    await saveAlertSink(database.db, {
      name: sink,
      url: `http://127.0.0.1:${port}/hook`,
      format: 'json',
      secret: SECRET,
    });
    const pipeline = uniqueName('alerts-it-pipeline');
    const rule = await saveAlertRule(database.db, {
      name: uniqueName('alerts-it-failures'),
      kind: 'pipeline_failure',
      subject: pipeline,
      sinks: [sink],
    });
    await database.db.insert(tables.pipelineRuns).values({
      pipeline: 'features',
      name: pipeline,
      workflowId: uniqueName('wf'),
      runId: uniqueName('run'),
      status: 'failed',
      error: 'source file s3://raw/day.csv is missing',
      finishedAt: new Date(),
    });

    const taskQueue = uniqueName('fti-alerts');
    const [worker] = await createTestWorkers(temporal, [taskQueue], {
      db: database.db,
      store,
      inference: testTrainingDeps(database, store),
    });
    const running = worker!.run();
    const receiver = new Receiver(port);
    try {
      const sweep = await temporal.client.workflow.execute('alertSweep', {
        taskQueue,
        workflowId: uniqueName('sweep'),
        args: [{ retry: { initialIntervalMs: 300, maximumIntervalMs: 600 } }],
      });
      expect(sweep.notifications).toBeGreaterThanOrEqual(1);
      const [alert] = await listAlerts(database.db, { rule: rule.name });
      expect(alert).toMatchObject({ state: 'firing', subject: pipeline, notifications: 1 });
      expect(alert!.summary).toContain('source file s3://raw/day.csv is missing');
      // Receiver down: attempts fail and are recorded; the delivery keeps retrying.
      const attempts = async () =>
        database.db
          .select()
          .from(tables.alertDeliveries)
          .where(eq(tables.alertDeliveries.alertId, alert!.id));
      await until('two failed attempts', async () => (await attempts()).length >= 2);
      expect((await attempts()).every((a) => !a.ok && /ECONNREFUSED|connect/i.test(a.error ?? ''))).toBe(
        true,
      );
      await receiver.start();
      const delivery = temporal.client.workflow.getHandle(`alert-${alert!.id}-1-${sink}`);
      expect(await delivery.result()).toEqual({ delivered: true });
      expect(receiver.events).toHaveLength(1);
      expect(receiver.events[0]!.body).toMatchObject({
        type: 'fti.alert',
        alert: { kind: 'pipeline_failure', rule: rule.name, subject: { type: 'pipeline', name: pipeline } },
      });
      const history = await attempts();
      expect(history.at(-1)).toMatchObject({ ok: true, status: 200 });
      expect(history.filter((a) => a.ok)).toHaveLength(1);

      // The next sweep finds nothing new: no second notification.
      await temporal.client.workflow.execute('alertSweep', {
        taskQueue,
        workflowId: uniqueName('sweep'),
        args: [{}],
      });
      expect(receiver.events).toHaveLength(1);
      // A completed run of the pipeline resolves the alert.
      await database.db.insert(tables.pipelineRuns).values({
        pipeline: 'features',
        name: pipeline,
        workflowId: uniqueName('wf'),
        runId: uniqueName('run'),
        status: 'completed',
        startedAt: new Date(),
        finishedAt: new Date(),
      });
      await sweepAlertRules(database.db);
      expect((await getAlert(database.db, alert!.id)).alert.state).toBe('resolved');
    } finally {
      await database.db
        .update(tables.alertRules)
        .set({ enabled: false })
        .where(eq(tables.alertRules.id, rule.id));
      await receiver.stop();
      worker!.shutdown();
      await running;
    }
  }, 120_000);

  it('a receiver answering 400 is not retried; fti alerts test/list/show/ack report what happened', async () => {
    const port = await freePort();
    const refusing = new Receiver(port, 400);
    await refusing.start();
    const sink = uniqueName('alerts-it-refusing');
    await saveAlertSink(database.db, {
      name: sink,
      url: `http://127.0.0.1:${port}/hook`,
      format: 'slack',
      secret: SECRET,
    });
    const rule = await saveAlertRule(database.db, {
      name: uniqueName('alerts-it-stale'),
      kind: 'stale_feature_group',
      subject: uniqueName('never_committed'),
      condition: { maxAgeSeconds: 60 },
      sinks: [sink],
    });
    const taskQueue = uniqueName('fti-alerts');
    const [worker] = await createTestWorkers(temporal, [taskQueue], {
      db: database.db,
      store,
      inference: testTrainingDeps(database, store),
    });
    const running = worker!.run();
    try {
      await temporal.client.workflow.execute('alertSweep', {
        taskQueue,
        workflowId: uniqueName('sweep'),
        args: [{}],
      });
      const [alert] = await listAlerts(database.db, { rule: rule.name });
      expect(alert!.title).toContain('is stale');
      const delivery = temporal.client.workflow.getHandle(`alert-${alert!.id}-1-${sink}`);
      await expect(delivery.result()).rejects.toThrow();
      const { deliveries } = await getAlert(database.db, alert!.id);
      expect(deliveries).toHaveLength(1);
      expect(deliveries[0]).toMatchObject({ ok: false, status: 400, attempt: 1 });
      expect(deliveries[0]!.error).toContain('400');

      const test = runCli(['alerts', 'test', sink]);
      expect(test.code).toBe(1);
      expect(test.stdout).toContain('not delivered');
      const shown = runCli(['alerts', 'show', alert!.id]);
      expect(shown.stdout).toMatch(/attempt 1\s+failed 400/);
      const listed = runCli(['alerts', 'list', '--rule', rule.name, '--json']);
      expect((JSON.parse(listed.stdout) as { id: string }[]).map((a) => a.id)).toEqual([alert!.id]);
      expect(runCli(['alerts', 'ack', alert!.id, '--by', 'tester']).stdout).toContain(
        'acknowledged by tester',
      );
      const sinks = runCli(['alerts', 'sink', 'list']);
      expect(sinks.stdout).toContain(sink);
      expect(sinks.stdout).not.toContain(SECRET);
      const bad = runCli([
        'alerts',
        'rule',
        'create',
        uniqueName('alerts-it-bad'),
        '--kind',
        'drift',
        '--subject',
        'no-such-monitor',
        '--sink',
        sink,
      ]);
      expect(bad.stderr).toContain('monitor no-such-monitor does not exist');
      const noGroup = runCli([
        'alerts',
        'rule',
        'create',
        uniqueName('alerts-it-bad'),
        '--kind',
        'stale_feature_group',
        '--subject',
        'no_such_group',
        '--max-age',
        '1h',
        '--sink',
        sink,
      ]);
      expect(noGroup.code).not.toBe(0);
      expect(noGroup.stderr).toContain('no_such_group');
      const noStream = runCli([
        'alerts',
        'rule',
        'create',
        uniqueName('alerts-it-bad'),
        '--kind',
        'freshness',
        '--subject',
        'no-such-stream',
        '--max-age',
        '5m',
        '--sink',
        sink,
      ]);
      expect(noStream.code).not.toBe(0);
      expect(noStream.stderr).toContain('no streaming pipeline no-such-stream has run here');
      await expect(
        saveAlertRule(database.db, {
          name: uniqueName('alerts-it-metric'),
          kind: 'performance',
          subject: 'any-monitor',
          condition: { metric: 'auc', below: 0.5 },
          sinks: [sink],
        }),
      ).rejects.toThrow(/metric: must be one of roc_auc/);
    } finally {
      await database.db
        .update(tables.alertRules)
        .set({ enabled: false })
        .where(eq(tables.alertRules.id, rule.id));
      await refusing.stop();
      worker!.shutdown();
      await running;
    }
  }, 120_000);
});
