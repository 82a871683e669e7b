import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  externalTrainerDefinitionSchema,
  loadSession,
  predictOnnx,
  runExternalTrainer,
  verifyOnnxModel,
  type Dataset,
  type Task,
} from '../../core/ml';
import { maxDifference, syntheticData, xgboostPredict, xgboostRegistration } from './python-xgboost';

// The Python XGBoost trainer under the external-trainer file contract, run the way a training
// worker runs it (runExternalTrainer: Parquet + job.json in, model.onnx + metrics.json out), with
// and without a device. Needs only the project venv (no stack).
describe('Python XGBoost trainer (clients/python/src/fti_client/trainers/xgboost.py)', () => {
  const registration = externalTrainerDefinitionSchema.parse(xgboostRegistration());
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  const train = async (
    task: Task,
    options: {
      params?: Record<string, unknown>;
      seed?: number;
      device?: string;
      classes?: string[];
      validation?: boolean;
    } = {},
  ) => {
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-pyxgb-'));
    dirs.push(workDir);
    const progress: [number, number][] = [];
    const log: string[] = [];
    const numClasses = task === 'binary' ? 2 : task === 'multiclass' ? 3 : 0;
    const result = await runExternalTrainer(
      { ...registration, name: 'xgboost-py', params: options.params ?? {} },
      {
        task,
        numClasses,
        classes: options.classes ?? null,
        featureNames: ['f0', 'f1', 'f2', 'f3', 'f4'],
        train: syntheticData(task, 1500, 1),
        ...(options.validation === false ? {} : { validation: syntheticData(task, 400, 2) }),
        seed: options.seed ?? 42,
      },
      {
        workDir,
        ...(options.device !== undefined ? { device: options.device } : {}),
        onLog: (line) => log.push(line),
        onProgress: (done, total) => progress.push([done, total]),
      },
    );
    return { ...result, workDir, progress, log, booster: path.join(workDir, 'output', 'model.xgb.json') };
  };

  /**
   * Max difference of the ONNX outputs through onnxruntime-node (what batch and online inference
   * run) from XGBoost's own predictions (relative above magnitude 1 for regression).
   */
  const compareWithXgboost = async (task: Task, onnx: Uint8Array, test: Dataset, expected: Float64Array) => {
    const session = await loadSession(onnx);
    try {
      expect(session.inputNames).toEqual(['features']);
      expect([...session.outputNames].sort()).toEqual(
        task === 'regression' ? ['prediction'] : ['label', 'probabilities'],
      );
      const out = await predictOnnx(session, test.X, test.rows, test.cols);
      if (task === 'regression') {
        expect(out.prediction).toHaveLength(test.rows);
        return maxDifference(out.prediction!, expected) / Math.max(1, ...expected.map(Math.abs));
      }
      const classes = out.classes!;
      expect(classes).toBe(task === 'binary' ? 2 : 3);
      // `label` is the most probable class index.
      for (let r = 0; r < test.rows; r++) {
        const row = Array.from(out.probabilities!.subarray(r * classes, (r + 1) * classes));
        expect(Number(out.label![r])).toBe(row.indexOf(Math.max(...row)));
      }
      return maxDifference(out.probabilities!, expected);
    } finally {
      await session.release();
    }
  };

  it('binary: early stopping on the validation file, progress as heartbeats, metrics, and an ONNX that gives XGBoost probabilities (missing values included)', async () => {
    const params = { n_estimators: 300, max_depth: 4, learning_rate: 0.3, subsample: 0.8 };
    // Trained three times: the pipeline's seed is honoured (same seed, same model; another, another).
    const [run, again, otherSeed] = await Promise.all([
      train('binary', { params }),
      train('binary', { params }),
      train('binary', { params, seed: 7 }),
    ]);
    expect(Buffer.from(again.onnx).equals(Buffer.from(run.onnx))).toBe(true);
    expect(Buffer.from(otherSeed.onnx).equals(Buffer.from(run.onnx))).toBe(false);
    expect(run.metrics).toMatchObject({ gpu: 0, rows_train: 1500, rows_validation: 400 });
    // Stopped early, and the model keeps the rounds up to the best iteration only.
    expect(run.metrics.rounds_trained).toBeLessThan(300);
    expect(run.metrics.iterations).toBe(run.metrics.best_iteration! + 1);
    expect(run.metrics.validation_logloss).toBeLessThan(0.5);
    expect(run.metrics.train_logloss).toBeLessThan(run.metrics.validation_logloss!);
    expect(run.metrics.train_seconds).toBeGreaterThan(0);
    expect(run.progress.length).toBeGreaterThan(0);
    expect(run.progress.every(([done, total]) => total === 300 && done >= 1 && done <= 300)).toBe(true);
    expect(run.log).toContain('device: cpu (this job holds no GPU (CUDA_VISIBLE_DEVICES unset))');
    // The platform's own check of an external model: it loads and has the contract's interface.
    const test = syntheticData('binary', 300, 3);
    await verifyOnnxModel(run.onnx, 'binary', 5, test);
    const [expected] = xgboostPredict([{ booster: run.booster, task: 'binary', data: test }]);
    expect(await compareWithXgboost('binary', run.onnx, test, expected!)).toBeLessThan(1e-5);
  });

  it('multiclass and regression: the contract outputs (probabilities [N, 3]; prediction [N]) match XGBoost', async () => {
    const [multi, regression] = await Promise.all([
      train('multiclass', { params: { n_estimators: 40, max_depth: 3 }, classes: ['low', 'mid', 'high'] }),
      // Without a validation file: no early stopping, every round kept.
      train('regression', { params: { n_estimators: 60, max_depth: 4 }, validation: false }),
    ]);
    expect(multi.metrics.validation_mlogloss).toBeLessThan(0.6);
    expect(regression.metrics).toMatchObject({ iterations: 60, rounds_trained: 60 });
    expect(regression.metrics.validation_rmse).toBeUndefined();
    expect(regression.metrics.train_rmse).toBeLessThan(1);
    const testMulti = syntheticData('multiclass', 300, 3);
    const testRegression = syntheticData('regression', 300, 3);
    const [expectedMulti, expectedRegression] = xgboostPredict([
      { booster: multi.booster, task: 'multiclass', data: testMulti },
      { booster: regression.booster, task: 'regression', data: testRegression },
    ]);
    expect(await compareWithXgboost('multiclass', multi.onnx, testMulti, expectedMulti!)).toBeLessThan(1e-5);
    expect(
      await compareWithXgboost('regression', regression.onnx, testRegression, expectedRegression!),
    ).toBeLessThan(1e-5);
  });

  it('refuses bad params naming the param, and on a GPU worker without CUDA fails clearly unless gpu_fallback', async () => {
    const [badDepth, unknown, gpu, fallback] = await Promise.allSettled([
      train('binary', { params: { max_depth: 'six' } }),
      train('binary', { params: { eta: 0.3 } }),
      // A GPU worker's job: CUDA_VISIBLE_DEVICES=0. This venv's xgboost-cpu wheel has no CUDA.
      train('binary', { device: '0', params: { n_estimators: 5 } }),
      train('binary', { device: '0', params: { n_estimators: 5, gpu_fallback: true } }),
    ]);
    expect(badDepth.status === 'rejected' && (badDepth.reason as Error).message).toMatch(
      /exited with code 2\. Last output:\n.*param max_depth: must be an integer, got "six"/,
    );
    expect(unknown.status === 'rejected' && (unknown.reason as Error).message).toContain(
      'unknown param(s) eta (did you mean learning_rate?)',
    );
    expect(gpu.status === 'rejected' && (gpu.reason as Error).message).toMatch(
      /exited with code 3\. Last output:\n.*CUDA_VISIBLE_DEVICES=0, but this XGBoost \S+ is built without CUDA .*gpu_fallback: true to train on the CPU/,
    );
    expect(fallback.status).toBe('fulfilled');
    const run = (fallback as PromiseFulfilledResult<Awaited<ReturnType<typeof train>>>).value;
    expect(run.metrics.gpu).toBe(0);
    expect(run.log.find((l) => l.startsWith('device: '))).toMatch(
      /^device: cpu \(gpu_fallback: CUDA_VISIBLE_DEVICES=0, but this XGBoost .* is built without CUDA/,
    );
  });
});
