import { loadConfig } from '../../core/config';
import { openDatabase, type DatabaseHandle } from '../../core/db';
import { runTrainingPipeline } from '../../core/ml';
import { createDeployment } from '../../core/serving/deployments';
import { createInferenceServer, type InferenceServer } from '../../core/serving/server';
import type { S3ObjectStore } from '../../core/storage';
import { SERVICE_S3_OPTIONS } from '../../workers/inference-service';
import { uniqueName } from '../support/ids';
import { OutageProxy } from '../support/outage-proxy';
import { testObjectStore } from '../support/stores';
import { createChurnView, testTrainingDeps } from '../support/training';

// The online service reaches the test stack's S3 through a proxy this test takes down; the shared
// S3 server itself keeps running for everyone else.
describe('S3 down while the online service loads a deployment', () => {
  const endpoint = new URL(loadConfig().s3Endpoint);
  const proxy = new OutageProxy({ host: endpoint.hostname, port: Number(endpoint.port || 80) });
  let database: DatabaseHandle;
  let store: S3ObjectStore;
  let serviceStore: S3ObjectStore;
  let server: InferenceServer;
  let base: string;
  const name = uniqueName('s3-fault');

  const get = async (path: string) => {
    const response = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(8000) });
    return {
      status: response.status,
      retryAfter: response.headers.get('retry-after'),
      body: (await response.json()) as Record<string, unknown>,
    };
  };
  const predict = async () => {
    const response = await fetch(`${base}/v1/deployments/${name}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ keys: { customer_id: 5 } }),
      signal: AbortSignal.timeout(8000),
    });
    return {
      status: response.status,
      retryAfter: response.headers.get('retry-after'),
      body: (await response.json()) as Record<string, unknown>,
    };
  };

  beforeAll(async () => {
    await proxy.up();
    database = await openDatabase({ url: loadConfig().databaseUrl });
    store = testObjectStore();
    const deps = testTrainingDeps(database, store);
    const { view } = await createChurnView(deps, { rows: 300 });
    const model = uniqueName('s3f-model').replace(/-/g, '_');
    await runTrainingPipeline(
      deps,
      {
        model,
        featureView: { name: view },
        name: 's3f',
        trainer: { name: 'logistic_regression', params: {} },
      },
      uniqueName('r'),
    );
    await createDeployment(database.db, {
      name,
      variants: [{ variant: 'main', model, version: 1, weight: 100 }],
      createdBy: 'test',
    });
    // The same bucket and prefix as `store`, reached through the proxy, with the service's S3 options.
    const prefix = store.location.split(' at ')[0]!.split('/').slice(3).join('/');
    serviceStore = testObjectStore({
      endpoint: `http://127.0.0.1:${proxy.port}`,
      prefix,
      ...SERVICE_S3_OPTIONS,
    });
    server = await createInferenceServer({
      ...deps,
      store: serviceStore,
      pool: database.pool,
      requireApiKey: false,
    });
    await server.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(server.app.server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await server?.close();
    serviceStore?.close();
    await proxy.down();
    await store?.deletePrefix('').catch(() => undefined);
    store?.close();
    await database?.close();
  });

  it('answers 503 naming s3 (readiness too) while the model cannot be read, and serves once S3 is back', async () => {
    await proxy.down();
    const down = await predict();
    expect(down.status).toBe(503);
    expect(down.retryAfter).toMatch(/^\d+$/);
    expect(down.body).toMatchObject({ unavailable: 's3' });
    const ready = await get('/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ ready: false, s3: 'down', postgres: 'up' });
    expect((await get('/health')).status).toBe(200);

    await proxy.up();
    const up = await predict();
    expect(up.status).toBe(200);
    expect(up.body).toMatchObject({ deploymentVersion: 1 });
  });
});
