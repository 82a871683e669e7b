import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Worker } from '@temporalio/worker';
import { loadConfig } from '../../core/config';
import { openDatabase, type DatabaseHandle } from '../../core/db';
import { TASK_QUEUES } from '../../core/pipelines';
import { objectStoreFromConfig, type S3ObjectStore } from '../../core/storage';
import { runCli, runCliAsync } from '../support/cli';
import { uniqueName } from '../support/ids';
import { connectTestTemporal, createTestWorkers, type TemporalTestContext } from '../support/temporal';
import { createChurnView, testTrainingDeps } from '../support/training';

// `fti train` and `fti models` (compiled CLI) against a training worker on the test namespace.
describe('fti train / fti models (compiled CLI)', () => {
  let temporal: TemporalTestContext;
  let database: DatabaseHandle;
  let store: S3ObjectStore;
  let workers: Worker[];
  let running: Promise<void>[];
  const prefix = uniqueName('cli-train');
  const cli = (args: string[]) => runCli(args, { S3_PREFIX: prefix });
  const json = (args: string[]) => {
    const result = cli([...args, '--json']);
    if (result.code !== 0) throw new Error(`fti ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
    return JSON.parse(result.stdout) as Record<string, never> & never[];
  };
  const model = uniqueName('cli-model').replace(/-/g, '_');
  let spec: string;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-train-cli-'));

  beforeAll(async () => {
    temporal = await connectTestTemporal();
    database = await openDatabase({ url: loadConfig().databaseUrl });
    store = objectStoreFromConfig(loadConfig(), prefix);
    const deps = { ...testTrainingDeps(database, store), store };
    const { view } = await createChurnView(deps, { rows: 600 });
    workers = await createTestWorkers(temporal, [TASK_QUEUES.training], {
      db: database.db,
      store,
      training: deps,
    });
    running = workers.map((w) => w.run());
    spec = path.join(dir, 'pipeline.json');
    fs.writeFileSync(
      spec,
      JSON.stringify({
        name: 'cli-churn',
        model,
        featureView: { name: view },
        trainer: { name: 'gbdt', params: { numTrees: 20, maxDepth: 3 } },
        gates: { thresholds: { roc_auc: { min: 0.55 } } },
        alias: 'champion',
      }),
    );
  });
  afterAll(async () => {
    for (const w of workers) w.shutdown();
    await Promise.allSettled(running);
    await store.deletePrefix('');
    store.close();
    await database.close();
    await temporal.close();
  });

  it('runs a training pipeline, then inspects, aliases, compares, downloads and protects the model', async () => {
    // Async: the in-process worker must keep running while the command waits for the workflow.
    const run = await runCliAsync(['train', 'run', spec, '--json'], { S3_PREFIX: prefix });
    if (run.code !== 0) throw new Error(`fti train run failed: ${run.stderr}`);
    const result = JSON.parse(run.stdout) as { trainingRunId: number; url: string };
    expect(result).toMatchObject({
      model,
      version: 1,
      state: 'registered',
      alias: { name: 'champion', to: 1 },
    });
    expect(String(result.url)).toContain('/workflows/training-cli-churn-');
    const trainingRunId = result.trainingRunId;

    expect(json(['models', 'list']).find((m: { name: string }) => m.name === model)).toMatchObject({
      versions: 1,
      aliases: { champion: 1 },
    });
    const described = json(['models', 'describe', model, '--alias', 'champion']);
    expect(described).toMatchObject({ version: 1, lineage: { featureView: { version: 1 } } });
    expect(json(['models', 'alias', 'set', model, 'challenger', '1'])).toMatchObject({ from: null, to: 1 });
    expect(json(['models', 'alias', 'history', model]).map((h: { alias: string }) => h.alias)).toEqual([
      'champion',
      'challenger',
    ]);
    expect(json(['models', 'best', model, '--metric', 'roc_auc'])).toMatchObject({ version: 1 });
    const out = path.join(dir, 'model.onnx');
    expect(json(['models', 'download', model, '--alias', 'champion', '--out', out])).toMatchObject({
      version: 1,
    });
    expect(fs.statSync(out).size).toBeGreaterThan(1000);
    const refused = cli(['models', 'delete', model, '--version', '1']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('holds alias(es) challenger, champion; move them first');

    expect(json(['train', 'list', '--experiment', 'cli-churn'])[0]).toMatchObject({
      id: trainingRunId,
      trainer: 'gbdt',
      status: 'completed',
    });
    expect(json(['train', 'compare', String(trainingRunId)])[0]).toMatchObject({ params: { numTrees: 20 } });
    expect(Object.keys(json(['train', 'show', String(trainingRunId)]))).toEqual(
      expect.arrayContaining(['train_loss', 'roc_auc']),
    );
  });

  it('bad specs fail with one-line causes before anything starts; schedules can be created and deleted', () => {
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(
      bad,
      JSON.stringify({ name: 'Bad Name', model, featureView: { name: 'x' }, trainer: { name: 'gbdt' } }),
    );
    const result = cli(['train', 'run', bad]);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('training pipeline: name must be lowercase letters');
    expect(json(['train', 'schedule', 'create', spec, '--every', '7d', '--paused'])).toEqual({
      scheduleId: 'training-cli-churn',
    });
    expect(json(['train', 'schedule', 'delete', 'cli-churn'])).toEqual({ deleted: 'training-cli-churn' });
  });
});
