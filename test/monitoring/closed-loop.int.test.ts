import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../core/config';
import { openDatabase, type DatabaseHandle } from '../../core/db';
import { runTrainingPipeline } from '../../core/ml';
import { saveAlertRule, saveAlertSink } from '../../core/monitoring/alerts/rules';
import { saveMonitor } from '../../core/monitoring/monitors';
import {
  getRetrainingPolicy,
  retrainingHistory,
  saveRetrainingPolicy,
} from '../../core/monitoring/retraining';
import { retrainingWorkflowId } from '../../core/pipelines';
import { getModelVersion } from '../../core/registry';
import { createApiKey } from '../../core/serving/api-keys';
import {
  createDeployment,
  deploymentHistory,
  getDeployment,
  rollbackDeployment,
} from '../../core/serving/deployments';
import { createInferenceServer, type InferenceServer } from '../../core/serving/server';
import type { S3ObjectStore } from '../../core/storage';
import { commitRows } from '../support/featureviews';
import { uniqueName } from '../support/ids';
import { testObjectStore } from '../support/stores';
import { connectTestTemporal, createTestWorkers, type TemporalTestContext } from '../support/temporal';
import { createChurnView, testTrainingDeps, type TrainingTestDeps } from '../support/training';

// The closed loop end to end, on real Temporal workers, Postgres, S3 and the inference service: the
// world changes (more sessions, and churn now follows tenure), a monitor window finds the drift, its
// alert starts the policy's loop, the retrained version joins as a shadow, wins on live labels with
// a paired bootstrap interval above zero, and is promoted — recorded in the deployment history and
// undone by one rollback.
describe('closed loop: alert → retrain → shadow → promote on live labels', () => {
  let temporal: TemporalTestContext;
  let database: DatabaseHandle;
  let store: S3ObjectStore;
  let deps: TrainingTestDeps;
  let server: InferenceServer;
  let receiver: http.Server;
  let base: string;
  let key: string;
  let model: string;
  let view: string;
  const deployment = uniqueName('loop').replace(/-/g, '_');
  const scratchDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-loop-'));
  const newCustomers = Array.from({ length: 600 }, (_, i) => 1000 + i);
  const tenure = (c: number) => (c * 37) % 1000;
  // The new concept: long-standing customers churn.
  const churns = (c: number) => (tenure(c) > 600 ? 'true' : 'false');
  const post = async (route: string, body: unknown) => {
    const response = await fetch(`${base}${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(200);
    return (await response.json()) as Record<string, unknown>;
  };
  /** Scores the new customers at event times of `round` and pushes their labels. */
  const trafficRound = async (round: number) => {
    const at = (c: number) => new Date(Date.UTC(2026, 3, 1) + round * 3_600_000 + c * 1000).toISOString();
    for (let i = 0; i < newCustomers.length; i += 200) {
      const batch = newCustomers.slice(i, i + 200);
      await post(`/v1/deployments/${deployment}/predict`, {
        instances: batch.map((c) => ({ keys: { customer_id: c }, eventTime: at(c) })),
      });
    }
    return at;
  };
  const pushLabels = (at: (c: number) => string) =>
    post(`/v1/deployments/${deployment}/labels`, {
      labels: newCustomers.map((c) => ({ keys: { customer_id: c }, eventTime: at(c), label: churns(c) })),
    });

  beforeAll(async () => {
    temporal = await connectTestTemporal();
    database = await openDatabase({ url: loadConfig().databaseUrl });
    store = testObjectStore();
    deps = testTrainingDeps(database, store);
    const churn = await createChurnView(deps, { rows: 800 });
    view = churn.view;
    model = uniqueName('loop_model').replace(/-/g, '_');
    await runTrainingPipeline(
      deps,
      {
        name: 'loop-gbdt',
        model,
        featureView: { name: view },
        alias: 'champion',
        trainer: { name: 'gbdt', params: { numTrees: 20, maxDepth: 3 } },
      },
      uniqueName('r'),
    );
    // From March on: new customers with many more sessions, and churn that follows tenure.
    const march = Date.UTC(2026, 2, 1);
    await commitRows(
      deps,
      churn.activity,
      newCustomers.map((c, i) => ({
        customer_id: c,
        ts: new Date(march + i * 60_000),
        sessions: 40 + (c % 30),
        plan: c % 2 ? 'free' : 'pro',
        tenure_days: tenure(c),
      })),
    );
    await commitRows(
      deps,
      churn.labels,
      newCustomers.map((c, i) => ({
        customer_id: c,
        ts: new Date(march + i * 60_000 + 3_600_000),
        segment: 'smb',
        churned: churns(c) === 'true',
      })),
    );
    await createDeployment(database.db, {
      name: deployment,
      variants: [{ variant: 'main', model, version: 'champion', weight: 100 }],
      createdBy: 'test',
    });
    server = await createInferenceServer({ ...deps, pool: database.pool });
    await server.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(server.app.server.address() as { port: number }).port}`;
    key = (await createApiKey(database.db, uniqueName('loop-key'), { scopes: ['predict', 'labels'] })).key;
    receiver = http.createServer((_q, r) => r.writeHead(204).end());
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', () => resolve()));
  });
  afterAll(async () => {
    receiver?.close();
    await server?.close();
    await database.pool.query(`DELETE FROM alert_rules WHERE name LIKE 'loop-it-%'`);
    await database.close();
    store.close();
    await temporal.close();
    fs.rmSync(scratchDir, { recursive: true, force: true });
  });

  it('promotes the retrained version only when it wins on live labels, records why, and one rollback undoes it', async () => {
    const monitor = uniqueName('loop-mon');
    await saveMonitor(database.db, {
      name: monitor,
      subjectType: 'deployment',
      subject: deployment,
      everySeconds: 3600,
    });
    const sink = uniqueName('loop-it-sink');
    await saveAlertSink(database.db, {
      name: sink,
      url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`,
      format: 'json',
    });
    const rule = uniqueName('loop-it-drift');
    await saveAlertRule(database.db, {
      name: rule,
      kind: 'drift',
      subject: monitor,
      sinks: [sink],
      condition: { roles: ['feature'] },
    });
    const inferenceQueue = uniqueName('fti-loop-inference');
    const trainingQueue = uniqueName('fti-loop-training');
    const policy = uniqueName('loop-policy');
    await saveRetrainingPolicy(database.db, {
      name: policy,
      deployment,
      rules: [rule],
      training: {
        name: 'loop-retrain',
        model,
        featureView: { name: view },
        trainer: { name: 'gbdt', params: { numTrees: 30, maxDepth: 3 } },
        trainingDataset: { create: { start: '2026-03-01T00:00:00Z' } },
        trainQueue: trainingQueue,
      },
      mode: 'shadow',
      metric: 'roc_auc',
      minLabels: 300,
      checkEverySeconds: 2,
      maxWaitSeconds: 120,
    });

    const workers = await createTestWorkers(temporal, [inferenceQueue, trainingQueue], {
      db: database.db,
      store,
      inference: deps,
      training: deps,
    });
    const running = workers.map((w) => w.run());
    const loop = await temporal.client.workflow.start('retrainingLoop', {
      taskQueue: inferenceQueue,
      workflowId: retrainingWorkflowId(policy),
      args: [{ policy, queues: { training: trainingQueue, inference: inferenceQueue } }],
    });
    try {
      // Drifted traffic; the monitor window's drift alert starts the loop.
      const t0 = new Date();
      await trafficRound(0);
      await new Promise((r) => setTimeout(r, 1500)); // the prediction log flushes every 500 ms
      const window = await temporal.client.workflow.execute('monitorWindow', {
        taskQueue: inferenceQueue,
        workflowId: uniqueName('loop-window'),
        args: [{ monitor, window: { start: t0.toISOString(), end: new Date().toISOString() } }],
      });
      expect((window as { problems: string[] }).problems.join('\n')).toMatch(/main feature sessions: drift/);

      // The loop trains and adds the challenger as a shadow.
      const deadline = Date.now() + 90_000;
      for (;;) {
        const d = await getDeployment(database.db, deployment);
        if (d.current.bindings.some((b) => b.variant === 'challenger')) break;
        if (Date.now() > deadline) throw new Error('the challenger was never deployed');
        await new Promise((r) => setTimeout(r, 500));
      }
      // Live traffic with labels until the loop decides (the service picks up the shadow within seconds).
      let decided: string | undefined;
      for (let round = 1; round < 30 && !decided; round++) {
        await pushLabels(await trafficRound(round));
        await new Promise((r) => setTimeout(r, 1000));
        decided = (await retrainingHistory(database.db, policy)).find((s) =>
          ['promoted', 'rejected'].includes(s.decision),
        )?.decision;
      }
      expect(decided).toBe('promoted');

      const steps = (await retrainingHistory(database.db, policy)).reverse();
      expect(steps.map((s) => s.decision).filter((d) => d !== 'waiting')).toEqual([
        'triggered',
        'trained',
        'challenger_deployed',
        'promoted',
      ]);
      expect((steps[0]!.evidence as { triggers: { rule: string }[] }).triggers[0]!.rule).toBe(rule);
      const promoted = steps.at(-1)!;
      const comparison = (
        promoted.evidence as {
          comparison: {
            design: string;
            interval: number[];
            champion: { value: number };
            challenger: { value: number };
          };
        }
      ).comparison;
      expect(comparison.design).toBe('paired');
      expect(comparison.interval[0]).toBeGreaterThan(0);
      expect(comparison.challenger.value).toBeGreaterThan(comparison.champion.value);

      // The deployment serves the new version; the history says why; the alias moved.
      const current = await getDeployment(database.db, deployment);
      expect(current.current.bindings.map((b) => [b.variant, b.model.version, b.weight])).toEqual([
        ['main', promoted.modelVersion, 100],
      ]);
      expect(current.current.settings).toMatchObject({ retraining: { policy, step: 'promoted' } });
      expect((await getModelVersion(database.db, model, 'champion')).version).toBe(promoted.modelVersion);

      // One rollback undoes the promotion: the old champion answers again (the challenger back in shadow).
      await rollbackDeployment(database.db, deployment, { createdBy: 'test' });
      const history = await deploymentHistory(database.db, deployment);
      expect(history.at(-1)!.bindings.map((b) => [b.variant, b.model.version, b.shadow])).toEqual([
        ['challenger', promoted.modelVersion, true],
        ['main', 1, false],
      ]);
      // …and the model's champion alias names the old champion again, so nothing bound to the
      // alias (a new deployment, the next cycle's comparison) picks the undone version.
      expect((await getModelVersion(database.db, model, 'champion')).version).toBe(1);
      expect(history.at(-1)!.settings).toMatchObject({
        aliasRestored: { model, alias: 'champion', from: promoted.modelVersion, to: 1 },
      });
      expect(await loop.query('phase')).toMatchObject({ phase: 'idle' });

      // A second cycle whose training data is from before the change: its version is no better than
      // the champion on live labels, so it is removed after the wait, never promoted.
      await saveRetrainingPolicy(database.db, {
        ...(await getRetrainingPolicy(database.db, policy)),
        training: {
          name: 'loop-retrain',
          model,
          featureView: { name: view },
          trainer: { name: 'gbdt', params: { numTrees: 20, maxDepth: 3 } },
          trainingDataset: { create: { start: '2026-01-01T00:00:00Z', end: '2026-02-01T00:00:00Z' } },
          trainQueue: trainingQueue,
        },
        maxWaitSeconds: 6,
      });
      await temporal.client.workflow
        .getHandle(retrainingWorkflowId(policy))
        .signal('retrain', { by: 'test' });
      let second: string | undefined;
      for (let round = 100; round < 130 && !second; round++) {
        await pushLabels(await trafficRound(round));
        await new Promise((r) => setTimeout(r, 1000));
        second = (await retrainingHistory(database.db, policy)).find(
          (s) => s.cycle === 2 && ['promoted', 'rejected'].includes(s.decision),
        )?.decision;
      }
      expect(second).toBe('rejected');
      const after = await getDeployment(database.db, deployment);
      expect(after.current.bindings.map((b) => [b.variant, b.model.version])).toEqual([['main', 1]]);
      expect(after.current.settings).toMatchObject({ retraining: { policy, cycle: 2, step: 'rejected' } });
    } finally {
      await loop.terminate('test done').catch(() => undefined);
      for (const w of workers) w.shutdown();
      await Promise.all(running);
    }
  }, 240_000);
});
