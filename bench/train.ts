// bench/train: the TypeScript GBDT (100 trees, depth 6, 256 bins) on 100k × 20 synthetic binary rows
// vs Debian's `xgboost` command-line program (tree_method=hist, same hyperparameters) on the same
// data in the same run: training seconds and test ROC AUC. Also batch scoring through
// onnxruntime-node (rows/s). Needs `xgboost` on PATH (`apt-get install xgboost`); no stack needed.
// Usage: node dist/bench/train.js [rows=100000] [features=20]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gbdt, loadSession, predictOnnx, rocAuc, type Dataset } from '../core/ml';
import { syntheticBinary } from './support/synthetic';

const rows = Number(process.argv[2] ?? 100_000);
const cols = Number(process.argv[3] ?? 20);
const threads = os.cpus().length;

const synthetic = (n: number, seed: number): Dataset => syntheticBinary(n, cols, seed);

function writeCsv(data: Dataset, file: string): void {
  const lines: string[] = [];
  for (let i = 0; i < data.rows; i++)
    lines.push(`${data.y[i]},${Array.from(data.X.subarray(i * cols, (i + 1) * cols)).join(',')}`);
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-bench-train-'));
  const train = synthetic(rows, 1);
  const test = synthetic(Math.floor(rows / 4), 2);
  const params = gbdt.paramsSchema.parse({
    numTrees: 100,
    maxDepth: 6,
    learningRate: 0.1,
    maxBins: 256,
    l2: 1,
    minChildWeight: 1,
    earlyStoppingRounds: 0,
  });

  const t0 = performance.now();
  const model = await gbdt.train(
    { task: 'binary', numClasses: 2, featureNames: Array.from({ length: cols }, (_, i) => `f${i}`), train },
    params,
    { seed: 1 },
  );
  const oursSeconds = (performance.now() - t0) / 1000;
  const ours = model.predict(test.X, test.rows).probabilities!;
  const oursAuc = rocAuc(
    test.y,
    Float64Array.from({ length: test.rows }, (_, i) => ours[i * 2 + 1]!),
  );

  // Batch scoring through onnxruntime-node (what batch inference uses), 4× the test set.
  const session = await loadSession(model.onnx, { threads });
  const big = new Float32Array(test.rows * 4 * cols);
  for (let k = 0; k < 4; k++) big.set(Float32Array.from(test.X), k * test.rows * cols);
  await predictOnnx(session, big.subarray(0, 1000 * cols), 1000, cols);
  const s0 = performance.now();
  const chunk = 50_000;
  for (let start = 0; start < test.rows * 4; start += chunk) {
    const n = Math.min(chunk, test.rows * 4 - start);
    await predictOnnx(session, big.subarray(start * cols, (start + n) * cols), n, cols);
  }
  const scoreRate = (test.rows * 4) / ((performance.now() - s0) / 1000);
  await session.release();

  let xgb = 'xgboost not found on PATH (apt-get install xgboost)';
  let ratio = '';
  try {
    writeCsv(train, path.join(dir, 'train.csv'));
    writeCsv(test, path.join(dir, 'test.csv'));
    const common = [`nthread=${threads}`];
    fs.writeFileSync(
      path.join(dir, 'train.conf'),
      [
        'task=train',
        'booster=gbtree',
        'objective=binary:logistic',
        'tree_method=hist',
        'max_depth=6',
        'eta=0.1',
        'num_round=100',
        'max_bin=256',
        'lambda=1',
        'min_child_weight=1',
        `data="${path.join(dir, 'train.csv')}?format=csv&label_column=0"`,
        `model_out="${path.join(dir, 'xgb.model')}"`,
        ...common,
      ].join('\n'),
    );
    const x0 = performance.now();
    execFileSync('xgboost', [path.join(dir, 'train.conf')], { stdio: 'ignore' });
    const xgbSeconds = (performance.now() - x0) / 1000;
    fs.writeFileSync(
      path.join(dir, 'pred.conf'),
      [
        'task=pred',
        `test:data="${path.join(dir, 'test.csv')}?format=csv&label_column=0"`,
        `model_in="${path.join(dir, 'xgb.model')}"`,
        `name_pred="${path.join(dir, 'pred.txt')}"`,
        ...common,
      ].join('\n'),
    );
    execFileSync('xgboost', [path.join(dir, 'pred.conf')], { stdio: 'ignore' });
    const preds = fs.readFileSync(path.join(dir, 'pred.txt'), 'utf8').trim().split('\n').map(Number);
    const xgbAuc = rocAuc(test.y, preds);
    xgb = `xgboost ${execFileSync('dpkg-query', ['-W', '-f=${Version}', 'xgboost'], { encoding: 'utf8' }).trim()} (CLI, hist, incl. CSV parse): ${xgbSeconds.toFixed(2)} s, test AUC ${xgbAuc.toFixed(4)}`;
    ratio = `  ratio time ours/xgboost: ${(oursSeconds / xgbSeconds).toFixed(2)}x; AUC difference ours - xgboost: ${(oursAuc - xgbAuc).toFixed(4)}`;
  } catch (error) {
    if (!(error as NodeJS.ErrnoException).code?.includes('ENOENT')) throw error;
  }
  process.stdout.write(
    [
      `bench/train: GBDT binary, ${rows} train rows × ${cols} features, ${test.rows} test rows, 100 trees, depth 6, eta 0.1, 256 bins, ${threads} cores`,
      `  fti gbdt (TypeScript, 1 thread): ${oursSeconds.toFixed(2)} s, test AUC ${oursAuc.toFixed(4)}, ONNX ${(model.onnx.length / 1024).toFixed(0)} KiB`,
      `  ${xgb}`,
      ...(ratio ? [ratio] : []),
      `  batch scoring via onnxruntime-node (${threads} threads): ${Math.round(scoreRate).toLocaleString('en-US')} rows/s`,
    ].join('\n') + '\n',
  );
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench/train failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
