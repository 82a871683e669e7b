import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../core/config';
import { openDatabase, type DatabaseHandle } from '../../core/db';
import { runTrainingPipeline } from '../../core/ml';
import { createApiKey, createInferenceServer, type InferenceServer } from '../../core/serving';
import type { S3ObjectStore } from '../../core/storage';
import type { DeploymentRolloutResult } from '../../workflows';
import { uniqueName } from '../support/ids';
import { testObjectStore } from '../support/stores';
import {
  connectTestTemporal,
  createTestWorkers,
  withWorkers,
  type TemporalTestContext,
} from '../support/temporal';
import { createChurnView, testTrainingDeps, type TrainingTestDeps } from '../support/training';

interface Response {
  readonly client: number;
  readonly sent: number;
  readonly received: number;
  readonly status: number;
  readonly deploymentVersion: number | null;
  readonly modelVersion: number | null;
  readonly error?: string;
}

// Upgrades and rollbacks through the deploymentRollout workflow while a separate process keeps 32
// clients sending predictions: no request fails, and after every switch each response names the
// deployment version and model that should answer it.
describe('rollouts under load', () => {
  let temporal: TemporalTestContext;
  let database: DatabaseHandle;
  let store: S3ObjectStore;
  let deps: TrainingTestDeps;
  let server: InferenceServer;
  let model: string;
  const queue = uniqueName('fti-inference-load');
  const deployment = uniqueName('load-dep');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-load-'));

  beforeAll(async () => {
    temporal = await connectTestTemporal();
    database = await openDatabase({ url: loadConfig().databaseUrl });
    store = testObjectStore();
    deps = testTrainingDeps(database, store);
    const { view } = await createChurnView(deps, { rows: 500 });
    model = uniqueName('load-model').replace(/-/g, '_');
    for (const [i, trainer] of ['gbdt', 'logistic_regression'].entries())
      await runTrainingPipeline(
        deps,
        {
          name: `load-${trainer}`,
          model,
          featureView: { name: view },
          trainer: { name: trainer },
          ...(i === 0 ? {} : { trainingDataset: { version: 1 } }),
        },
        uniqueName('r'),
      );
    server = await createInferenceServer({ ...deps, pool: database.pool });
    await server.app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await server?.close();
    await store.deletePrefix('');
    store.close();
    await database.close();
    await temporal.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('upgrades and rolls back three times under 32 concurrent clients: 0 failures, the right version answers after each switch', async () => {
    const workers = await createTestWorkers(temporal, [queue], {
      db: database.db,
      store,
      inference: { ...deps, scoringThreads: 1 },
    });
    const { key } = await createApiKey(database.db, 'load-test');
    const rollout = (change: Record<string, unknown>) =>
      temporal.client.workflow.execute('deploymentRollout', {
        taskQueue: queue,
        workflowId: uniqueName('rollout'),
        args: [{ deployment, smoke: { keys: { customer_id: 1 } }, by: 'load test', ...change }],
      }) as Promise<DeploymentRolloutResult>;
    const main = (version: number) => [{ variant: 'main', model, version, weight: 100 }];
    await withWorkers(workers, async () => {
      await rollout({ action: 'create', variants: main(1) });
      const port = (server.app.server.address() as { port: number }).port;
      const out = path.join(dir, 'responses.jsonl');
      const generator = spawn(
        process.execPath,
        [
          path.join(__dirname, '../support/version-load-generator.js'),
          `http://127.0.0.1:${port}`,
          deployment,
          key,
          '32',
          '400',
          out,
        ],
        { stdio: ['pipe', 'pipe', 'inherit'] },
      );
      await new Promise<void>((resolve) => generator.stdout!.once('data', () => resolve()));
      // Each switch: when it completed, and what must answer once servers have picked it up.
      const switches: { started: number; at: number; deploymentVersion: number; modelVersion: number }[] = [];
      // Servers learn of a switch by NOTIFY at once, or by their 5 s poll when a NOTIFY is lost.
      const pause = () => new Promise((r) => setTimeout(r, 6500));
      await pause();
      for (const [action, change, modelVersion] of [
        ['upgrade', { action: 'upgrade', variants: main(2) }, 2],
        ['rollback', { action: 'rollback' }, 1],
        ['upgrade', { action: 'upgrade', variants: main(2) }, 2],
        ['rollback', { action: 'rollback' }, 1],
        ['upgrade', { action: 'upgrade', variants: main(2) }, 2],
        ['rollback', { action: 'rollback', to: 1 }, 1],
      ] as const) {
        const started = Date.now();
        const result = await rollout(change);
        switches.push({ started, at: Date.now(), deploymentVersion: result.version, modelVersion });
        void action;
        await pause();
      }
      generator.stdin!.end();
      await new Promise<void>((resolve) => generator.once('exit', () => resolve()));
      const responses = fs
        .readFileSync(out, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Response);

      expect(responses.filter((r) => r.status !== 200)).toEqual([]);
      expect(responses.length).toBeGreaterThan(1000);
      expect(new Set(responses.map((r) => r.client)).size).toBe(32);
      // After a switch completed (plus 2 s for NOTIFY and the warm swap, well under the 5 s poll, so
      // a lost or swallowed NOTIFY fails this), every request sent before the next switch started is
      // answered by exactly that version and model; before that, only by the version it replaced.
      const settleMs = 2000;
      const lags = switches.map((s) => {
        const first = responses.find((r) => r.deploymentVersion === s.deploymentVersion);
        return first ? first.received - s.started : null;
      });
      switches.forEach((s, i) => {
        const until = switches[i + 1]?.started ?? Infinity;
        const after = responses.filter((r) => r.sent >= s.at + settleMs && r.sent < until);
        expect(after.length).toBeGreaterThan(50);
        const previous = i === 0 ? 1 : switches[i - 1]!.deploymentVersion;
        const during = responses.filter((r) => r.sent >= s.started && r.sent < until);
        expect(
          during.filter(
            (r) => r.deploymentVersion !== previous && r.deploymentVersion !== s.deploymentVersion,
          ),
        ).toEqual([]);
        const wrong = after.filter(
          (r) => r.deploymentVersion !== s.deploymentVersion || r.modelVersion !== s.modelVersion,
        );
        expect({ switch: i + 1, wrong: wrong.length }).toEqual({ switch: i + 1, wrong: 0 });
      });
      expect(switches.map((s) => s.deploymentVersion)).toEqual([2, 3, 4, 5, 6, 7]);
      // Per client, versions never go back in time: no older version answers after a newer one did.
      const order = new Map(switches.map((s, i) => [s.deploymentVersion, i + 1]));
      order.set(1, 0);
      for (let c = 0; c < 32; c++) {
        const seen = responses.filter((r) => r.client === c).map((r) => order.get(r.deploymentVersion!)!);
        for (let i = 1; i < seen.length; i++) expect(seen[i]!).toBeGreaterThanOrEqual(seen[i - 1]!);
      }
      console.log(
        `rollouts under load: ${responses.length} responses from 32 clients over ${switches.length} switches, 0 failed; first answer of each new version ${lags.join(', ')} ms after its rollout started`,
      );
    });
  });
});
