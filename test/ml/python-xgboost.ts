// Shared by the tests of the Python XGBoost trainer (clients/python/src/fti_client/trainers/xgboost.py):
// its registration as a worker would write it, synthetic data with missing values, and XGBoost's own
// predictions from the native model the trainer keeps beside model.onnx.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { seededRandom, type Dataset, type Task } from '../../core/ml';
import { projectRoot } from '../../core/project-root';
import { projectPython } from '../support/python';

/** The trainer's file, run by path. */
export const XGBOOST_TRAINER = path.join(
  projectRoot(),
  'clients',
  'python',
  'src',
  'fti_client',
  'trainers',
  'xgboost.py',
);

/** The project venv's Python, checked to have what the trainer imports. */
export function trainerPython(): string {
  return projectPython(['numpy', 'pyarrow', 'xgboost', 'onnxmltools', 'onnx']);
}

/** The registration a worker's FTI_EXTERNAL_TRAINERS file would hold for the trainer, run by path. */
export function xgboostRegistration(): {
  command: string[];
  timeoutSeconds: number;
  env: Record<string, string>;
  description: string;
} {
  return {
    command: [trainerPython(), XGBOOST_TRAINER, '{job}'],
    timeoutSeconds: 300,
    // One thread: tests run side by side on two cores, and OpenMP threads that wait for a busy core
    // made a 100-round fit on 1,500 rows take 4.5 s instead of 0.1 s.
    env: { OMP_NUM_THREADS: '1' },
    description: 'XGBoost hist (Python), CPU or CUDA',
  };
}

/**
 * Rows with a learnable signal and ~10 % missing values in three of five features: binary (label
 * 0/1), multiclass (3 classes) or regression.
 */
export function syntheticData(task: Task, rows: number, seed: number): Dataset {
  const cols = 5;
  const random = seededRandom(seed);
  const X = new Float64Array(rows * cols);
  const y = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) X[i * cols + j] = j < 3 && random() < 0.1 ? Number.NaN : random() * 2 - 1;
    const v = (j: number) => (Number.isNaN(X[i * cols + j]!) ? 0 : X[i * cols + j]!);
    const z = 2 * v(0) + v(1) * v(2) - 0.8 * v(3) + (random() - 0.5) * 0.8;
    y[i] =
      task === 'regression'
        ? 3 * z + 1
        : task === 'binary'
          ? z > 0
            ? 1
            : 0
          : z < -0.6
            ? 0
            : z < 0.6
              ? 1
              : 2;
  }
  return { X, rows, cols, y };
}

/** Rows to score with a native model the trainer kept (`model.xgb.json`). */
export interface NativeScoring {
  readonly booster: string;
  readonly task: Task;
  readonly data: Dataset;
}

/**
 * What XGBoost itself predicts with the native models the trainer kept, all in one Python process
 * (importing xgboost takes seconds): probabilities [N, C] for classification (binary: [1 - p, p]),
 * values [N] for regression.
 */
export function xgboostPredict(jobs: readonly NativeScoring[]): Float64Array[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-xgb-predict-'));
  try {
    jobs.forEach((job, i) => fs.writeFileSync(path.join(dir, `${i}.x.f64`), job.data.X));
    fs.writeFileSync(
      path.join(dir, 'jobs.json'),
      JSON.stringify(jobs.map((j) => ({ booster: j.booster, task: j.task, cols: j.data.cols }))),
    );
    const script = [
      'import json, sys, numpy as np, xgboost as xgb',
      'folder = sys.argv[1]',
      'for i, job in enumerate(json.load(open(folder + "/jobs.json"))):',
      '    X = np.fromfile(f"{folder}/{i}.x.f64", dtype="<f8").reshape(-1, job["cols"]).astype(np.float32)',
      '    p = xgb.Booster(model_file=job["booster"]).inplace_predict(X, missing=np.nan).astype(np.float64)',
      '    p = np.column_stack([1 - p, p]) if job["task"] == "binary" else p',
      '    p.tofile(f"{folder}/{i}.p.f64")',
    ].join('\n');
    execFileSync(trainerPython(), ['-c', script, dir], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, OMP_NUM_THREADS: '1' },
    });
    return jobs.map((_, i) => {
      const bytes = fs.readFileSync(path.join(dir, `${i}.p.f64`));
      return new Float64Array(bytes.buffer, bytes.byteOffset, bytes.length / 8).slice();
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The largest absolute difference between two equally long arrays. */
export function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}
