import { modelVersionReference, trainingDatasetReference } from '../monitoring/references';
import type { CategoricalProfile } from '../monitoring/profile';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../config';
import { eq } from 'drizzle-orm';
import { openDatabase, tables, type DatabaseHandle } from '../db';
import type { S3ObjectStore } from '../storage';
import { testObjectStore } from '../../test/support/stores';
import { createChurnView, testTrainingDeps, type TrainingTestDeps } from '../../test/support/training';
import {
  aliasHistory,
  getBestModel,
  getModelVersion,
  listModelVersions,
  compareTrainingRuns,
  deleteModelVersion,
} from '../registry';
import { uniqueName } from '../../test/support/ids';
import { getTrainingDataset, readTrainingData, toMatrix, type FittedTransformations } from '../featurestore';
import { evaluate } from './metrics';
import { loadSession, predictOnnx } from './onnx/runtime';
import { DevicePool } from './device-pool';
import { TrainerRegistry } from './trainers/registry';
import { runTrainingPipeline } from './training-pipeline';
import { projectRoot } from '../project-root';

describe('training pipeline steps (real S3 + Postgres, no Temporal)', () => {
  let database: DatabaseHandle;
  let store: S3ObjectStore;
  let deps: TrainingTestDeps;
  let view: string;

  beforeAll(async () => {
    database = await openDatabase({ url: loadConfig().databaseUrl });
    store = testObjectStore();
    deps = testTrainingDeps(database, store);
    view = (await createChurnView(deps)).view;
  });
  afterAll(async () => {
    await store.deletePrefix('');
    store.close();
    await database.close();
  });

  it('trains a GBDT, evaluates it on the test split, registers it with lineage and moves the alias', async () => {
    const model = uniqueName('churn').replace(/-/g, '_');
    const key = uniqueName('run');
    const result = await runTrainingPipeline(
      deps,
      {
        name: 'churn-gbdt',
        model,
        featureView: { name: view },
        trainer: { name: 'gbdt', params: { numTrees: 40, maxDepth: 4 } },
        sliceColumns: ['segment'],
        gates: {
          thresholds: { roc_auc: { min: 0.7 } },
          slices: { column: 'segment', metric: 'accuracy', maxGap: 0.5 },
        },
        alias: 'champion',
      },
      key,
    );
    expect(result.candidate.task).toBe('binary');
    expect(result.candidate.classes).toEqual(['false', 'true']);
    expect(result.candidate.onnxCheck).toBeLessThan(1e-5);
    expect(result.evaluation.split).toBe('test');
    expect(result.evaluation.metrics.roc_auc).toBeGreaterThan(0.7);
    expect(result.evaluation.slices[0]!.slices).toHaveProperty('smb');
    expect(result.registration).toMatchObject({
      model,
      version: 1,
      state: 'registered',
      alias: { name: 'champion', from: null, to: 1 },
    });

    const stored = await getModelVersion(database.db, model, 'champion');
    expect(stored.signature.inputs[0]!.featureNames).toEqual([
      'sessions',
      'plan=free',
      'plan=pro',
      'tenure_days',
    ]);
    expect(stored.lineage.featureView).toMatchObject({ name: view, version: 1 });
    expect(Object.keys(stored.lineage.trainingDataset!.featureGroupCommits)).toHaveLength(2);
    expect(stored.lineage.codeVersion).toBe('test');
    expect(stored.metrics.roc_auc).toBeCloseTo(result.evaluation.metrics.roc_auc!, 12);
    expect((stored.inputExample as { rows: unknown[] }).rows).toHaveLength(3);

    // Monitoring references: the train split's features (raw and one-hot model inputs) and the
    // model's predictions on the test split, stored once for every monitor to reuse.
    const datasetReference = await trainingDatasetReference(database.db, stored.lineage.trainingDataset!.id);
    const trainRows = result.dataset.rows.train!;
    expect(datasetReference!.features.rows).toBe(trainRows);
    expect(datasetReference!.features.columns.sessions).toMatchObject({ kind: 'numeric', count: trainRows });
    expect(datasetReference!.features.columns.plan).toMatchObject({ kind: 'categorical' });
    const plans = (datasetReference!.features.columns.plan as CategoricalProfile).frequencies;
    expect(Object.values(plans).reduce((a, b) => a + b, 0)).toBe(trainRows);
    expect(datasetReference!.modelInputs.columns['plan=pro']).toMatchObject({
      kind: 'numeric',
      min: 0,
      max: 1,
    });
    const modelReference = await modelVersionReference(database.db, stored.id);
    expect(modelReference).toMatchObject({ split: 'test', rows: result.evaluation.rows });
    expect(Object.keys(modelReference!.predictions.columns).sort()).toEqual([
      'label',
      'probability:false',
      'probability:true',
    ]);
    expect(modelReference!.predictions.columns['probability:true']).toMatchObject({
      count: result.evaluation.rows,
    });

    // Retrying the same run key registers nothing new.
    const retry = await runTrainingPipeline(
      deps,
      {
        name: 'churn-gbdt',
        model,
        featureView: { name: view },
        trainer: { name: 'gbdt', params: { numTrees: 40, maxDepth: 4 } },
        alias: 'champion',
      },
      key,
    );
    expect(retry.registration.version).toBe(1);
    expect(await listModelVersions(database.db, model)).toHaveLength(1);

    // A logistic challenger on the same view: compared with the champion on the same split.
    const second = await runTrainingPipeline(
      deps,
      {
        name: 'churn-logreg',
        model,
        featureView: { name: view },
        trainingDataset: { version: result.dataset.version },
        trainer: { name: 'logistic_regression', params: { maxIterations: 200 } },
        gates: { champion: { metric: 'roc_auc', maxDegradation: 1 } },
        alias: 'challenger',
      },
      uniqueName('run'),
    );
    expect(second.evaluation.champion).toMatchObject({ alias: 'champion', version: 1 });
    expect(second.registration).toMatchObject({
      version: 2,
      state: 'registered',
      alias: { name: 'challenger', to: 2 },
    });
    expect((await aliasHistory(database.db, model)).map((h) => [h.alias, h.from, h.to])).toEqual([
      ['champion', null, 1],
      ['challenger', null, 2],
    ]);
    const best = await getBestModel(database.db, model, 'roc_auc', 'max');
    expect([1, 2]).toContain(best.version);
    const runs = await compareTrainingRuns(database.db, [
      result.candidate.trainingRunId,
      second.candidate.trainingRunId,
    ]);
    expect(runs.map((r) => r.trainer)).toEqual(['gbdt', 'logistic_regression']);
    expect(runs[0]!.metrics.roc_auc).toBeDefined();
    await expect(deleteModelVersion(deps, model, 1)).rejects.toThrow(
      /holds alias\(es\) champion; move them first/,
    );

    // A deployment binding protects a version too (deployments arrive with the inference service).
    const v2 = await getModelVersion(database.db, model, 2);
    const [deployment] = await database.db
      .insert(tables.deployments)
      .values({ name: uniqueName('dep') })
      .returning();
    const [dv] = await database.db
      .insert(tables.deploymentVersions)
      .values({ deploymentId: deployment!.id, version: 1, action: 'create' })
      .returning();
    await database.db.insert(tables.deploymentBindings).values({
      deploymentVersionId: dv!.id,
      variant: 'main',
      modelVersionId: v2.id,
      featureViewId: v2.lineage.featureView!.id,
      trainingDatasetId: v2.lineage.trainingDataset!.id,
      weight: 100,
    });
    await database.db.delete(tables.modelAliases).where(eq(tables.modelAliases.modelVersionId, v2.id));
    await expect(deleteModelVersion(deps, model, 2)).rejects.toThrow(
      `bound by deployment(s) ${deployment!.name}`,
    );
  });

  it('compares with the champion like for like: its own fitted scaler, only held-out rows it never trained on, recorded on the version', async () => {
    const model = uniqueName('churn_cmp').replace(/-/g, '_');
    const ref = { name: view, version: 1 };
    const base = Date.UTC(2026, 0, 1);
    const minutes = (n: number) => new Date(base + n * 60_000 + 3_600_000);
    // The champion learns from the first 700 customers only: its tenure scaler differs from one
    // fitted on all 1,200, and a logistic model is sensitive to it.
    const champion = await runTrainingPipeline(
      deps,
      {
        name: 'churn-cmp-champion',
        model,
        featureView: ref,
        trainingDataset: {
          create: {
            start: minutes(0).toISOString(),
            end: minutes(700).toISOString(),
            splits: { kind: 'random', fractions: { train: 0.6, validation: 0.1, test: 0.3 }, seed: 3 },
          },
        },
        trainer: { name: 'logistic_regression', params: { maxIterations: 200 } },
        alias: 'champion',
      },
      uniqueName('run'),
    );
    const candidateSpec = (seed: number) => ({
      name: `churn-cmp-seed-${seed}`,
      model,
      featureView: ref,
      trainingDataset: {
        create: { splits: { kind: 'random' as const, fractions: { train: 0.7, test: 0.3 }, seed } },
      },
      trainer: { name: 'logistic_regression', params: { maxIterations: 200 } },
      gates: { champion: { metric: 'roc_auc', maxDegradation: 1 } },
    });

    // Another seed: some of the candidate's test rows were the champion's train or validation rows.
    const other = await runTrainingPipeline(deps, candidateSpec(4), uniqueName('run'));
    const c = other.evaluation.champion!;
    expect(c).toMatchObject({
      alias: 'champion',
      version: champion.registration.version,
      trainingDataset: { featureView: view, viewVersion: 1, version: champion.dataset.version },
      overlap: 'excluded',
    });
    const ids = async (version: number, split: 'train' | 'validation' | 'test') =>
      (await readTrainingData(deps, ref, version, { split, transformed: false })).rows.map((r) =>
        Number(r.customer_id),
      );
    const seenByChampion = new Set([
      ...(await ids(champion.dataset.version, 'train')),
      ...(await ids(champion.dataset.version, 'validation')),
    ]);
    const heldOut = await ids(other.dataset.version, 'test');
    const unseen = heldOut.filter((id) => !seenByChampion.has(id));
    expect(c.excludedRows).toBe(heldOut.length - unseen.length);
    expect(c.excludedRows).toBeGreaterThan(20);
    expect(c.rows).toBe(unseen.length);

    // The champion scored with its own dataset's transformation (not the candidate's) on those rows.
    const { rows } = await readTrainingData(deps, ref, other.dataset.version, {
      split: 'test',
      transformed: false,
    });
    const kept = rows.filter((r) => !seenByChampion.has(Number(r.customer_id)));
    const y = Float64Array.from(kept, (r) => (r.churned ? 1 : 0));
    const scoreWith = async (transformation: FittedTransformations) => {
      const m = toMatrix(transformation, kept, [], []);
      const session = await loadSession(new Uint8Array(await store.get(champion.candidate.artifactKey)), {
        threads: 1,
      });
      try {
        const predictions = await predictOnnx(session, m.X, m.rows, m.cols);
        return { metrics: evaluate('binary', y, predictions).metrics, p: predictions.probabilities! };
      } finally {
        await session.release();
      }
    };
    const own = (await getTrainingDataset(deps, ref, champion.dataset.version)).dataset.transformation;
    const candidates = (await getTrainingDataset(deps, ref, other.dataset.version)).dataset.transformation;
    const [right, wrong] = [await scoreWith(own), await scoreWith(candidates)];
    expect(c.metrics.log_loss).toBeCloseTo(right.metrics.log_loss!, 12);
    expect(c.metrics.roc_auc).toBeCloseTo(right.metrics.roc_auc!, 12);
    // …and the candidate's scaler would have moved its scores: the test can tell the two apart.
    expect(Math.abs(c.metrics.log_loss! - wrong.metrics.log_loss!)).toBeGreaterThan(1e-6);
    expect(Math.max(...right.p.map((v, i) => Math.abs(v - wrong.p[i]!)))).toBeGreaterThan(1e-5);
    // The gate compares both on those same rows, and the version records what was compared.
    expect(other.evaluation.gates.results[0]!.detail).toContain(`on the same ${c.rows} rows`);
    const stored = await getModelVersion(database.db, model, other.registration.version);
    expect(stored.tags.compared_with).toContain(`champion v${champion.registration.version}`);
    expect(stored.tags.comparison_rows).toBe(
      `${c.rows} held-out rows; ${c.excludedRows} left out because champion trained or validated on them`,
    );

    // The champion's seed: splits follow the record key, so none of the held-out rows were its.
    const same = await runTrainingPipeline(deps, candidateSpec(3), uniqueName('run'));
    expect(same.evaluation.champion).toMatchObject({ excludedRows: 0, overlap: 'excluded' });
    expect(same.evaluation.champion!.rows).toBe(same.dataset.rows.test);
  });

  it('a failed gate registers the version as rejected and moves no alias', async () => {
    const model = uniqueName('gated').replace(/-/g, '_');
    const result = await runTrainingPipeline(
      deps,
      {
        name: 'churn-gated',
        model,
        featureView: { name: view },
        trainer: { name: 'gbdt', params: { numTrees: 5 } },
        gates: { thresholds: { roc_auc: { min: 0.999 } } },
        alias: 'champion',
      },
      uniqueName('run'),
    );
    expect(result.registration).toMatchObject({ state: 'rejected', alias: null });
    expect(result.evaluation.gates.results[0]).toMatchObject({ gate: 'threshold roc_auc', passed: false });
    const stored = await getModelVersion(database.db, model, 1);
    expect(stored.tags.rejected).toBe('threshold roc_auc');
    await expect(getModelVersion(database.db, model, 'champion')).rejects.toThrow(/alias champion of model/);
  });

  it('rejects bad input before registering anything', async () => {
    const model = uniqueName('bad').replace(/-/g, '_');
    const spec = { name: 'bad', model, featureView: { name: view }, trainingDataset: { version: 1 } };
    await expect(
      runTrainingPipeline(deps, { ...spec, trainer: { name: 'xgboost' } }, uniqueName('r')),
    ).rejects.toThrow(
      /unknown trainer "xgboost"; known trainers: gbdt, logistic_regression, linear_regression, mlp/,
    );
    await expect(
      runTrainingPipeline(
        deps,
        { ...spec, trainer: { name: 'gbdt', params: { depth: 3 } } },
        uniqueName('r'),
      ),
    ).rejects.toThrow(/trainer gbdt: invalid hyperparameters/);
    await expect(
      runTrainingPipeline(deps, { ...spec, trainer: { name: 'linear_regression' } }, uniqueName('r')),
    ).rejects.toThrow(/linear_regression cannot do binary/);
    const constant = await createChurnView(deps, { rows: 100, constantLabel: true });
    await expect(
      runTrainingPipeline(
        deps,
        { name: 'bad', model, featureView: { name: constant.view }, trainer: { name: 'gbdt' } },
        uniqueName('r'),
      ),
    ).rejects.toThrow(/single class|label is constant/);
    const count = await database.db.select().from(tables.models);
    expect(count.some((m) => m.name === model)).toBe(false);
  });

  it('runs an external trainer through the file contract and validates what it writes', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-ext-'));
    // A "foreign" trainer: a separate Node process that reads job.json + Parquet and writes model.onnx.
    const script = path.join(dir, 'train.js');
    const dist = path.join(projectRoot(), 'dist', 'core');
    fs.writeFileSync(
      script,
      `// What of the worker's environment reached this process (read before any module sets its own).
       const leaked = Object.keys(process.env).filter((k) => /^(DATABASE_URL|S3_|AWS_|TEMPORAL_|NATS_URL|FTI_(?!JOB_FILE))/.test(k));
       const fs = require('fs'); const path = require('path');
       const { withDuck } = require(${JSON.stringify(path.join(dist, 'duckdb'))});
       const { logisticRegression } = require(${JSON.stringify(path.join(dist, 'ml'))});
       (async () => {
         const job = JSON.parse(fs.readFileSync(process.env.FTI_JOB_FILE, 'utf8'));
         const mode = job.params.mode;
         if (mode === 'fail') { console.error('boom: out of memory'); process.exit(3); }

         const rows = await withDuck((d) => d.all('SELECT * FROM read_parquet(' + "'" + job.files.train + "'" + ')'));
         const cols = job.featureNames.length;
         const X = Float64Array.from(rows.flatMap((r) => job.featureNames.map((f) => r[f])));
         const y = Float64Array.from(rows.map((r) => r.label));
         console.log('progress 1/2');
         const m = await logisticRegression.train({ task: job.task, numClasses: job.numClasses, featureNames: job.featureNames, train: { X, rows: rows.length, cols, y } }, logisticRegression.paramsSchema.parse({ maxIterations: 50 }), { seed: job.seed });
         const bytes = mode === 'garbage' ? Buffer.from('not onnx') : Buffer.from(m.onnx);
         fs.writeFileSync(path.join(job.outputDir, 'model.onnx'), bytes);
         fs.writeFileSync(path.join(job.outputDir, 'metrics.json'), JSON.stringify({ train_rows: rows.length, leaked_env: leaked.length, home_is_job_dir: process.env.HOME === path.dirname(process.env.FTI_JOB_FILE) ? 1 : 0 }));
         console.log('progress 2/2');
       })().catch((e) => { console.error(e); process.exit(1); });`,
    );
    // Registered on the worker; the workflow input names it. The worker holds credentials the child must not see.
    deps.trainers.registerExternal('churn-node', {
      command: [process.execPath, script, '{job}'],
      timeoutSeconds: 120,
      passEnv: ['DATABASE_URL'],
    });
    process.env.S3_SECRET_ACCESS_KEY ??= 'worker-secret';
    const model = uniqueName('ext').replace(/-/g, '_');
    const spec = (mode: string) => ({
      name: 'churn-external',
      model,
      featureView: { name: view },
      trainingDataset: { version: 1 },
      trainer: { external: { name: 'churn-node', params: { mode } } },
    });
    const result = await runTrainingPipeline(deps, spec('ok'), uniqueName('r'));
    expect(result.registration).toMatchObject({ state: 'registered', version: 1 });
    expect(result.candidate.trainer).toBe('external:churn-node');
    expect(result.candidate.trainerMetrics.train_rows).toBeGreaterThan(100);
    // Neither DATABASE_URL (even when a registration asks for it) nor S3/Temporal settings reached it.
    expect(result.candidate.trainerMetrics.leaked_env).toBe(0);
    expect(result.candidate.trainerMetrics.home_is_job_dir).toBe(1);
    // A command in the workflow input is refused before anything runs; unknown names list the registered.
    await expect(
      runTrainingPipeline(
        deps,
        { ...spec('ok'), trainer: { external: { command: ['sh', '-c', 'id'] } } } as never,
        uniqueName('r'),
      ),
    ).rejects.toThrow(/trainer.external may not carry a command or environment/);
    await expect(
      runTrainingPipeline(deps, { ...spec('ok'), trainer: { external: { name: 'nope' } } }, uniqueName('r')),
    ).rejects.toThrow('external trainer "nope" is not registered on this worker (registered: churn-node)');
    await expect(runTrainingPipeline(deps, spec('fail'), uniqueName('r'))).rejects.toThrow(
      /exited with code 3. Last output:\nboom: out of memory/,
    );
    await expect(runTrainingPipeline(deps, spec('garbage'), uniqueName('r'))).rejects.toThrow(
      /does not load in onnxruntime/,
    );
    expect(await listModelVersions(database.db, model)).toHaveLength(1);
  });

  it('pins each job of a GPU worker to one device of its pool (simulated devices 5 and 7): the trainer sees only it, and no two jobs share one', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-gpu-'));
    const script = path.join(dir, 'train.js');
    const dist = path.join(projectRoot(), 'dist', 'core');
    fs.writeFileSync(
      script,
      `const fs = require('fs'); const path = require('path');
       const started = Date.now();
       const { withDuck } = require(${JSON.stringify(path.join(dist, 'duckdb'))});
       const { logisticRegression } = require(${JSON.stringify(path.join(dist, 'ml'))});
       (async () => {
         const job = JSON.parse(fs.readFileSync(process.env.FTI_JOB_FILE, 'utf8'));
         const rows = await withDuck((d) => d.all('SELECT * FROM read_parquet(' + "'" + job.files.train + "'" + ')'));
         const cols = job.featureNames.length;
         const X = Float64Array.from(rows.flatMap((r) => job.featureNames.map((f) => r[f])));
         const y = Float64Array.from(rows.map((r) => r.label));
         const m = await logisticRegression.train({ task: job.task, numClasses: job.numClasses, featureNames: job.featureNames, train: { X, rows: rows.length, cols, y } }, logisticRegression.paramsSchema.parse({ maxIterations: 20 }), { seed: job.seed });
         await new Promise((r) => setTimeout(r, 400));
         fs.writeFileSync(path.join(job.outputDir, 'model.onnx'), Buffer.from(m.onnx));
         fs.writeFileSync(path.join(job.outputDir, 'metrics.json'), JSON.stringify({ visible_device: Number(process.env.CUDA_VISIBLE_DEVICES), started_ms: started, ended_ms: Date.now() }));
       })().catch((e) => { console.error(e); process.exit(1); });`,
    );
    const trainers = new TrainerRegistry().registerExternal('gpu-node', {
      command: [process.execPath, script, '{job}'],
      timeoutSeconds: 120,
    });
    const pool = new DevicePool(['5', '7']);
    const gpuDeps = { ...deps, trainers, devices: pool };
    const model = uniqueName('gpu').replace(/-/g, '_');
    const runs = await Promise.all(
      [0, 1, 2, 3].map((i) =>
        runTrainingPipeline(
          gpuDeps,
          {
            name: `gpu-${i}`,
            model,
            featureView: { name: view },
            trainingDataset: { version: 1 },
            trainer: { external: { name: 'gpu-node' } },
          },
          uniqueName('r'),
        ),
      ),
    );
    expect(pool.available).toBe(2);
    for (const r of runs) {
      expect(['5', '7']).toContain(r.candidate.device);
      // The child saw exactly the device the job held, and the version records it.
      expect(String(r.candidate.trainerMetrics.visible_device)).toBe(r.candidate.device);
      expect((await getModelVersion(database.db, model, r.registration.version)).tags.device).toBe(
        r.candidate.device,
      );
    }
    // Jobs on one device never overlapped in time.
    for (const device of ['5', '7']) {
      const spans = runs
        .filter((r) => r.candidate.device === device)
        .map((r) => [r.candidate.trainerMetrics.started_ms!, r.candidate.trainerMetrics.ended_ms!] as const)
        .sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1]);
    }
    expect(new Set(runs.map((r) => r.candidate.device))).toEqual(new Set(['5', '7']));
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
