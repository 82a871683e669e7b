import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../core/config';
import { openDatabase, type DatabaseHandle } from '../../core/db';
import { readTrainingMatrix } from '../../core/featurestore';
import { loadSession, predictOnnx, type TrainingPipelineSpec } from '../../core/ml';
import { projectRoot } from '../../core/project-root';
import { compareTrainingRuns, downloadModel } from '../../core/registry';
import { objectStoreFromConfig, type S3ObjectStore } from '../../core/storage';
import type { trainingPipeline, TrainingPipelineResult } from '../../workflows/training-pipeline';
import { uniqueName } from '../support/ids';
import { connectTestTemporal, type TemporalTestContext } from '../support/temporal';
import { createChurnView, testTrainingDeps, type TrainingTestDeps } from '../support/training';
import { maxDifference, trainerPython, xgboostPredict } from './python-xgboost';

// A training pipeline through Temporal on a compiled training worker (dist/workers/training.js)
// polling a queue of its own, with the Python XGBoost trainer registered the way an operator does
// it: an FTI_EXTERNAL_TRAINERS file naming `python -m fti_client.trainers.xgboost {job}`.
describe('training pipeline with the Python XGBoost trainer on a real training worker', () => {
  const queue = uniqueName('pyxgb-training');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-pyxgb-pipeline-'));
  // The worker and this test share an S3 prefix of their own.
  const s3Prefix = [loadConfig().s3Prefix, uniqueName('t')].filter(Boolean).join('/');
  const keptBooster = path.join(dir, 'model.xgb.json');
  const model = uniqueName('churn_xgb').replace(/-/g, '_');
  let database: DatabaseHandle;
  let store: S3ObjectStore;
  let deps: TrainingTestDeps;
  let temporal: TemporalTestContext;
  let worker: ChildProcess;
  let workerOutput = '';
  let view: string;
  let result: TrainingPipelineResult;

  beforeAll(async () => {
    database = await openDatabase({ url: loadConfig().databaseUrl });
    store = objectStoreFromConfig({ ...loadConfig(), s3Prefix });
    deps = testTrainingDeps(database, store);
    temporal = await connectTestTemporal();
    // The registration: the trainer as a module of the client package. The `sh` wrapper is this
    // test's own instrument: it keeps the native model the trainer wrote, to compare predictions.
    const trainers = path.join(dir, 'trainers.json');
    fs.writeFileSync(
      trainers,
      JSON.stringify({
        'xgboost-py': {
          command: [
            'sh',
            '-c',
            '"$0" -m fti_client.trainers.xgboost "$1" && cp output/model.xgb.json "$FTI_TEST_KEEP"',
            trainerPython(),
            '{job}',
          ],
          timeoutSeconds: 300,
          env: {
            PYTHONPATH: path.join(projectRoot(), 'clients', 'python', 'src'),
            OMP_NUM_THREADS: '1',
            FTI_TEST_KEEP: keptBooster,
          },
          description: 'XGBoost hist (Python)',
        },
      }),
    );
    worker = spawn(process.execPath, [path.join(projectRoot(), 'dist', 'workers', 'training.js')], {
      env: {
        ...process.env,
        FTI_WORKER_TASK_QUEUE: queue,
        FTI_EXTERNAL_TRAINERS: trainers,
        S3_PREFIX: s3Prefix,
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    worker.stdout!.on('data', (d: Buffer) => (workerOutput += d.toString()));
    worker.stderr!.on('data', (d: Buffer) => (workerOutput += d.toString()));
    view = (await createChurnView(deps, { rows: 800 })).view;
    const deadline = Date.now() + 60_000;
    while (!workerOutput.includes('worker polling')) {
      if (worker.exitCode !== null || Date.now() > deadline)
        throw new Error(`training worker did not start:\n${workerOutput.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const spec: TrainingPipelineSpec = {
      name: 'churn-xgboost-py',
      model,
      featureView: { name: view },
      trainer: {
        external: { name: 'xgboost-py', params: { n_estimators: 80, max_depth: 3, learning_rate: 0.2 } },
      },
      seed: 42,
      sliceColumns: ['segment'],
      gates: { thresholds: { roc_auc: { min: 0.7 } } },
      alias: 'champion',
      trainQueue: queue,
    };
    result = await temporal.client.workflow.execute<typeof trainingPipeline>('trainingPipeline', {
      taskQueue: queue,
      workflowId: uniqueName('pyxgb-train'),
      args: [{ spec }],
    });
  }, 180_000);
  afterAll(async () => {
    if (worker && worker.exitCode === null) {
      const exited = new Promise((resolve) => worker.once('exit', resolve));
      worker.kill('SIGTERM');
      await exited;
    }
    await temporal?.close();
    await store?.deletePrefix('');
    store?.close();
    await database?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('registers the model with trainer external:xgboost-py, its evaluation and the trainer metrics', async () => {
    expect(result).toMatchObject({
      model,
      version: 1,
      state: 'registered',
      alias: { name: 'champion', to: 1 },
      device: null,
    });
    expect(result.metrics.roc_auc).toBeGreaterThan(0.7);
    const [run] = await compareTrainingRuns(database.db, [result.trainingRunId]);
    expect(run).toMatchObject({
      experiment: 'churn-xgboost-py',
      trainer: 'external:xgboost-py',
      status: 'completed',
      params: { n_estimators: 80, max_depth: 3, learning_rate: 0.2 },
    });
    // What the trainer wrote to metrics.json, recorded with the run (prefixed trainer_).
    expect(run!.metrics).toMatchObject({ trainer_gpu: 0, roc_auc: result.metrics.roc_auc });
    expect(run!.metrics.trainer_iterations).toBe(run!.metrics.trainer_best_iteration! + 1);
    expect(run!.metrics.trainer_validation_logloss).toBeGreaterThan(0);
    expect(run!.metrics.trainer_train_seconds).toBeGreaterThan(0);
  });

  it('stores an ONNX that scores the test split with the probabilities XGBoost predicts', async () => {
    const { info, onnx } = await downloadModel(deps, model, 'champion');
    expect(info.trainer).toBe('external:xgboost-py');
    expect(info.signature.classes).toEqual(['false', 'true']);
    expect(info.lineage.workflowId).toMatch(/^pyxgb-train-/);
    const { matrix } = await readTrainingMatrix(deps, { name: view }, result.trainingDataset.version, 'test');
    expect(matrix.featureNames).toEqual(info.signature.inputs[0]!.featureNames);
    const session = await loadSession(onnx);
    const scored = await predictOnnx(session, matrix.X, matrix.rows, matrix.cols);
    await session.release();
    const [expected] = xgboostPredict([
      {
        booster: keptBooster,
        task: 'binary',
        data: { X: matrix.X, rows: matrix.rows, cols: matrix.cols, y: new Float64Array(matrix.rows) },
      },
    ]);
    expect(scored.probabilities).toHaveLength(matrix.rows * 2);
    expect(maxDifference(scored.probabilities!, expected!)).toBeLessThan(1e-5);
  });
});
