import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { eq } from 'drizzle-orm';
import { loadConfig } from '../config';
import { openDatabase, tables, type DatabaseHandle } from '../db';
import { createTrainingData, readTrainingData, readTrainingMatrix } from '../featurestore';
import { getModelVersion, listModelVersions } from '../registry';
import { createApiKey } from '../serving/api-keys';
import { runBatchInference } from '../serving/batch';
import { createDeployment, getDeployment } from '../serving/deployments';
import { createInferenceServer, type InferenceServer } from '../serving/server';
import { objectStoreFromConfig, type S3ObjectStore } from '../storage';
import { runCli } from '../../test/support/cli';
import { uniqueName } from '../../test/support/ids';
import { projectPython } from '../../test/support/python';
import { createChurnView, testTrainingDeps, type TrainingTestDeps } from '../../test/support/training';
import { importModel } from './model-import';
import { loadSession, predictOnnx } from './onnx/runtime';

const run = promisify(execFile);
const COMPARED = 1000;

// Models trained in Python on a platform training dataset, imported, then served and batch-scored:
// the platform must reproduce Python's predict_proba.
describe('model import: Python-trained scikit-learn and XGBoost models as platform model versions', () => {
  let database: DatabaseHandle;
  let store: S3ObjectStore;
  let deps: TrainingTestDeps;
  let view: string;
  let datasetVersion: number;
  let dir: string;
  let prefix: string;
  let versions: Record<string, string>;
  /** Python's predict_proba on the first test rows, per model. */
  const proba: Record<string, number[][]> = {};
  let testCustomers: number[];
  let testX: Float64Array;
  let cols: number;
  const model = (suffix: string) => uniqueName(`imp-${suffix}`).replace(/-/g, '_');

  beforeAll(async () => {
    database = await openDatabase({ url: loadConfig().databaseUrl });
    prefix = uniqueName('t');
    store = objectStoreFromConfig(loadConfig(), prefix);
    deps = testTrainingDeps(database, store);
    view = (await createChurnView(deps, { rows: 3600, seed: 7 })).view;
    const dataset = await createTrainingData(deps, {
      featureView: { name: view },
      splits: { kind: 'random', fractions: { train: 0.7, test: 0.3 }, seed: 3 },
      idempotencyKey: uniqueName('td'),
    });
    datasetVersion = dataset.version;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-import-'));
    // The model-ready matrices (the view's transformations applied) a Python trainer reads.
    for (const split of ['train', 'test'] as const) {
      const { matrix } = await readTrainingMatrix(deps, { name: view }, datasetVersion, split);
      const rows = Array.from({ length: matrix.rows }, (_, r) =>
        Array.from(matrix.X.subarray(r * matrix.cols, (r + 1) * matrix.cols)),
      );
      const y = (matrix.labels.churned as boolean[]).map((v) => (v ? 1 : 0));
      fs.writeFileSync(
        path.join(dir, `${split}.json`),
        JSON.stringify({ featureNames: matrix.featureNames, X: rows, y }),
      );
      if (split === 'test') {
        expect(matrix.rows).toBeGreaterThanOrEqual(COMPARED);
        testX = matrix.X.slice(0, COMPARED * matrix.cols);
        cols = matrix.cols;
      }
    }
    const { rows: raw } = await readTrainingData(deps, { name: view }, datasetVersion, {
      split: 'test',
      transformed: false,
    });
    testCustomers = raw.slice(0, COMPARED).map((r) => Number(r.customer_id));
    const python = projectPython(['sklearn', 'skl2onnx', 'onnxmltools', 'xgboost']);
    await run(python, [path.resolve(__dirname, '../../test/support/python-models.py'), dir], {
      timeout: 180_000,
    });
    for (const name of ['logreg', 'gbm', 'xgboost'])
      proba[name] = (
        JSON.parse(fs.readFileSync(path.join(dir, `${name}.proba.json`), 'utf8')) as number[][]
      ).slice(0, COMPARED);
    versions = JSON.parse(fs.readFileSync(path.join(dir, 'versions.json'), 'utf8')) as Record<string, string>;
  });
  afterAll(async () => {
    fs.rmSync(dir, { recursive: true, force: true });
    await store.deletePrefix('');
    store.close();
    await database.close();
  });

  const maxDiff = (p: Float64Array, expected: number[][]) => {
    let max = 0;
    expected.forEach((row, r) =>
      row.forEach((v, c) => (max = Math.max(max, Math.abs(p[r * row.length + c]! - v)))),
    );
    return max;
  };

  it('imports a ZipMap logistic regression through `fti models import` with test-split metrics, provenance and the original file', async () => {
    const name = model('logreg');
    const file = path.join(dir, 'logreg.onnx');
    const importLogreg = () =>
      runCli(
        [
          ...['models', 'import', file, '--model', name, '--feature-view', view],
          ...['--training-dataset', String(datasetVersion), '--framework-version', versions['scikit-learn']!],
          ...['--alias', 'champion', '--json'],
        ],
        { S3_PREFIX: prefix },
      );
    const result = importLogreg();
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const out = JSON.parse(result.stdout) as {
      registration: { version: number; state: string; alias: { to: number } };
    };
    expect(out.registration).toMatchObject({
      version: 1,
      state: 'registered',
      alias: { name: 'champion', to: 1 },
    });

    const v = await getModelVersion(database.db, name, 'champion');
    expect(v.trainer).toBe('import:skl2onnx');
    expect(v.signature.inputs[0]).toMatchObject({
      name: 'features',
      featureNames: expect.arrayContaining(['sessions']),
    });
    expect(v.metrics.roc_auc).toBeGreaterThan(0.7);
    expect(v.tags).toMatchObject({ imported: 'skl2onnx', split: 'test' });
    expect(v.lineage.featureView?.name).toBe(view);
    expect(v.lineage.trainingDataset?.version).toBe(datasetVersion);
    expect(v.lineage.provenance).toMatchObject({
      framework: 'scikit-learn',
      frameworkVersion: versions['scikit-learn'],
      converter: 'skl2onnx',
      converterVersion: versions.skl2onnx,
      sha256: createHash('sha256').update(fs.readFileSync(file)).digest('hex'),
      originalInputs: ['X'],
      originalOutputs: ['output_label', 'output_probability'],
      droppedNodes: ['ZipMap output_probability'],
    });
    const original = await store.get(v.artifactKey.replace(/model\.onnx$/, 'original.onnx'));
    expect(Buffer.compare(original, fs.readFileSync(file))).toBe(0);

    const session = await loadSession(new Uint8Array(await store.get(v.artifactKey)));
    const p = await predictOnnx(session, testX, COMPARED, cols);
    await session.release();
    expect(maxDiff(p.probabilities!, proba.logreg!)).toBeLessThan(1e-5);

    // A newer version takes the alias; then the same file and request again: the same version,
    // nothing new, and the alias stays where it moved.
    await importModel(
      deps,
      { model: name, featureView: { name: view }, trainingDataset: datasetVersion, alias: 'champion' },
      new Uint8Array(fs.readFileSync(path.join(dir, 'gbm.onnx'))),
    );
    const again = importLogreg();
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({
      reused: true,
      registration: { version: 1, alias: null },
    });
    expect(await listModelVersions(database.db, name)).toHaveLength(2);
    expect((await getModelVersion(database.db, name, 'champion')).version).toBe(2);
  });

  it("serves and batch-scores imported gradient boosting and XGBoost models with Python's predict_proba within 1e-5 on 1,000 rows", async () => {
    const server: InferenceServer = await createInferenceServer({ ...deps, pool: database.pool });
    await server.app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(server.app.server.address() as { port: number }).port}`;
    const key = (await createApiKey(database.db, 'import-tests')).key;
    try {
      for (const [file, converter] of [
        ['gbm', 'skl2onnx'],
        ['xgboost', 'onnxmltools'],
      ] as const) {
        const name = model(file);
        const { registration, provenance } = await importModel(
          deps,
          { model: name, featureView: { name: view }, trainingDataset: datasetVersion, alias: 'champion' },
          new Uint8Array(fs.readFileSync(path.join(dir, `${file}.onnx`))),
          `${file}.onnx`,
        );
        expect(registration.state).toBe('registered');
        expect(provenance.converter).toBe(converter);
        const deployment = uniqueName(`imp-${file}`);
        await createDeployment(database.db, {
          name: deployment,
          variants: [{ variant: 'main', model: name, version: 'champion', weight: 100 }],
          createdBy: 'test',
        });

        // Online: /predict looks the customers' features up in the online store and applies the
        // view's transformations, then the imported model answers.
        const online = new Float64Array(COMPARED * 2);
        for (let start = 0; start < COMPARED; start += 250) {
          const ids = testCustomers.slice(start, start + 250);
          const response = await fetch(`${base}/v1/deployments/${deployment}/predict`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
            body: JSON.stringify({ instances: ids.map((id) => ({ keys: { customer_id: id } })) }),
          });
          const body = (await response.json()) as {
            predictions: {
              model: { name: string; version: number };
              probabilities: Record<string, number>;
            }[];
          };
          expect(response.status).toBe(200);
          body.predictions.forEach((prediction, i) => {
            expect(prediction.model).toEqual({ name, version: 1 });
            online[(start + i) * 2] = prediction.probabilities.false!;
            online[(start + i) * 2 + 1] = prediction.probabilities.true!;
          });
        }
        expect(maxDiff(online, proba[file]!)).toBeLessThan(1e-5);

        // Batch: every spine row of the window, stored with the positive-class score.
        const batch = await runBatchInference(deps, {
          deployment,
          window: { start: new Date(Date.UTC(2025, 11, 1)), end: new Date(Date.UTC(2026, 1, 1)) },
        });
        const stored = await database.db
          .select({ entity: tables.predictions.entity, score: tables.predictions.score })
          .from(tables.predictions)
          .where(eq(tables.predictions.deploymentId, (await getDeployment(database.db, deployment)).id));
        const score = new Map(
          stored.map((s) => [(s.entity as { customer_id: number }).customer_id, s.score]),
        );
        let max = 0;
        testCustomers.forEach(
          (id, i) => (max = Math.max(max, Math.abs(score.get(id)! - proba[file]![i]![1]!))),
        );
        expect(stored).toHaveLength(3600);
        expect(max).toBeLessThan(1e-5);

        // The same predictions as a pandas user reads the Parquet file: zone-aware times, typed columns.
        const parquet = path.join(dir, `${file}.predictions.parquet`);
        await store.download(batch.outputs.find((o) => o.sink === 's3')!.location, parquet);
        const expected = path.join(dir, `${file}.expected.json`);
        fs.writeFileSync(
          expected,
          JSON.stringify({ customers: testCustomers, p1: proba[file]!.map((p) => p[1]) }),
        );
        const python = projectPython(['pandas', 'pyarrow']);
        const { stdout } = await run(python, [
          path.resolve(__dirname, '../../test/support/read-predictions.py'),
          parquet,
          expected,
        ]);
        expect(JSON.parse(stdout)).toMatchObject({
          rows: 3600,
          event_time_arrow: 'timestamp[us, tz=UTC]',
          event_time_pandas: 'datetime64[us, UTC]',
          model_version_pandas: 'Int32',
          score_pandas: 'Float64',
        });
        expect((JSON.parse(stdout) as { max_diff: number }).max_diff).toBeLessThan(1e-5);
      }
    } finally {
      await server.close();
    }
  });

  it('refuses a model that does not fit the view, a bad input mapping and a file that is not ONNX, registering nothing', async () => {
    const name = model('bad');
    const xgb = new Uint8Array(fs.readFileSync(path.join(dir, 'xgboost.onnx')));
    const request = { model: name, featureView: { name: view }, trainingDataset: datasetVersion };
    await expect(
      importModel(deps, { ...request, inputs: { float_input: ['sessions', 'nope'] } }, xgb),
    ).rejects.toThrow(/unknown feature\(s\) nope; the view's model features are/);
    await expect(
      importModel(deps, { ...request, inputs: { float_input: ['sessions'] } }, xgb),
    ).rejects.toThrow(/takes \d+ column\(s\) but is mapped to 1 feature/);
    await expect(importModel(deps, { ...request, output: 'label' }, xgb)).rejects.toThrow(
      /output label is int64\[.*\]: class labels, not per-class probabilities/,
    );
    await expect(importModel(deps, request, new Uint8Array([0x08, 0x07, 0x12]))).rejects.toThrow(
      /not a valid protobuf message|not an ONNX model/,
    );
    const cli = runCli(
      [
        'models',
        'import',
        path.join(dir, 'train.json'),
        '--model',
        name,
        '--feature-view',
        view,
        '--training-dataset',
        String(datasetVersion),
      ],
      { S3_PREFIX: prefix },
    );
    expect(cli.code).not.toBe(0);
    expect(cli.stderr).toMatch(/ONNX/);
    await expect(getModelVersion(database.db, name)).rejects.toThrow(/does not exist/);
  });

  it('gates an imported model like a trained one: a failed threshold registers it rejected and moves no alias', async () => {
    const name = model('gated');
    const { registration, evaluation } = await importModel(
      deps,
      {
        model: name,
        featureView: { name: view },
        trainingDataset: datasetVersion,
        alias: 'champion',
        gates: { thresholds: { roc_auc: { min: 0.999 } } },
      },
      new Uint8Array(fs.readFileSync(path.join(dir, 'gbm.onnx'))),
    );
    expect(evaluation!.gates.passed).toBe(false);
    expect(registration).toMatchObject({ state: 'rejected', alias: null });
    await expect(getModelVersion(database.db, name, 'champion')).rejects.toThrow(/alias champion/);
  });
});
