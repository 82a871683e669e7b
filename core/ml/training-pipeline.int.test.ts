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
      `const fs = require('fs'); const path = require('path');
       const { withDuck } = require(${JSON.stringify(path.join(dist, 'duckdb'))});
       const { logisticRegression } = require(${JSON.stringify(path.join(dist, 'ml'))});
       (async () => {
         const job = JSON.parse(fs.readFileSync(process.env.FTI_JOB_FILE, 'utf8'));
         if (process.argv[2] === 'fail') { console.error('boom: out of memory'); process.exit(3); }
         const rows = await withDuck((d) => d.all('SELECT * FROM read_parquet(' + "'" + job.files.train + "'" + ')'));
         const cols = job.featureNames.length;
         const X = Float64Array.from(rows.flatMap((r) => job.featureNames.map((f) => r[f])));
         const y = Float64Array.from(rows.map((r) => r.label));
         console.log('progress 1/2');
         const m = await logisticRegression.train({ task: job.task, numClasses: job.numClasses, featureNames: job.featureNames, train: { X, rows: rows.length, cols, y } }, logisticRegression.paramsSchema.parse({ maxIterations: 50 }), { seed: job.seed });
         const bytes = process.argv[2] === 'garbage' ? Buffer.from('not onnx') : Buffer.from(m.onnx);
         fs.writeFileSync(path.join(job.outputDir, 'model.onnx'), bytes);
         fs.writeFileSync(path.join(job.outputDir, 'metrics.json'), JSON.stringify({ train_rows: rows.length }));
         console.log('progress 2/2');
       })().catch((e) => { console.error(e); process.exit(1); });`,
    );
    const model = uniqueName('ext').replace(/-/g, '_');
    const spec = (mode: string) => ({
      name: 'churn-external',
      model,
      featureView: { name: view },
      trainingDataset: { version: 1 },
      trainer: { external: { command: [process.execPath, script, mode], timeoutSeconds: 120 } },
    });
    const result = await runTrainingPipeline(deps, spec('ok'), uniqueName('r'));
    expect(result.registration).toMatchObject({ state: 'registered', version: 1 });
    expect(result.candidate.trainerMetrics.train_rows).toBeGreaterThan(100);
    await expect(runTrainingPipeline(deps, spec('fail'), uniqueName('r'))).rejects.toThrow(
      /exited with code 3. Last output:\nboom: out of memory/,
    );
    await expect(runTrainingPipeline(deps, spec('garbage'), uniqueName('r'))).rejects.toThrow(
      /does not load in onnxruntime/,
    );
    expect(await listModelVersions(database.db, model)).toHaveLength(1);
  });
});
