// bench/batch: batch inference (feature view batch data as of the latest commits → transformations
// → ONNX in chunks → Parquet in S3 + Postgres rows) in rows/s, against raw onnxruntime-node scoring
// of the same model-input matrix in the same run.
// Usage: node dist/bench/batch.js [entities=100000] [spineRows=200000]   (needs infra/stack.sh up)
//        node dist/bench/batch.js --sizes=20000,200000,1000000 [--plot=FILE.svg]
//   sweeps the rows scored (entities = rows / 2): time, rows/s and peak memory per size, drawn as SVG.
//        --cpu-prof=FILE.cpuprofile profiles the measured run (flame graph: bench/support/flamegraph.ts).
import fs from 'node:fs';
import os from 'node:os';
import { getBatchData } from '../core/featurestore';
import { loadSession, predictOnnx } from '../core/ml';
import { getModelVersion } from '../core/registry';
import { getDeployment, runBatchInference } from '../core/serving';
import { cpuProfileArgument, profiled } from './support/cpu-profile';
import { lineChartSvg } from './support/plot';
import { rssSampler } from './support/peak-rss';
import { buildScenario } from './support/scenario';

const flag = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'));
// --sizes=20000,200000,1000000: spine rows per run (entities = rows / 2), one scenario each.
const sizes = flag('sizes')?.split(',').map(Number) ?? [Number(positional[1] ?? 200_000)];
const fixedEntities = positional[0] === undefined ? undefined : Number(positional[0]);
const plot = flag('plot');
// --cpu-prof=FILE.cpuprofile: profile the measured batch run only (see bench/support/flamegraph.ts).
const cpuProfile = cpuProfileArgument();
const threads = os.cpus().length;

interface BatchFigure {
  readonly rows: number;
  readonly entities: number;
  readonly platformSeconds: number;
  readonly rawSeconds: number;
  readonly peakRss: number;
  readonly steps: Readonly<Record<string, number>>;
  /** The same run writing only the Parquet sink (no Postgres rows). */
  readonly s3OnlySeconds: number;
}

async function measure(entities: number, spineRows: number): Promise<BatchFigure> {
  const scenario = await buildScenario(entities, spineRows, threads);
  const window = { start: new Date('2026-01-01T00:00:00Z'), end: new Date('2026-12-31T00:00:00Z') };
  const deployment = await getDeployment(scenario.database.db, scenario.deployment);
  const binding = deployment.current.bindings[0]!;
  // Warm the cache once so both sides read local Parquet.
  await runBatchInference(scenario.deps, { deployment: scenario.deployment, window, sinks: ['s3'], threads });
  const stopSampling = rssSampler();
  const t0 = performance.now();
  const result = await profiled(cpuProfile, () =>
    runBatchInference(scenario.deps, { deployment: scenario.deployment, window, threads }),
  );
  const platformSeconds = (performance.now() - t0) / 1000;
  const peakRss = stopSampling();
  const t2 = performance.now();
  await runBatchInference(scenario.deps, { deployment: scenario.deployment, window, sinks: ['s3'], threads });
  const s3OnlySeconds = (performance.now() - t2) / 1000;

  const { matrix } = await getBatchData(scenario.deps, {
    featureView: { name: binding.featureView.name },
    range: window,
    trainingDatasetVersion: binding.trainingDataset.version,
  });
  const model = await getModelVersion(scenario.database.db, binding.model.name, binding.model.version);
  const session = await loadSession(new Uint8Array(await scenario.store.get(model.artifactKey)), { threads });
  const X = Float32Array.from(matrix.X);
  const t1 = performance.now();
  for (let start = 0; start < matrix.rows; start += 50_000) {
    const n = Math.min(50_000, matrix.rows - start);
    await predictOnnx(session, X.subarray(start * matrix.cols, (start + n) * matrix.cols), n, matrix.cols);
  }
  const rawSeconds = (performance.now() - t1) / 1000;
  await session.release();
  await scenario.close();
  return {
    rows: result.rows,
    entities,
    platformSeconds,
    rawSeconds,
    peakRss,
    steps: result.seconds,
    s3OnlySeconds,
  };
}

async function main(): Promise<void> {
  const figures: BatchFigure[] = [];
  for (const spineRows of sizes) {
    const f = await measure(fixedEntities ?? Math.max(1, Math.floor(spineRows / 2)), spineRows);
    figures.push(f);
    process.stdout.write(
      [
        `bench/batch: ${f.rows} rows, 2 feature groups × 10 features (${f.entities} entities), GBDT 100 trees depth 6, ${threads} threads`,
        `  batch inference (PIT batch data + transformations + ONNX + Parquet to S3 + Postgres rows): ${f.platformSeconds.toFixed(2)} s, ${Math.round(f.rows / f.platformSeconds).toLocaleString('en-US')} rows/s, peak RSS ${(f.peakRss / 2 ** 20).toFixed(0)} MiB`,
        `  steps: ${Object.entries(f.steps)
          .map(([name, s]) => `${name} ${s.toFixed(2)} s`)
          .join(', ')}`,
        `  raw onnxruntime-node scoring of the same matrix: ${f.rawSeconds.toFixed(2)} s, ${Math.round(f.rows / f.rawSeconds).toLocaleString('en-US')} rows/s`,
        `  ratio platform/raw time: ${(f.platformSeconds / f.rawSeconds).toFixed(2)}x`,
        `  Parquet sink only (no Postgres rows): ${f.s3OnlySeconds.toFixed(2)} s, ratio ${(f.s3OnlySeconds / f.rawSeconds).toFixed(2)}x`,
      ].join('\n') + '\n',
    );
  }
  if (plot) {
    fs.writeFileSync(
      plot,
      lineChartSvg({
        title: `batch inference: time as rows grow (${threads} cores)`,
        xLabel: 'spine rows scored',
        yLabel: 'seconds',
        log: { x: true, y: true },
        series: [
          { name: 'batch inference', points: figures.map((f) => [f.rows, f.platformSeconds]) },
          { name: 'Parquet sink only', points: figures.map((f) => [f.rows, f.s3OnlySeconds]) },
          { name: 'raw onnxruntime', points: figures.map((f) => [f.rows, f.rawSeconds]) },
        ],
      }),
    );
    process.stdout.write(`wrote ${plot}\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench/batch failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
