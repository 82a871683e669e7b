// bench/train-python-xgboost: what the external-trainer contract costs around XGBoost. The Python
// XGBoost trainer (clients/python/src/fti_client/trainers/xgboost.py) run end to end the way a
// training worker runs it (runExternalTrainer: Parquet + job.json written, Python process, fit,
// ONNX conversion + check, model read back) vs plain XGBoost fitted in-process on the same rows
// with the same hyperparameters (the baseline, measured in the same run: a Python process that
// times only `fit`). 100 rounds of depth 6, 256 bins, no early stopping, every core. Each side runs
// `repeats` times and the fastest run counts (shared machines are noisy).
//
// Usage: node dist/bench/train-python-xgboost.js [rows=100000] [features=20] [repeats=3] [--gpu]
// --gpu adds the same pair on CUDA (device "cuda"; the job gets CUDA_VISIBLE_DEVICES, default 0).
// It needs a GPU and XGBoost's CUDA build in .venv (`pip install xgboost==3.2.0` in place of the
// xgboost-cpu wheel): run it on a GPU training worker's machine. No stack needed.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { externalTrainerDefinitionSchema, runExternalTrainer, type Dataset } from '../core/ml';
import { projectRoot } from '../core/project-root';
import { syntheticBinary } from './support/synthetic';

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const rows = Number(args[0] ?? 100_000);
const cols = Number(args[1] ?? 20);
const repeats = Number(args[2] ?? 3);
const withGpu = process.argv.includes('--gpu');
const threads = os.cpus().length;
const python = path.join(projectRoot(), '.venv', 'bin', 'python');
const trainer = path.join(projectRoot(), 'clients', 'python', 'src', 'fti_client', 'trainers', 'xgboost.py');
const params = {
  n_estimators: 100,
  max_depth: 6,
  learning_rate: 0.1,
  max_bin: 256,
  early_stopping_rounds: 0,
};

const synthetic = (n: number, seed: number): Dataset => syntheticBinary(n, cols, seed);

/** Plain XGBoost: the same fit in one Python process, timed around `fit` only. */
const BASELINE = `
import json, sys, time, numpy as np, xgboost as xgb
folder, cols, device, seed, repeats = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[6])
load = lambda name: np.fromfile(f"{folder}/{name}.f64", dtype="<f8")
X, y = load("train.X").reshape(-1, cols), load("train.y").astype(np.int64)
Xv, yv = load("validation.X").reshape(-1, cols), load("validation.y").astype(np.int64)
p = json.loads(sys.argv[5])
model = xgb.XGBClassifier(n_estimators=p["n_estimators"], max_depth=p["max_depth"], learning_rate=p["learning_rate"],
    max_bin=p["max_bin"], tree_method="hist", device=device, objective="binary:logistic", eval_metric="logloss",
    random_state=seed, missing=np.nan)
seconds = []
for _ in range(repeats):
    started = time.perf_counter()
    model.fit(X, y, eval_set=[(X, y), (Xv, yv)], verbose=False)
    seconds.append(time.perf_counter() - started)
seconds = min(seconds)
print(json.dumps({"seconds": seconds, "validation_logloss": model.evals_result()["validation_1"]["logloss"][-1]}))
`;

interface Pair {
  readonly device: string;
  readonly external: {
    readonly seconds: number;
    readonly untilFirstLine: number;
    readonly metrics: Record<string, number>;
    readonly onnxBytes: number;
  };
  readonly baseline: { readonly seconds: number; readonly validation_logloss: number };
  /** A Python process that imports what the trainer imports before its first line (numpy, pyarrow, xgboost), and exits. */
  readonly pythonStart: number;
}

async function measure(
  device: 'cpu' | 'cuda',
  train: Dataset,
  validation: Dataset,
  dir: string,
): Promise<Pair> {
  const registration = externalTrainerDefinitionSchema.parse({
    command: [python, trainer, '{job}'],
    timeoutSeconds: 3600,
    env: { OMP_NUM_THREADS: String(threads) },
  });
  let best: Pair['external'] | undefined;
  for (let r = 0; r < repeats; r++) {
    const workDir = fs.mkdtempSync(path.join(dir, `external-${device}-`));
    const started = performance.now();
    let firstLine = 0;
    const result = await runExternalTrainer(
      { ...registration, name: 'xgboost-py', params: { ...params, device } },
      {
        task: 'binary',
        numClasses: 2,
        classes: null,
        featureNames: Array.from({ length: cols }, (_, i) => `f${i}`),
        train,
        validation,
        seed: 1,
      },
      {
        workDir,
        ...(device === 'cuda' ? { device: process.env.CUDA_VISIBLE_DEVICES || '0' } : {}),
        onLog: () => (firstLine ||= performance.now()),
      },
    );
    const seconds = (performance.now() - started) / 1000;
    fs.rmSync(workDir, { recursive: true, force: true });
    if (!best || seconds < best.seconds)
      best = {
        seconds,
        untilFirstLine: (firstLine - started) / 1000,
        metrics: result.metrics,
        onnxBytes: result.onnx.length,
      };
  }
  const out = execFileSync(
    python,
    ['-c', BASELINE, dir, String(cols), device, '1', JSON.stringify(params), String(repeats)],
    { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: String(threads) } },
  );
  const baseline = JSON.parse(out.trim().split('\n').pop()!) as Pair['baseline'];
  let pythonStart = Infinity;
  for (let r = 0; r < repeats; r++) {
    const started = performance.now();
    execFileSync(python, ['-c', 'import numpy, pyarrow.parquet, xgboost']);
    pythonStart = Math.min(pythonStart, (performance.now() - started) / 1000);
  }
  return { device, external: best!, baseline, pythonStart };
}

function describe(pair: Pair): string[] {
  const m = pair.external.metrics;
  const accounted = (m.load_seconds ?? 0) + (m.train_seconds ?? 0) + (m.convert_seconds ?? 0);
  return [
    `  ${pair.device}: external trainer end to end ${pair.external.seconds.toFixed(2)} s` +
      ` (Parquet + job write ${(pair.external.untilFirstLine - pair.pythonStart).toFixed(2)} s, Python start + imports ${pair.pythonStart.toFixed(2)} s, Parquet read ${m.load_seconds?.toFixed(2)} s,` +
      ` fit ${m.train_seconds?.toFixed(2)} s, ONNX convert + check ${m.convert_seconds?.toFixed(2)} s,` +
      ` outputs + exit + read back ${(pair.external.seconds - pair.external.untilFirstLine - accounted).toFixed(2)} s; ONNX ${(pair.external.onnxBytes / 1024).toFixed(0)} KiB, trained on ${m.gpu ? 'cuda' : 'cpu'})`,
    `  ${pair.device}: plain xgboost fit in-process ${pair.baseline.seconds.toFixed(2)} s` +
      ` (same model: validation logloss ${pair.baseline.validation_logloss.toFixed(6)} vs ${m.validation_logloss?.toFixed(6)})`,
    `  ${pair.device}: ratio external end to end / in-process fit: ${(pair.external.seconds / pair.baseline.seconds).toFixed(2)}x;` +
      ` overhead ${(pair.external.seconds - pair.baseline.seconds).toFixed(2)} s`,
  ];
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-bench-pyxgb-'));
  try {
    const train = synthetic(rows, 1);
    const validation = synthetic(Math.floor(rows / 4), 2);
    fs.writeFileSync(path.join(dir, 'train.X.f64'), train.X);
    fs.writeFileSync(path.join(dir, 'train.y.f64'), train.y);
    fs.writeFileSync(path.join(dir, 'validation.X.f64'), validation.X);
    fs.writeFileSync(path.join(dir, 'validation.y.f64'), validation.y);
    const version = execFileSync(python, ['-c', 'import xgboost; print(xgboost.__version__)'], {
      encoding: 'utf8',
    }).trim();
    const pairs = [await measure('cpu', train, validation, dir)];
    if (withGpu) pairs.push(await measure('cuda', train, validation, dir));
    const lines = [
      `bench/train-python-xgboost: binary, ${rows} train + ${validation.rows} validation rows × ${cols} features, xgboost ${version} hist, 100 rounds, depth 6, eta 0.1, 256 bins, ${threads} threads, best of ${repeats}`,
      ...pairs.flatMap(describe),
    ];
    if (pairs.length === 2)
      lines.push(
        `  cuda vs cpu: external end to end ${(pairs[0]!.external.seconds / pairs[1]!.external.seconds).toFixed(2)}x faster on cuda; fit alone ${(pairs[0]!.baseline.seconds / pairs[1]!.baseline.seconds).toFixed(2)}x`,
      );
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench/train-python-xgboost failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
