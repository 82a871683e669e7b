import { WorkflowFailedError } from '@temporalio/client';
import { loadConfig } from '../../core/config';
import { openDatabase, tables, type DatabaseHandle } from '../../core/db';
import { getModelVersion, listModels } from '../../core/registry';
import type { S3ObjectStore } from '../../core/storage';
import type { TrainingPipelineInput, TrainingPipelineResult } from '../../workflows';
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

// The training pipeline through the real Temporal server, PostgreSQL and S3; the train step runs on
// a separate ("GPU") queue, as a GPU worker pool would.
describe('trainingPipeline workflow', () => {
  let temporal: TemporalTestContext;
  let database: DatabaseHandle;
  let store: S3ObjectStore;
  let deps: TrainingTestDeps;
  let view: string;
  const queue = uniqueName('fti-training');
  const gpuQueue = uniqueName('fti-training-gpu');

  beforeAll(async () => {
    temporal = await connectTestTemporal();
    database = await openDatabase({ url: loadConfig().databaseUrl });
    store = testObjectStore();
    deps = testTrainingDeps(database, store);
    view = (await createChurnView(deps, { rows: 800 })).view;
  });
  afterAll(async () => {
    await store.deletePrefix('');
    store.close();
    await database.close();
    await temporal.close();
  });

  it('trains on the requested queue, registers the model with its lineage and moves the alias', async () => {
    const model = uniqueName('wf-churn').replace(/-/g, '_');
    const workers = await createTestWorkers(temporal, [queue, gpuQueue], {
      db: database.db,
      store,
      training: deps,
    });
    const workflowId = uniqueName('train');
    const input: TrainingPipelineInput = {
      spec: {
        name: 'wf-churn',
        model,
        featureView: { name: view },
        trainer: { name: 'gbdt', params: { numTrees: 30, maxDepth: 4 } },
        gates: { thresholds: { roc_auc: { min: 0.6 } } },
        alias: 'champion',
        trainQueue: gpuQueue,
      },
    };
    const result = await withWorkers(workers, async () => {
      const handle = await temporal.client.workflow.start('trainingPipeline', {
        taskQueue: queue,
        workflowId,
        args: [input],
      });
      const out = (await handle.result()) as TrainingPipelineResult;
      expect(await handle.query<string>('step')).toBe('done');
      const history = await handle.fetchHistory();
      const trainEvent = history.events!.find(
        (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'trainModel',
      );
      expect(trainEvent!.activityTaskScheduledEventAttributes!.taskQueue!.name).toBe(gpuQueue);
      return out;
    });
    expect(result).toMatchObject({
      model,
      version: 1,
      state: 'registered',
      alias: { name: 'champion', to: 1 },
    });
    expect(result.metrics.roc_auc).toBeGreaterThan(0.6);
    const stored = await getModelVersion(database.db, model, 'champion');
    expect(stored.lineage).toMatchObject({ workflowId, featureView: { name: view, version: 1 } });
    expect(stored.lineage.trainingRunId).toBe(result.trainingRunId);
    const runs = await database.db.select().from(tables.pipelineRuns);
    expect(runs.find((r) => r.workflowId === workflowId)).toMatchObject({
      pipeline: 'training',
      status: 'completed',
    });
  });

  it('fails fast on a bad spec with the cause and registers nothing', async () => {
    const model = uniqueName('wf-bad').replace(/-/g, '_');
    const workers = await createTestWorkers(temporal, [queue, gpuQueue], {
      db: database.db,
      store,
      training: deps,
    });
    const error = await withWorkers(workers, () =>
      temporal.client.workflow
        .execute('trainingPipeline', {
          taskQueue: queue,
          workflowId: uniqueName('train-bad'),
          args: [
            {
              spec: {
                name: 'bad',
                model,
                featureView: { name: view },
                trainer: { name: 'gbdt', params: { numTrees: -1 } },
                trainQueue: gpuQueue,
              },
            },
          ],
        })
        .catch((e: unknown) => e),
    );
    expect(error).toBeInstanceOf(WorkflowFailedError);
    expect(rootMessage(error)).toContain('trainer gbdt: invalid hyperparameters — numTrees');
    expect((await listModels(database.db)).some((m) => m.name === model)).toBe(false);
  });
});
