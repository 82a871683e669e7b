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

  it('trains off the event loop and stops within seconds when the run is cancelled, as from the Temporal UI', async () => {
    const model = uniqueName('wf-cancel').replace(/-/g, '_');
    const cancelQueue = uniqueName('fti-training-cancel');
    const workers = await createTestWorkers(temporal, [cancelQueue], {
      db: database.db,
      store,
      training: deps,
    });
    const workflowId = uniqueName('train-cancel');
    // Far more trees than it can grow in the test's time: only a cancel ends it.
    const input: TrainingPipelineInput = {
      spec: {
        name: 'wf-cancel',
        model,
        featureView: { name: view },
        trainer: {
          name: 'gbdt',
          params: { numTrees: 10_000, maxDepth: 8, learningRate: 0.01, earlyStoppingRounds: 0 },
        },
        trainQueue: cancelQueue,
      },
    };
    await withWorkers(workers, async () => {
      const handle = await temporal.client.workflow.start('trainingPipeline', {
        taskQueue: cancelQueue,
        workflowId,
        args: [input],
      });
      // Wait until trees are being grown (the heartbeat says gbdt: n/10000).
      const deadline = Date.now() + 20_000;
      for (;;) {
        const pending = (await handle.describe()).raw.pendingActivities ?? [];
        const training = pending.find((a) => a.activityType?.name === 'trainModel');
        const details = training?.heartbeatDetails?.payloads?.[0]?.data;
        if (details && Buffer.from(details).toString('utf8').includes('gbdt:')) break;
        if (Date.now() > deadline)
          throw new Error(
            `training never reported progress: ${JSON.stringify(pending.map((a) => [a.activityType?.name, a.state, a.lastFailure?.message, a.heartbeatDetails ? Buffer.from(a.heartbeatDetails.payloads![0]!.data!).toString() : null]))}`,
          );
        await new Promise((r) => setTimeout(r, 100));
      }
      // While it trains, this process's event loop (the worker's) stays responsive.
      let longest = 0;
      let last = Date.now();
      const ticker = setInterval(() => {
        longest = Math.max(longest, Date.now() - last);
        last = Date.now();
      }, 20);
      await new Promise((r) => setTimeout(r, 1500));
      clearInterval(ticker);
      expect(longest).toBeLessThan(500);

      const cancelledAt = Date.now();
      await handle.cancel();
      const outcome = await handle.result().catch((e: unknown) => e);
      const stoppedMs = Date.now() - cancelledAt;
      expect(outcome).toBeInstanceOf(WorkflowFailedError);
      expect(stoppedMs).toBeLessThan(10_000);
      // The train step was asked to cancel, and its training thread stopped (not left running).
      const history = await handle.fetchHistory();
      expect(history.events!.some((e) => e.activityTaskCancelRequestedEventAttributes)).toBe(true);
      const threads = deps.trainerThreads!;
      const until = Date.now() + 10_000;
      while (threads.running > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      const threadStoppedMs = Date.now() - cancelledAt;
      expect(threads.running).toBe(0);
      expect(threadStoppedMs).toBeLessThan(10_000);
      console.log(
        `training cancelled: workflow closed ${stoppedMs} ms and the training thread stopped ${threadStoppedMs} ms after the cancel; longest event-loop gap while training ${longest} ms`,
      );
    });
    expect((await listModels(database.db)).some((m) => m.name === model)).toBe(false);
  });
});
