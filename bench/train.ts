// bench/train: the TypeScript GBDT (100 trees, depth 6, 256 bins) on 100k × 20 synthetic binary rows
// vs Debian's `xgboost` command-line program (tree_method=hist, same hyperparameters) on the same
// data in the same run: training seconds and test ROC AUC. Also batch scoring through
// onnxruntime-node (rows/s). Needs `xgboost` on PATH (`infra/bench-deps.sh` installs it); no stack needed.
// Usage: node dist/bench/train.js [rows=100000] [features=20] [--cpu-prof=FILE.cpuprofile]
//        node dist/bench/train.js --sizes=10000,100000,1000000 [--plot=FILE.svg] [features=20]
//   sweeps the training rows (one process per size): time and peak RSS of ours and of xgboost per
//   size, drawn as SVG. --cpu-prof profiles our training phase (bench/support/flamegraph.ts draws it).
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gbdt, loadSession, predictOnnx, rocAuc, type Dataset } from '../core/ml';
import { trainingThreads } from '../core/ml/trainers/gbdt';
import { cpuProfileArgument, profiled } from './support/cpu-profile';
import { lineChartSvg } from './support/plot';
import { syntheticBinary } from './support/synthetic';

const flag = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const sizes = flag('sizes')?.split(',').map(Number);
const rows = Number(positional[0] ?? 100_000);
const cols = Number((sizes ? positional[0] : positional[1]) ?? 20);
const plot = flag('plot');
const cpuProfile = cpuProfileArgument();
/** Set in the child of a sweep: print the figures as one JSON line too. */
const json = process.argv.includes('--json');
const threads = os.cpus().length;

/** One size's measurements (what a sweep's child reports). */
interface TrainFigure {
  readonly rows: number;
  readonly oursSeconds: number;
  readonly oursAuc: number;
  /** Peak RSS of this process once trained (data included), bytes. */
  readonly oursPeakRss: number;
  /** CPU seconds of training, all threads (less sensitive than wall time to other load on the machine). */
  readonly oursCpuSeconds: number;
  readonly xgbSeconds?: number;
  readonly xgbAuc?: number;
  /** Peak RSS of the xgboost process (CSV parse and training), bytes. */
  readonly xgbPeakRss?: number;
  /** CPU seconds of the xgboost process, all threads (user + system). */
  readonly xgbCpuSeconds?: number;
}

/** Runs `command` under /usr/bin/time: its peak RSS in bytes and CPU seconds (0 when time is missing). */
function runMeasured(command: string, args: readonly string[]): { peakRss: number; cpuSeconds: number } {
  const timed = fs.existsSync('/usr/bin/time');
  const result = timed
    ? spawnSync('/usr/bin/time', ['-f', '%M %U %S', command, ...args], {
        encoding: 'utf8',
        stdio: ['ignore', 'ignore', 'pipe'],
      })
    : spawnSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`${command} exited with ${result.status}: ${result.stderr}`);
  if (!timed) return { peakRss: 0, cpuSeconds: 0 };
  const [rss, user, sys] = result.stderr.trim().split('\n').at(-1)!.split(' ').map(Number);
  return { peakRss: rss! * 1024, cpuSeconds: user! + sys! };
}

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
  const c0 = process.cpuUsage();
  const model = await profiled(cpuProfile, () =>
    gbdt.train(
      { task: 'binary', numClasses: 2, featureNames: Array.from({ length: cols }, (_, i) => `f${i}`), train },
      params,
      { seed: 1 },
    ),
  );
  const oursSeconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  const oursCpuSeconds = (cpu.user + cpu.system) / 1e6;
  const oursPeakRss = process.resourceUsage().maxRSS * 1024;
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

  let figure: TrainFigure = { rows, oursSeconds, oursAuc, oursPeakRss, oursCpuSeconds };
  let xgb = 'xgboost not found on PATH (infra/bench-deps.sh installs it, or apt-get install xgboost)';
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
    const measured = runMeasured('xgboost', [path.join(dir, 'train.conf')]);
    const xgbSeconds = (performance.now() - x0) / 1000;
    figure = { ...figure, xgbSeconds, xgbPeakRss: measured.peakRss, xgbCpuSeconds: measured.cpuSeconds };
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
    figure = { ...figure, xgbAuc };
    xgb = `xgboost ${execFileSync('dpkg-query', ['-W', '-f=${Version}', 'xgboost'], { encoding: 'utf8' }).trim()} (CLI, hist, incl. CSV parse): ${xgbSeconds.toFixed(2)} s (CPU ${measured.cpuSeconds.toFixed(2)} s), test AUC ${xgbAuc.toFixed(4)}`;
    ratio = `  ratio time ours/xgboost: ${(oursSeconds / xgbSeconds).toFixed(2)}x; AUC difference ours - xgboost: ${(oursAuc - xgbAuc).toFixed(4)}`;
  } catch (error) {
    if (!(error as NodeJS.ErrnoException).code?.includes('ENOENT') && !String(error).includes('ENOENT'))
      throw error;
  }
  process.stdout.write(
    [
      `bench/train: GBDT binary, ${rows} train rows × ${cols} features, ${test.rows} test rows, 100 trees, depth 6, eta 0.1, 256 bins, ${threads} cores`,
      `  fti gbdt (TypeScript, ${trainingThreads(0, rows)} threads): ${oursSeconds.toFixed(2)} s (CPU ${oursCpuSeconds.toFixed(2)} s), test AUC ${oursAuc.toFixed(4)}, ONNX ${(model.onnx.length / 1024).toFixed(0)} KiB, peak RSS ${mib(oursPeakRss)} MiB`,
      `  ${xgb}${figure.xgbPeakRss ? `, peak RSS ${mib(figure.xgbPeakRss)} MiB` : ''}`,
      ...(ratio ? [ratio] : []),
      `  batch scoring via onnxruntime-node (${threads} threads): ${Math.round(scoreRate).toLocaleString('en-US')} rows/s`,
    ].join('\n') + '\n',
  );
  if (json) process.stdout.write(`${JSON.stringify(figure)}\n`);
  fs.rmSync(dir, { recursive: true, force: true });
}

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0);

/** A sweep: each size in its own process (a clean peak RSS), then the table and the chart. */
function sweep(list: readonly number[]): void {
  const figures: TrainFigure[] = [];
  for (const n of list) {
    const child = spawnSync(process.execPath, [__filename, String(n), String(cols), '--json'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 1 << 24,
    });
    if (child.status !== 0) throw new Error(`bench/train ${n} rows exited with ${child.status}`);
    const lines = child.stdout.trim().split('\n');
    figures.push(JSON.parse(lines.pop()!) as TrainFigure);
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  process.stdout.write(
    [
      `bench/train sweep (${cols} features, 100 trees, depth 6, ${threads} cores):`,
      '  rows | ours s | xgboost s | ratio | ours CPU s | xgboost CPU s | ours peak RSS MiB | xgboost peak RSS MiB | AUC ours - xgboost',
      ...figures.map(
        (f) =>
          `  ${f.rows} | ${f.oursSeconds.toFixed(2)} | ${f.xgbSeconds?.toFixed(2) ?? '-'} | ${f.xgbSeconds ? `${(f.oursSeconds / f.xgbSeconds).toFixed(2)}x` : '-'} | ${f.oursCpuSeconds.toFixed(2)} | ${f.xgbCpuSeconds?.toFixed(2) ?? '-'} | ${mib(f.oursPeakRss)} | ${f.xgbPeakRss ? mib(f.xgbPeakRss) : '-'} | ${f.xgbAuc !== undefined ? (f.oursAuc - f.xgbAuc).toFixed(4) : '-'}`,
      ),
    ].join('\n') + '\n',
  );
  if (!plot) return;
  const withXgb = figures.filter((f) => f.xgbSeconds !== undefined);
  fs.writeFileSync(
    plot,
    lineChartSvg({
      title: `GBDT training (100 trees, depth 6, ${cols} features, ${threads} cores): time and peak RSS`,
      xLabel: 'training rows',
      yLabel: 'seconds (time) / GiB (peak RSS)',
      log: { x: true, y: true },
      series: [
        { name: 'fti gbdt time (s)', points: figures.map((f) => [f.rows, f.oursSeconds]) },
        { name: 'xgboost time (s)', points: withXgb.map((f) => [f.rows, f.xgbSeconds!]) },
        { name: 'fti gbdt RSS (GiB)', points: figures.map((f) => [f.rows, f.oursPeakRss / 2 ** 30]) },
        { name: 'xgboost RSS (GiB)', points: withXgb.map((f) => [f.rows, f.xgbPeakRss! / 2 ** 30]) },
      ],
    }),
  );
  process.stdout.write(`wrote ${plot}\n`);
}

(sizes ? Promise.resolve().then(() => sweep(sizes)) : main()).catch((error: unknown) => {
  process.stderr.write(
    `bench/train failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
