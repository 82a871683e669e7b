// bench/train-python-xgboost: what the external-trainer contract costs around XGBoost. The Python
// XGBoost trainer (clients/python/src/fti_client/trainers/xgboost.py) run end to end the way a
// training worker runs it (runExternalTrainer: Parquet + job.json written, Python process, fit,
// ONNX conversion + check, model read back) vs plain XGBoost fitted in-process on the same rows
// with the same hyperparameters (the baseline, measured in the same run: a Python process that
// times only `fit`). 100 rounds of depth 6, 256 bins, no early stopping, every core. Each side runs
// `repeats` times and the fastest run counts (shared machines are noisy).
//
// Peak RSS (under /usr/bin/time when present): the trainer's Python process and the baseline's, and
// this process sampled every 20 ms while the external run goes on (the platform side: job write and
// read back; the data sets themselves are held here throughout).
//
// Usage: node dist/bench/train-python-xgboost.js [rows=100000] [features=20] [repeats=3] [--gpu]
//        node dist/bench/train-python-xgboost.js --sizes=10000,100000,1000000 [--plot=FILE.svg]
//          [--repeats=3] [features=20]
//   sweeps the training rows (one process per size, CPU only): both times, the ratio and the peak RSS
//   of each process per size, drawn as SVG.
// --gpu adds the same pair on CUDA (device "cuda"; the job gets CUDA_VISIBLE_DEVICES, default 0).
// It needs a GPU and XGBoost's CUDA build in .venv (`pip install xgboost==3.2.0` in place of the
// xgboost-cpu wheel): run it on a GPU training worker's machine. No stack needed.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { externalTrainerDefinitionSchema, runExternalTrainer, type Dataset } from '../core/ml';
import { projectRoot } from '../core/project-root';
import { lineChartSvg } from './support/plot';
import { stackSvgs } from './support/plot-stack';
import { syntheticBinary } from './support/synthetic';

const flag = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
/** --sizes=10000,100000,1000000: training rows per child process (a sweep); features stay positional. */
const sizes = flag('sizes')?.split(',').map(Number);
const plot = flag('plot');
/** Set in a sweep's child: print the CPU pair's figures as one JSON line too. */
const json = process.argv.includes('--json');
const rows = Number(args[0] ?? 100_000);
const cols = Number((sizes ? args[0] : args[1]) ?? 20);
const repeats = Number(flag('repeats') ?? (sizes ? undefined : args[2]) ?? 3);
const withGpu = process.argv.includes('--gpu');
/** GNU time writes a command's peak RSS (KiB) to a file; absent, peak RSS is not reported. */
const TIME = fs.existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
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
  /**
   * Peak RSS in bytes (0 when not measured): the trainer's Python process (largest over the
   * repeats), this process while the external runs went on, and the baseline's Python process.
   */
  readonly peakRss: { readonly trainer: number; readonly platform: number; readonly baseline: number };
  /** A Python process that imports what the trainer imports before its first line (numpy, pyarrow, xgboost), and exits. */
  readonly pythonStart: number;
}

/** `command` prefixed so that GNU time writes its peak RSS to `file` (unchanged without it). */
const underTime = (file: string, command: readonly string[]) =>
  TIME ? [TIME, '-f', '%M', '-o', file, ...command] : [...command];

/** The peak RSS (bytes) GNU time wrote to `file` (its last line, KiB); 0 when there is none. */
function peakRssFrom(file: string): number {
  if (!fs.existsSync(file)) return 0;
  const kib = Number(fs.readFileSync(file, 'utf8').trim().split('\n').at(-1));
  fs.rmSync(file, { force: true });
  return Number.isFinite(kib) ? kib * 1024 : 0;
}

async function measure(
  device: 'cpu' | 'cuda',
  train: Dataset,
  validation: Dataset,
  dir: string,
): Promise<Pair> {
  const trainerRss = path.join(dir, `trainer-${device}.rss`);
  const registration = externalTrainerDefinitionSchema.parse({
    command: underTime(trainerRss, [python, trainer, '{job}']),
    timeoutSeconds: 3600,
    env: { OMP_NUM_THREADS: String(threads) },
  });
  const peakRss = { trainer: 0, platform: 0, baseline: 0 };
  const sample = () => (peakRss.platform = Math.max(peakRss.platform, process.memoryUsage().rss));
  let best: Pair['external'] | undefined;
  for (let r = 0; r < repeats; r++) {
    const workDir = fs.mkdtempSync(path.join(dir, `external-${device}-`));
    const started = performance.now();
    let firstLine = 0;
    const sampler = setInterval(sample, 20);
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
    clearInterval(sampler);
    sample();
    peakRss.trainer = Math.max(peakRss.trainer, peakRssFrom(trainerRss));
    fs.rmSync(workDir, { recursive: true, force: true });
    if (!best || seconds < best.seconds)
      best = {
        seconds,
        untilFirstLine: (firstLine - started) / 1000,
        metrics: result.metrics,
        onnxBytes: result.onnx.length,
      };
  }
  const baselineRss = path.join(dir, `baseline-${device}.rss`);
  const [command, ...commandArgs] = underTime(baselineRss, [
    python,
    '-c',
    BASELINE,
    dir,
    String(cols),
    device,
    '1',
    JSON.stringify(params),
    String(repeats),
  ]);
  const out = execFileSync(command!, commandArgs, {
    encoding: 'utf8',
    env: { ...process.env, OMP_NUM_THREADS: String(threads) },
  });
  const baseline = JSON.parse(out.trim().split('\n').pop()!) as Pair['baseline'];
  peakRss.baseline = peakRssFrom(baselineRss);
  let pythonStart = Infinity;
  for (let r = 0; r < repeats; r++) {
    const started = performance.now();
    execFileSync(python, ['-c', 'import numpy, pyarrow.parquet, xgboost']);
    pythonStart = Math.min(pythonStart, (performance.now() - started) / 1000);
  }
  return { device, external: best!, baseline, peakRss, pythonStart };
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
    `  ${pair.device}: peak RSS ${
      pair.peakRss.trainer
        ? `trainer process ${mib(pair.peakRss.trainer)} MiB, in-process fit ${mib(pair.peakRss.baseline)} MiB`
        : 'of the Python processes not measured (no /usr/bin/time)'
    }; this process during the external runs ${mib(pair.peakRss.platform)} MiB`,
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
    if (json) process.stdout.write(`${JSON.stringify({ rows, ...pairs[0]! })}\n`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0);

/** A sweep: each size in its own process (a clean peak RSS), then the table and the chart. */
function sweep(list: readonly number[]): void {
  const figures: (Pair & { readonly rows: number })[] = [];
  for (const n of list) {
    if (!Number.isInteger(n) || n <= 0) throw new Error(`--sizes needs positive integers, got ${n}`);
    const child = spawnSync(
      process.execPath,
      [__filename, String(n), String(cols), String(repeats), '--json'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 },
    );
    if (child.status !== 0)
      throw new Error(`bench/train-python-xgboost ${n} rows exited with ${child.status}`);
    const lines = child.stdout.trim().split('\n');
    figures.push(JSON.parse(lines.pop()!) as Pair & { rows: number });
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  process.stdout.write(
    [
      `bench/train-python-xgboost sweep (cpu, ${cols} features, 100 rounds, depth 6, ${threads} threads, best of ${repeats}):`,
      '  rows | external s | in-process fit s | ratio | overhead s | trainer peak RSS MiB | fit peak RSS MiB | this process MiB',
      ...figures.map(
        (f) =>
          `  ${f.rows} | ${f.external.seconds.toFixed(2)} | ${f.baseline.seconds.toFixed(2)} | ${(f.external.seconds / f.baseline.seconds).toFixed(2)}x | ${(f.external.seconds - f.baseline.seconds).toFixed(2)} | ${mib(f.peakRss.trainer)} | ${mib(f.peakRss.baseline)} | ${mib(f.peakRss.platform)}`,
      ),
    ].join('\n') + '\n',
  );
  if (!plot) return;
  const points = (value: (f: (typeof figures)[number]) => number) =>
    figures.map((f) => [f.rows, value(f)] as const);
  fs.writeFileSync(
    plot,
    stackSvgs([
      lineChartSvg({
        title: `Python XGBoost trainer: time as the rows grow (${cols} features, ${threads} threads)`,
        xLabel: 'training rows',
        yLabel: 'seconds (best run)',
        log: { x: true, y: true },
        series: [
          { name: 'external, end to end', points: points((f) => f.external.seconds) },
          { name: 'in-process fit', points: points((f) => f.baseline.seconds) },
        ],
      }),
      lineChartSvg({
        title: 'Python XGBoost trainer: peak RSS as the rows grow',
        xLabel: 'training rows',
        yLabel: 'MiB',
        log: { x: true, y: true },
        series: [
          { name: 'trainer process', points: points((f) => f.peakRss.trainer / 2 ** 20) },
          { name: 'in-process fit', points: points((f) => f.peakRss.baseline / 2 ** 20) },
          { name: 'platform (Node)', points: points((f) => f.peakRss.platform / 2 ** 20) },
        ],
      }),
    ]),
  );
  process.stdout.write(`wrote ${plot}\n`);
}

(sizes ? Promise.resolve().then(() => sweep(sizes)) : main()).catch((error: unknown) => {
  process.stderr.write(
    `bench/train-python-xgboost failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
