import type { Worker } from '@temporalio/worker';
import { loadConfig } from '../../core/config';
import { openDatabase, type DatabaseHandle } from '../../core/db';
import { runTrainingPipeline } from '../../core/ml';
import { getModelVersion } from '../../core/registry';
import { TASK_QUEUES } from '../../core/pipelines';
import { createInferenceServer, type InferenceServer } from '../../core/serving';
import { objectStoreFromConfig, type S3ObjectStore } from '../../core/storage';
import { runCli, runCliAsync } from '../support/cli';
import { uniqueName } from '../support/ids';
import { connectTestTemporal, createTestWorkers, type TemporalTestContext } from '../support/temporal';
import { createChurnView, testTrainingDeps } from '../support/training';

// `fti deploy`, `fti batch`, `fti apikey`, `fti predict` (compiled CLI) against an inference worker
// and service on the test namespace.
describe('fti deploy / batch / apikey / predict (compiled CLI)', () => {
  let temporal: TemporalTestContext;
  let database: DatabaseHandle;
  let store: S3ObjectStore;
  let workers: Worker[];
  let running: Promise<void>[];
  let server: InferenceServer;
  let url: string;
  let model: string;
  const prefix = uniqueName('cli-inf');
  const env = { S3_PREFIX: prefix };
  const deployment = uniqueName('cli-dep');
  const json = (args: string[], extra: NodeJS.ProcessEnv = {}) => {
    const result = runCli([...args, '--json'], { ...env, ...extra });
    if (result.code !== 0) throw new Error(`fti ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
    return JSON.parse(result.stdout) as Record<string, unknown>;
  };
  const jsonAsync = async (args: string[]) => {
    const result = await runCliAsync([...args, '--json'], env);
    if (result.code !== 0) throw new Error(`fti ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
    return JSON.parse(result.stdout) as Record<string, unknown>;
  };

  beforeAll(async () => {
    temporal = await connectTestTemporal();
    database = await openDatabase({ url: loadConfig().databaseUrl });
    store = objectStoreFromConfig(loadConfig(), prefix);
    const deps = { ...testTrainingDeps(database, store), store };
    const { view } = await createChurnView(deps, { rows: 400 });
    model = uniqueName('cli-inf-model').replace(/-/g, '_');
    for (const trainer of ['gbdt', 'logistic_regression'])
      await runTrainingPipeline(
        deps,
        {
          name: `cli-${trainer}`,
          model,
          featureView: { name: view },
          trainer: { name: trainer },
          trainingDataset: trainer === 'gbdt' ? undefined : { version: 1 },
        } as never,
        uniqueName('r'),
      );
    workers = await createTestWorkers(temporal, [TASK_QUEUES.inference], {
      db: database.db,
      store,
      inference: deps,
    });
    running = workers.map((w) => w.run());
    server = await createInferenceServer({ ...deps, pool: database.pool });
    url = await server.app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    for (const w of workers) w.shutdown();
    await Promise.allSettled(running);
    await server.close();
    await store.deletePrefix('');
    store.close();
    await database.close();
    await temporal.close();
  });

  it('creates, upgrades, splits and rolls back a deployment; scores a batch; predicts over HTTP with an API key', async () => {
    expect(
      await jsonAsync([
        'deploy',
        'create',
        deployment,
        '--model',
        model,
        '--version',
        '1',
        '--smoke',
        '{"keys":{"customer_id":1}}',
      ]),
    ).toMatchObject({
      deployment,
      version: 1,
      smoke: [{ variant: 'main', ok: true }],
    });
    expect(
      await jsonAsync(['deploy', 'upgrade', deployment, '--model', model, '--version', '2']),
    ).toMatchObject({ version: 2 });
    expect(
      await jsonAsync([
        'deploy',
        'split',
        deployment,
        '--variant',
        `a=${model}:1:50`,
        '--variant',
        `b=${model}:2:50`,
        '--shadow',
        `s=${model}:1`,
      ]),
    ).toMatchObject({ version: 3 });
    expect(await jsonAsync(['deploy', 'rollback', deployment])).toMatchObject({ version: 4 });
    const status = json(['deploy', 'status', deployment]);
    expect(status).toMatchObject({
      current: { version: 4, action: 'rollback', bindings: [{ variant: 'main', model: { version: 2 } }] },
    });
    expect(
      (json(['deploy', 'history', deployment]) as unknown as { action: string }[]).map((h) => h.action),
    ).toEqual(['create', 'upgrade', 'split', 'rollback']);

    const batch = await jsonAsync([
      'batch',
      'run',
      deployment,
      '--start',
      '2026-01-01T01:00:00Z',
      '--end',
      '2026-01-01T02:00:00Z',
    ]);
    expect(batch).toMatchObject({ rows: 60, model: { version: 2 } });

    const key = json(['apikey', 'create', 'cli-test']) as { key: string; id: number };
    // Async: the in-process service must answer while the command waits.
    const predicted = await jsonAsync([
      'predict',
      deployment,
      '--keys',
      '{"customer_id": 5}',
      '--url',
      url,
      '--api-key',
      key.key,
    ]);
    expect(predicted).toMatchObject({
      deployment,
      deploymentVersion: 4,
      predictions: [{ variant: 'main', model: { version: 2 } }],
    });
    const unauthorized = await runCliAsync(
      ['predict', deployment, '--keys', '{"customer_id": 5}', '--url', url],
      env,
    );
    expect(unauthorized.code).toBe(1);
    expect(unauthorized.stderr).toContain('HTTP 401: missing API key');
    expect((json(['apikey', 'list']) as unknown as { id: number }[]).some((k) => k.id === key.id)).toBe(true);
    expect(json(['apikey', 'revoke', String(key.id)])).toMatchObject({ revoked: true });
  });

  it('rolls back to the previous good version, never to the one just rolled back from, or to --to VERSION', async () => {
    const name = uniqueName('cli-rb');
    const bound = async () =>
      (
        json(['deploy', 'status', name]) as unknown as {
          current: { version: number; bindings: { variant: string; model: { version: number } }[] };
        }
      ).current;
    await jsonAsync(['deploy', 'create', name, '--model', model, '--version', '1']);
    await jsonAsync(['deploy', 'upgrade', name, '--model', model, '--version', '2']);
    await jsonAsync([
      'deploy',
      'split',
      name,
      '--variant',
      `a=${model}:1:50`,
      '--variant',
      `b=${model}:2:50`,
    ]);
    expect(await jsonAsync(['deploy', 'rollback', name])).toMatchObject({ version: 4 });
    expect((await bound()).bindings.map((b) => b.model.version)).toEqual([2]);
    // Again: further back to v1's binding, not to the split (v3) it just left.
    expect(await jsonAsync(['deploy', 'rollback', name])).toMatchObject({ version: 5 });
    expect((await bound()).bindings.map((b) => [b.variant, b.model.version])).toEqual([['main', 1]]);
    const none = await runCliAsync(['deploy', 'rollback', name], env);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain(`deployment ${name} has no earlier good version to roll back to`);
    expect((await bound()).version).toBe(5);
    // An explicit target: back to the split.
    expect(await jsonAsync(['deploy', 'rollback', name, '--to', '3'])).toMatchObject({ version: 6 });
    expect((await bound()).bindings.map((b) => [b.variant, b.model.version])).toEqual([
      ['a', 1],
      ['b', 2],
    ]);
    const unknown = await runCliAsync(['deploy', 'rollback', name, '--to', '42'], env);
    expect(unknown.stderr).toContain(`deployment ${name} has no version 42 (versions: 1, 2, 3, 4, 5, 6)`);
  });

  it('smoke-tests a rollback on the version it returns to, and does not switch when that fails', async () => {
    const name = uniqueName('cli-rb-smoke');
    const smoke = ['--smoke', '{"keys":{"customer_id":1}}'];
    await jsonAsync(['deploy', 'create', name, '--model', model, '--version', '1', ...smoke]);
    await jsonAsync(['deploy', 'upgrade', name, '--model', model, '--version', '2', ...smoke]);
    // Version 1's artifact is damaged: what the rollback would serve cannot load.
    const v1 = await getModelVersion(database.db, model, 1);
    const original = await store.get(v1.artifactKey);
    await store.put(v1.artifactKey, Buffer.from('not an onnx model'));
    try {
      const failed = await runCliAsync(['deploy', 'rollback', name, ...smoke], env);
      expect(failed.code).not.toBe(0);
      expect(failed.stderr).toMatch(/protobuf|onnx|model/i);
      expect(
        (json(['deploy', 'status', name]) as unknown as { current: { version: number } }).current.version,
      ).toBe(2);
    } finally {
      await store.put(v1.artifactKey, original);
    }
    const rolled = await jsonAsync(['deploy', 'rollback', name, ...smoke]);
    expect(rolled).toMatchObject({
      version: 3,
      smoke: [{ variant: 'main', model: `${model} v1`, ok: true }],
    });
  });

  it('refuses inconsistent or unknown bindings with one-line causes', async () => {
    const bad = await runCliAsync(
      ['deploy', 'create', uniqueName('x'), '--model', model, '--version', '9'],
      env,
    );
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`model ${model} version 9 does not exist`);
    const split = runCli(['deploy', 'split', deployment, '--variant', 'nonsense'], env);
    expect(split.stderr).toContain('must look like name=model:version:weight');
  });
});
