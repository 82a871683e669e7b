import fs from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { loadConfig } from '../config';
import { openDatabase, type DatabaseHandle } from '../db';
import { projectRoot } from '../project-root';
import { joinKey, type S3ObjectStore } from '../storage';
import { testObjectStore } from '../../test/support/stores';
import { testViewDeps, type ViewTestDeps } from '../../test/support/featureviews';
import { createRestApiScenario, type RestApiScenario } from '../../test/support/rest-api-scenario';
import { createApiKey } from './api-keys';
import { FEATURE_STORE_ROUTES } from './feature-store-api';
import {
  datasetListSchema,
  datasetSchema,
  groupListSchema,
  groupSchema,
  onlineResponseSchema,
  splitDownloadSchema,
  viewListSchema,
  viewSchema,
} from './feature-store-schemas';
import { documentedRoutes } from './openapi';
import { createInferenceServer, type InferenceServer } from './server';

// The feature store's REST API on the real stack: every answer is parsed with the schema the
// OpenAPI document is generated from (and must equal what was parsed: no undocumented field).
describe('feature store REST API', () => {
  let database: DatabaseHandle;
  let store: S3ObjectStore;
  let deps: ViewTestDeps;
  let server: InferenceServer;
  let base: string;
  let scenario: RestApiScenario;
  const keys: Record<'features' | 'predict' | 'push' | 'admin', string> = {
    features: '',
    predict: '',
    push: '',
    admin: '',
  };

  const call = async (
    route: string,
    options: { key?: string | null; body?: unknown; method?: string } = {},
  ) => {
    const key = options.key === undefined ? keys.features : options.key;
    const response = await fetch(`${base}${route}`, {
      method: options.method ?? (options.body === undefined ? 'GET' : 'POST'),
      headers: {
        ...(key === null ? {} : { authorization: `Bearer ${key}` }),
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(options.body === undefined
        ? {}
        : { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  /** Parses `body` with `schema` and expects nothing to be dropped (every field documented). */
  const documented = <S extends z.ZodType>(schema: S, body: unknown): z.output<S> => {
    const parsed = schema.parse(body);
    expect(parsed).toEqual(body);
    return parsed;
  };

  beforeAll(async () => {
    database = await openDatabase({ url: loadConfig().databaseUrl });
    store = testObjectStore();
    deps = testViewDeps(database, store);
    scenario = await createRestApiScenario(deps, { prefix: 'rest' });
    server = await createInferenceServer({
      ...deps,
      pool: database.pool,
      watch: false,
      logPredictions: false,
    });
    await server.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(server.app.server.address() as { port: number }).port}`;
    for (const scope of ['features', 'predict', 'push', 'admin'] as const)
      keys[scope] = (await createApiKey(database.db, `rest-${scope}`, { scopes: [scope] })).key;
  });
  afterAll(async () => {
    await server?.close();
    await store?.deletePrefix('');
    store?.close();
    await database?.close();
  });

  it('lists and describes feature groups: schema, key, event time, online, latest commit', async () => {
    const list = documented(groupListSchema, (await call('/v1/feature-groups')).body);
    const mine = list.featureGroups.find((g) => g.name === scenario.customers.spec.name)!;
    expect(mine).toMatchObject({
      version: 1,
      primaryKey: ['customer_id'],
      eventTime: 'updated_at',
      onlineEnabled: true,
      latestCommit: { id: scenario.customersCommit.id, operation: 'upsert', rowsInserted: 48 },
    });
    expect(list.featureGroups.find((g) => g.name === scenario.labels.spec.name)?.onlineEnabled).toBe(false);

    const { status, body } = await call(`/v1/feature-groups/${scenario.customers.spec.name}?version=1`);
    expect(status).toBe(200);
    const group = documented(groupSchema, body);
    expect(group).toMatchObject({
      name: scenario.customers.spec.name,
      version: 1,
      versions: [1],
      description: 'customers for the REST API tests',
      online: { enabled: true, ttlSeconds: null },
      external: null,
      latestCommit: { id: scenario.customersCommit.id },
    });
    expect(group.features.map((f) => [f.name, f.type, f.nullable])).toEqual([
      ['customer_id', 'bigint', false],
      ['updated_at', 'timestamp', false],
      ['age', 'int', true],
      ['visits', 'bigint', true],
      ['score', 'double', true],
      ['plan', 'string', true],
    ]);
    expect(group.features[2]!.description).toBe('years; unknown for some customers');
  });

  it('lists and describes feature views: features, labels, keys, versions, datasets', async () => {
    const list = documented(viewListSchema, (await call('/v1/feature-views')).body);
    expect(list.featureViews.filter((v) => v.name === scenario.view).map((v) => v.version)).toEqual([1]);
    const view = documented(viewSchema, (await call(`/v1/feature-views/${scenario.view}`)).body);
    expect(view).toMatchObject({
      name: scenario.view,
      version: 1,
      versions: [1],
      description: 'churn of customers',
      entityKeys: ['customer_id'],
      eventTime: 'ts',
      features: ['age', 'visits', 'score', 'plan'],
      labels: ['churned'],
      spine: { kind: 'feature_group', featureGroup: { name: scenario.labels.spec.name, version: 1 } },
      trainingDatasets: [scenario.dataset.version],
    });
    expect(view.joins[0]).toMatchObject({
      featureGroup: { name: scenario.customers.spec.name, version: 1 },
      on: [{ groupColumn: 'customer_id', spineColumn: 'customer_id' }],
    });
    expect(view.columns.find((c) => c.name === 'age')).toMatchObject({
      role: 'feature',
      origin: 'join',
      featureGroup: { name: scenario.customers.spec.name, version: 1 },
    });
  });

  it('lists and describes training datasets: splits, row counts, transformation, commits', async () => {
    const list = documented(
      datasetListSchema,
      (await call(`/v1/feature-views/${scenario.view}/training-datasets`)).body,
    );
    expect(list.trainingDatasets).toEqual([
      expect.objectContaining({ version: 1, state: 'ready', splits: 'random', description: 'all customers' }),
    ]);
    const dataset = documented(
      datasetSchema,
      (await call(`/v1/feature-views/${scenario.view}/training-datasets/1?version=1`)).body,
    );
    expect(dataset.rowCounts.train! + dataset.rowCounts.test!).toBe(48);
    expect(dataset.rowCounts.train).toBeGreaterThan(dataset.rowCounts.test!);
    expect(dataset.splits).toEqual({ kind: 'random', fractions: { train: 0.75, test: 0.25 }, seed: 7 });
    expect(dataset.featureGroupCommits).toEqual({
      [`${scenario.customers.spec.name}@v1`]: scenario.customersCommit.id,
      [`${scenario.labels.spec.name}@v1`]: expect.any(Number),
    });
    expect(dataset.transformation.outputs).toEqual(['age', 'visits', 'score', 'plan=free', 'plan=pro']);
    expect(dataset.transformation.steps.score).toEqual([
      { kind: 'standard_scaler', mean: expect.any(Number), std: expect.any(Number) },
    ]);
  });

  it('hands out presigned URLs that download the exact Parquet bytes and expire', async () => {
    const route = `/v1/feature-views/${scenario.view}/training-datasets/1/splits/train`;
    const { status, body } = await call(route);
    expect(status).toBe(200);
    const split = documented(splitDownloadSchema, body);
    const stored = await store.get(joinKey(scenario.dataset.storagePrefix, 'train.parquet'));
    expect(split).toMatchObject({
      trainingDataset: 1,
      split: 'train',
      rows: scenario.dataset.rowCounts.train,
      bytes: stored.length,
      format: 'parquet',
      expiresInSeconds: 900,
    });
    expect(Date.parse(split.expiresAt) - Date.now()).toBeGreaterThan(890_000);
    const download = await fetch(split.url);
    expect(download.status).toBe(200);
    expect(Buffer.from(await download.arrayBuffer()).equals(stored)).toBe(true);

    const short = documented(splitDownloadSchema, (await call(`${route}?expiresIn=1`)).body);
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    expect((await fetch(short.url)).status).toBe(403);

    for (const bad of ['?expiresIn=0', '?expiresIn=3601', '?expiresIn=ten', '?expires=5']) {
      const refused = await call(`${route}${bad}`);
      expect(refused.status).toBe(400);
      expect(String(refused.body.error)).toMatch(/^query: /);
    }
    const noValidation = await call(
      `/v1/feature-views/${scenario.view}/training-datasets/1/splits/validation`,
    );
    expect(noValidation.status).toBe(404);
    expect(noValidation.body.error).toMatch(/has no validation split \(splits: train, test\)/);
    const noDataset = await call(`/v1/feature-views/${scenario.view}/training-datasets/9/splits/train`);
    expect(noDataset.status).toBe(404);
    expect(noDataset.body.error).toMatch(/training dataset version 9 not found \(ready versions: 1\)/);
    expect((await call(`/v1/feature-views/${scenario.view}/training-datasets/1/splits/dev`)).status).toBe(
      400,
    );
  });

  it('serves online feature vectors (raw, and as model input with a dataset)', async () => {
    const route = `/v1/feature-views/${scenario.view}/online`;
    const { status, body } = await call(route, {
      body: {
        entities: [
          { keys: { customer_id: 4 } },
          { keys: { customer_id: 5 } },
          { keys: { customer_id: 999 } },
        ],
      },
    });
    expect(status).toBe(200);
    const online = documented(onlineResponseSchema, body);
    expect(online.features).toEqual(['age', 'visits', 'score', 'plan']);
    expect(online.transformation).toBeNull();
    expect(online.vectors.map((v) => v.values)).toEqual([
      { age: 24, visits: 1_000_000_000_004, score: 0.5, plan: 'free' },
      { age: null, visits: null, score: 0.625, plan: 'free' },
      { age: null, visits: null, score: null, plan: null },
    ]);
    expect(online.vectors[2]!.status).toEqual({
      age: 'missing',
      visits: 'missing',
      score: 'missing',
      plan: 'missing',
    });
    expect(online.vectors[0]!.keys).toEqual({ customer_id: 4 });

    const model = documented(
      onlineResponseSchema,
      (await call(route, { body: { entities: [{ keys: { customer_id: 3 } }], trainingDataset: 1 } })).body,
    );
    expect(model.transformation).toEqual({
      trainingDataset: 1,
      outputs: ['age', 'visits', 'score', 'plan=free', 'plan=pro'],
    });
    const vector = model.vectors[0]!.vector!;
    expect(vector.slice(0, 2)).toEqual([23, 1_000_000_000_003]);
    expect(vector.slice(3)).toEqual([0, 1]);

    const strict = await call(route, {
      body: { entities: [{ keys: { customer_id: 999 } }], missing: 'error' },
    });
    expect(strict.status).toBe(422);
    expect(strict.body.error).toMatch(/no online row/);
    const wrongType = await call(route, { body: { entities: [{ keys: { customer_id: 'four' } }] } });
    expect(wrongType.status).toBe(422);
    expect(wrongType.body.error).toMatch(/entity key "customer_id"/);
    const notAKey = await call(route, { body: { entities: [{ keys: { customer_id: 1, plan: 'x' } }] } });
    expect(notAKey.status).toBe(422);
    expect(notAKey.body.error).toMatch(/"plan" is not an entity key/);
    for (const bad of [
      {},
      { entities: [] },
      { entities: [{ keys: { customer_id: 1 } }], extra: true },
      { entities: Array.from({ length: 1001 }, (_, i) => ({ keys: { customer_id: i } })) },
    ]) {
      const refused = await call(route, { body: bad });
      expect(refused.status).toBe(400);
      expect(String(refused.body.error)).toMatch(
        /^request body: entities|^request body: \(whole\) Unrecognized key/,
      );
    }
    expect((await call(route, { body: '{"entities": [' })).status).toBe(400);
    const unknownDataset = await call(route, {
      body: { entities: [{ keys: { customer_id: 1 } }], trainingDataset: 7 },
    });
    expect(unknownDataset.status).toBe(404);
  });

  it('refuses bad names and unknown objects with 400/404 saying what to do', async () => {
    const badName = await call('/v1/feature-views/Bad-Name');
    expect(badName.status).toBe(400);
    expect(badName.body.error).toBe(
      'path: name must be a lowercase name: a letter, then letters, digits or _ (at most 63 characters)',
    );
    const badVersion = await call(`/v1/feature-groups/${scenario.customers.spec.name}?version=0`);
    expect(badVersion.status).toBe(400);
    expect(badVersion.body.error).toMatch(/^query: version must be a positive whole number/);
    const noGroup = await call('/v1/feature-groups/no_such_group_anywhere');
    expect(noGroup.status).toBe(404);
    expect(noGroup.body.error).toMatch(/does not exist; create it first \(fti fg create\)/);
    const noVersion = await call(`/v1/feature-views/${scenario.view}?version=5`);
    expect(noVersion.status).toBe(404);
    expect(noVersion.body.error).toBe(`feature view ${scenario.view} version 5 does not exist (versions: 1)`);
    expect((await call('/v1/feature-groups?limit=5')).status).toBe(400);
  });

  it('enforces API keys and scopes: 401 without a key, 403 without the scope, admin reads everything', async () => {
    const route = `/v1/feature-views/${scenario.view}`;
    const anonymous = await call(route, { key: null });
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.error).toMatch(/missing API key/);
    expect((await call(route, { key: 'fti_not-a-key' })).status).toBe(401);
    for (const scope of ['predict', 'push'] as const) {
      const refused = await call(route, { key: keys[scope] });
      expect(refused.status).toBe(403);
      expect(refused.body.error).toMatch(
        /this call needs features \(create a key with `fti apikey create rest-.* --scope features`\)/,
      );
    }
    expect(
      (
        await call(`${route}/online`, {
          key: keys.predict,
          body: { entities: [{ keys: { customer_id: 1 } }] },
        })
      ).status,
    ).toBe(403);
    expect((await call(route, { key: keys.admin })).status).toBe(200);
    // A read key cannot push events.
    const push = await call(`/v1/feature-groups/${scenario.customers.spec.name}/events`, {
      body: { customer_id: 1, updated_at: '2026-03-01T00:00:00Z' },
    });
    expect(push.status).toBe(403);
  });

  it('serves the OpenAPI document checked in as docs/openapi.json, covering every route', async () => {
    const served = await fetch(`${base}/v1/openapi.json`);
    expect(served.status).toBe(200);
    const file = JSON.parse(
      fs.readFileSync(path.join(projectRoot(), 'docs', 'openapi.json'), 'utf8'),
    ) as unknown;
    expect(await served.json()).toEqual(file);
    const documentedPaths = documentedRoutes().map((r) => `${r.method} ${r.path}`);
    for (const route of FEATURE_STORE_ROUTES)
      expect(documentedPaths).toContain(`${route.method} ${route.url.replace(/:(\w+)/g, '{$1}')}`);
    for (const route of documentedRoutes())
      expect(
        server.app.hasRoute({ method: route.method as 'GET', url: route.path.replace(/\{(\w+)\}/g, ':$1') }),
      ).toBe(true);
  });

  it('answers 404, not 500, when a split file is gone, also for its model inputs', async () => {
    await store.delete(`${scenario.dataset.storagePrefix}/test.parquet`);
    for (const query of ['', '?transformed=true']) {
      const gone = await call(`/v1/feature-views/${scenario.view}/training-datasets/1/splits/test${query}`);
      expect(gone.status).toBe(404);
      expect(gone.body.error).toMatch(
        /the test split's file is missing from the object store; rebuild the dataset/,
      );
    }
  });
});
