import { WorkflowFailedError } from '@temporalio/client';
import { loadConfig } from '../../core/config';
import { openDatabase, type DatabaseHandle } from '../../core/db';
import { runTrainingPipeline } from '../../core/ml';
import { deploymentHistory, getDeployment } from '../../core/serving';
import type { S3ObjectStore } from '../../core/storage';
import type { BatchInferenceResult } from '../../core/serving';
import type { DeploymentRolloutResult } from '../../workflows';
import { uniqueName } from '../support/ids';
import { testObjectStore } from '../support/stores';
import {
  connectTestTemporal,
  createTestWorkers,
  rootMessage,
  withWorkers,
  type TemporalTestContext,
} from '../support/temporal';
import { createChurnView, testTrainingDeps, type TrainingTestDeps } from '../support/training';

// Deployment rollouts and batch inference through the real Temporal server.
describe('inference workflows', () => {
  let temporal: TemporalTestContext;
  let database: DatabaseHandle;
  let store: S3ObjectStore;
  let deps: TrainingTestDeps;
  let model: string;
  const queue = uniqueName('fti-inference');
  const deployment = uniqueName('wf-dep');

  beforeAll(async () => {
    temporal = await connectTestTemporal();
    database = await openDatabase({ url: loadConfig().databaseUrl });
    store = testObjectStore();
    deps = testTrainingDeps(database, store);
    const { view } = await createChurnView(deps, { rows: 500 });
    model = uniqueName('wf-model').replace(/-/g, '_');
    await runTrainingPipeline(
      deps,
      {
        name: 'wf-inf',
        model,
        featureView: { name: view },
        trainer: { name: 'gbdt', params: { numTrees: 10 } },
        alias: 'champion',
      },
      uniqueName('r'),
    );
  });
  afterAll(async () => {
    await store.deletePrefix('');
    store.close();
    await database.close();
    await temporal.close();
  });

  it('rolls a deployment out after a smoke test, scores a window twice without duplicates, and refuses a broken smoke request', async () => {
    const workers = await createTestWorkers(temporal, [queue], {
      db: database.db,
      store,
      inference: { ...deps, scoringThreads: 1 },
    });
    await withWorkers(workers, async () => {
      const rollout = (await temporal.client.workflow.execute('deploymentRollout', {
        taskQueue: queue,
        workflowId: uniqueName('deploy'),
        args: [
          {
            deployment,
            action: 'create',
            variants: [{ variant: 'main', model, version: 'champion', weight: 100 }],
            smoke: { keys: { customer_id: 1 } },
          },
        ],
      })) as DeploymentRolloutResult;
      expect(rollout).toMatchObject({ deployment, version: 1, smoke: [{ variant: 'main', ok: true }] });
      const window = { start: '2026-01-01T01:00:00.000Z', end: '2026-01-01T03:00:00.000Z' };
      const run = () =>
        temporal.client.workflow.execute('batchInference', {
          taskQueue: queue,
          workflowId: uniqueName('batch'),
          args: [{ deployment, window, sinks: ['postgres'] }],
        }) as Promise<BatchInferenceResult>;
      const first = await run();
      const second = await run();
      expect(first.rows).toBe(120);
      expect(second.rows).toBe(120);
      const count = await database.pool.query(
        'SELECT count(*)::int AS n FROM predictions WHERE deployment_id = $1',
        [(await getDeployment(database.db, deployment)).id],
      );
      expect(count.rows[0].n).toBe(120);

      const failed = await temporal.client.workflow
        .execute('deploymentRollout', {
          taskQueue: queue,
          workflowId: uniqueName('deploy-bad'),
          args: [
            {
              deployment,
              action: 'upgrade',
              variants: [{ variant: 'main', model, version: 1, weight: 100 }],
              smoke: { keys: { customer_id: 'not-a-number' } },
            },
          ],
        })
        .catch((e: unknown) => e);
      expect(failed).toBeInstanceOf(WorkflowFailedError);
      expect(rootMessage(failed)).toContain(
        'entity key "customer_id" must be an integer within ±2^53 (feature type bigint), got a string',
      );
      expect((await deploymentHistory(database.db, deployment)).map((h) => h.version)).toEqual([1]);
    });
  });
});
