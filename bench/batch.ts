// bench/batch: batch inference (feature view batch data as of the latest commits → transformations
// → ONNX in chunks → Parquet in S3 + Postgres rows) in rows/s, against raw onnxruntime-node scoring
// of the same model-input matrix in the same run.
// Usage: node dist/bench/batch.js [entities=100000] [spineRows=200000]   (needs infra/stack.sh up)
import os from 'node:os';
import { getBatchData } from '../core/featurestore';
import { loadSession, predictOnnx } from '../core/ml';
import { getModelVersion } from '../core/registry';
import { getDeployment, runBatchInference } from '../core/serving';
import { buildScenario } from './support/scenario';

const entities = Number(process.argv[2] ?? 100_000);
const spineRows = Number(process.argv[3] ?? 200_000);
const threads = os.cpus().length;

async function main(): Promise<void> {
  const scenario = await buildScenario(entities, spineRows, threads);
  const window = { start: new Date('2026-01-01T00:00:00Z'), end: new Date('2026-12-31T00:00:00Z') };
  const deployment = await getDeployment(scenario.database.db, scenario.deployment);
  const binding = deployment.current.bindings[0]!;
  // Warm the cache once so both sides read local Parquet.
  await runBatchInference(scenario.deps, { deployment: scenario.deployment, window, sinks: ['s3'], threads });
  const t0 = performance.now();
  const result = await runBatchInference(scenario.deps, { deployment: scenario.deployment, window, threads });
  const platformSeconds = (performance.now() - t0) / 1000;

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
  process.stdout.write(
    [
      `bench/batch: ${result.rows} rows, 2 feature groups × 10 features (${entities} entities), GBDT 100 trees depth 6, ${threads} threads`,
      `  batch inference (PIT batch data + transformations + ONNX + Parquet to S3 + Postgres rows): ${platformSeconds.toFixed(2)} s, ${Math.round(result.rows / platformSeconds).toLocaleString('en-US')} rows/s`,
      `  raw onnxruntime-node scoring of the same matrix: ${rawSeconds.toFixed(2)} s, ${Math.round(matrix.rows / rawSeconds).toLocaleString('en-US')} rows/s`,
      `  ratio platform/raw time: ${(platformSeconds / rawSeconds).toFixed(2)}x`,
    ].join('\n') + '\n',
  );
  await scenario.close();
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench/batch failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
