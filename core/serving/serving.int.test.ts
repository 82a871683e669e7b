import os from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { projectRoot } from '../project-root';
import { projectPython } from '../../test/support/python';
import { loadConfig } from '../config';
import { openDatabase, tables, type DatabaseHandle } from '../db';
import { getBatchData } from '../featurestore';
import { loadSession, predictOnnx, runTrainingPipeline } from '../ml';
import { getModelVersion } from '../registry';
import type { S3ObjectStore } from '../storage';
import { uniqueName } from '../../test/support/ids';
import { testObjectStore } from '../../test/support/stores';
import { createChurnView, testTrainingDeps, type TrainingTestDeps } from '../../test/support/training';
import { ApiKeyVerifier, createApiKey, revokeApiKey } from './api-keys';
import { runBatchInference } from './batch';
import {
  createDeployment,
  deploymentHistory,
  getDeployment,
  rollbackDeployment,
  updateDeployment,
} from './deployments';
import { createInferenceServer, type InferenceServer } from './server';

// The online inference service and batch inference against the real stack.
describe('serving: deployments, HTTP predict/OIP v2, upgrade and rollback under load, A/B, batch', () => {
  let database: DatabaseHandle;
  let store: S3ObjectStore;
  let deps: TrainingTestDeps;
  let server: InferenceServer;
  let base: string;
  let key: string;
  let model: string;
  let view: string;
  const name = uniqueName('churn-svc');

  const post = async (
    path: string,
    body: unknown,
    headers: Record<string, string> = { authorization: `Bearer ${key}` },
  ) => {
    const response = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    database = await openDatabase({ url: loadConfig().databaseUrl });
    store = testObjectStore();
    deps = testTrainingDeps(database, store);
    view = (await createChurnView(deps, { rows: 800 })).view;
    model = uniqueName('svc-model').replace(/-/g, '_');
    const spec = { model, featureView: { name: view }, alias: 'champion' } as const;
    await runTrainingPipeline(
      deps,
      { ...spec, name: 'svc-gbdt', trainer: { name: 'gbdt', params: { numTrees: 20, maxDepth: 3 } } },
      uniqueName('r'),
    );
    await runTrainingPipeline(
      deps,
      {
        ...spec,
        name: 'svc-logreg',
        trainingDataset: { version: 1 },
        alias: 'challenger',
        trainer: { name: 'logistic_regression', params: { maxIterations: 100 } },
      },
      uniqueName('r'),
    );
    await createDeployment(database.db, {
      name,
      variants: [{ variant: 'main', model, version: 'champion', weight: 100 }],
      createdBy: 'test',
    });
    server = await createInferenceServer({ ...deps, pool: database.pool });
    await server.app.listen({ port: 0, host: '127.0.0.1' });
    const address = server.app.server.address() as { port: number };
    base = `http://127.0.0.1:${address.port}`;
    key = (await createApiKey(database.db, 'tests')).key;
  });
  afterAll(async () => {
    await server?.close();
    await store.deletePrefix('');
    store.close();
    await database.close();
  });

  it('predicts from entity keys with online features, model/deployment versions and per-feature status', async () => {
    const { status, body } = await post(`/v1/deployments/${name}/predict`, {
      instances: [{ keys: { customer_id: 3 } }, { keys: { customer_id: 999_999 } }],
    });
    expect(status).toBe(422); // missing policy "error": the unknown customer fails the request
    expect(String(body.error)).toContain('no online row');
    const ok = await post(`/v1/deployments/${name}/predict`, { keys: { customer_id: 3 } });
    expect(ok.status).toBe(200);
    const prediction = (ok.body.predictions as Record<string, unknown>[])[0]!;
    expect(prediction).toMatchObject({
      variant: 'main',
      model: { name: model, version: 1 },
      features: { sessions: { status: 'present' } },
    });
    expect(Object.keys(prediction.probabilities as unknown as object)).toEqual(['false', 'true']);
    expect(ok.body.deploymentVersion).toBe(1);

    // The answer equals scoring the same transformed vector directly with the registered model.
    const { matrix } = await getBatchData(deps, {
      featureView: { name: view },
      spine: {
        rows: [{ customer_id: 3, ts: new Date('2030-01-01T00:00:00Z'), segment: 'x', churned: false }],
      },
      trainingDatasetVersion: 1,
    });
    const champion = await getModelVersion(database.db, model, 'champion');
    const session = await loadSession(new Uint8Array(await store.get(champion.artifactKey)));
    const direct = await predictOnnx(session, matrix.X, 1, matrix.cols);
    await session.release();
    expect((prediction.probabilities as unknown as Record<string, number>).true).toBeCloseTo(
      direct.probabilities![1]!,
      6,
    );
  });

  it('speaks the Open Inference Protocol v2', async () => {
    const live = await fetch(`${base}/v2/health/live`);
    expect(await live.json()).toEqual({ live: true });
    expect((await fetch(`${base}/v2/health/ready`)).status).toBe(200);
    const meta = await fetch(`${base}/v2/models/${name}`, { headers: { 'x-api-key': key } });
    const metadata = (await meta.json()) as {
      inputs: { name: string; shape: number[] }[];
      versions: string[];
    };
    expect(metadata.inputs[0]).toMatchObject({ name: 'features', shape: [-1, 4] });
    expect(metadata.versions).toEqual(['1']);
    expect((await fetch(`${base}/v2/models/${name}/ready`, { headers: { 'x-api-key': key } })).status).toBe(
      200,
    );
    const tensor = await post(`/v2/models/${name}/infer`, {
      id: 'r1',
      inputs: [{ name: 'features', shape: [2, 4], datatype: 'FP32', data: [5, 1, 0, 0.1, 25, 0, 1, -1] }],
    });
    expect(tensor.status).toBe(200);
    // model_version is the answering model's version; the deployment's is a parameter.
    expect(tensor.body).toMatchObject({
      model_name: name,
      model_version: '1',
      id: 'r1',
      parameters: { deployment_version: 1, variant: 'main' },
    });
    expect(
      (tensor.body.outputs as unknown as { name: string; shape: number[] }[]).map((o) => [o.name, o.shape]),
    ).toEqual([
      ['label', [2]],
      ['probabilities', [2, 2]],
    ]);
    const byKey = await post(`/v2/models/${name}/versions/1/infer`, {
      inputs: [{ name: 'customer_id', shape: [2], datatype: 'INT64', data: [1, 2] }],
    });
    expect(byKey.status).toBe(200);
    expect(
      (
        await post(`/v2/models/${name}/versions/9/infer`, {
          inputs: [{ name: 'customer_id', shape: [1], datatype: 'INT64', data: [1] }],
        })
      ).status,
    ).toBe(404);
  });

  it('answers the Triton/KServe Python client (tritonclient[http]): binary tensors without Content-Type, JSON, entity keys', async () => {
    const X = [
      [5, 1, 0, 0.1],
      [25, 0, 1, -1],
    ];
    const port = (server.app.server.address() as { port: number }).port;
    // Async: the server under test answers from this process's event loop.
    const out = JSON.parse(
      (
        await promisify(execFile)(
          projectPython(['tritonclient.http', 'numpy']),
          [
            path.join(projectRoot(), 'test/support/oip-tritonclient.py'),
            `127.0.0.1:${port}`,
            name,
            key,
            JSON.stringify(X),
            'customer_id',
            JSON.stringify([3, 5]),
          ],
          { encoding: 'utf8' },
        )
      ).stdout,
    ) as Record<string, { probabilities: number[][]; label: string[]; response: Record<string, unknown> }> & {
      live: boolean;
      ready: boolean;
      metadata: { inputs: { name: string; shape: number[] }[]; versions: string[] };
    };
    expect(out.live).toBe(true);
    expect(out.ready).toBe(true);
    expect(out.metadata.inputs[0]).toMatchObject({ name: 'features', shape: [-1, 4] });
    expect(out.metadata.versions).toEqual(['1']);
    // The same tensor, binary or JSON, scores the same as a JSON request of ours.
    const ours = await post(`/v2/models/${name}/infer`, {
      inputs: [{ name: 'features', shape: [2, 4], datatype: 'FP32', data: X }],
    });
    const probabilities = ours.body.outputs as unknown as { name: string; data: number[] }[];
    const expected = probabilities.find((o) => o.name === 'probabilities')!.data;
    for (const mode of ['binary', 'json'] as const) {
      expect(out[mode]!.probabilities.flat()).toHaveLength(4);
      out[mode]!.probabilities.flat().forEach((p, i) => expect(p).toBeCloseTo(expected[i]!, 6));
      expect(out[mode]!.label).toEqual(probabilities.find((o) => o.name === 'label')!.data);
    }
    // Binary outputs came back in the binary extension (the client asked for them by default).
    expect(out.binary!.response.outputs).toEqual(
      expect.arrayContaining([expect.objectContaining({ parameters: { binary_data_size: 16 } })]),
    );
    // Entity keys: the same answer as /predict for those customers, logged under the client's id.
    const viaPredict = await post(`/v1/deployments/${name}/predict`, {
      instances: [{ keys: { customer_id: 3 } }, { keys: { customer_id: 5 } }],
    });
    const predicted = (viaPredict.body.predictions as { probabilities: Record<string, number> }[]).map(
      (p) => [p.probabilities.false!, p.probabilities.true!],
    );
    out.keys!.probabilities.forEach((row, i) =>
      row.forEach((p, j) => expect(p).toBeCloseTo(predicted[i]![j]!, 6)),
    );
    expect(out.keys!.response).toMatchObject({ model_version: '1', id: 'triton-keys' });
  });

  it("answers KServe's Python REST client (kserve.InferenceRESTClient) with JSON and binary tensors", async () => {
    const X = [
      [5, 1, 0, 0.1],
      [25, 0, 1, -1],
    ];
    const port = (server.app.server.address() as { port: number }).port;
    const { stdout } = await promisify(execFile)(
      projectPython(['kserve', 'numpy']),
      [
        path.join(projectRoot(), 'test/support/oip-kserve.py'),
        `http://127.0.0.1:${port}`,
        name,
        key,
        JSON.stringify(X),
      ],
      { encoding: 'utf8' },
    );
    const out = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
      live: boolean;
      ready: boolean;
      json: { label: string[]; probabilities: number[][] };
      binary: { label: string[]; probabilities: number[][] };
    };
    expect(out.live).toBe(true);
    expect(out.ready).toBe(true);
    const ours = await post(`/v2/models/${name}/infer`, {
      inputs: [{ name: 'features', shape: [2, 4], datatype: 'FP32', data: X }],
    });
    const expected = (ours.body.outputs as unknown as { name: string; data: number[] }[]).find(
      (o) => o.name === 'probabilities',
    )!.data;
    for (const mode of ['json', 'binary'] as const) {
      out[mode].probabilities.flat().forEach((p, i) => expect(p).toBeCloseTo(expected[i]!, 6));
      expect(out[mode].label).toHaveLength(2);
    }
  });

  it('OIP v2 refuses strings, nulls and unknown datatypes in tensors, takes nested data, and logs tensor predictions', async () => {
    const infer = (inputs: unknown[]) => post(`/v2/models/${name}/infer`, { inputs });
    const bad = await infer([{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [1, 'x', 0, 0] }]);
    expect(bad.status).toBe(400);
    expect(String(bad.body.error)).toContain(
      'input "features" value 1 must be a finite number (FP32), got a string',
    );
    const nulls = await infer([{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [1, null, 0, 0] }]);
    expect(String(nulls.body.error)).toContain('value 1 must be a finite number (FP32), got null');
    const text = await infer([
      { name: 'features', shape: [1, 4], datatype: 'BYTES', data: ['1', '2', '3', '4'] },
    ]);
    expect(String(text.body.error)).toContain('input "features" must be a numeric tensor (FP32), not BYTES');
    const wrongKey = await infer([{ name: 'customer_id', shape: [1], datatype: 'BYTES', data: ['3'] }]);
    expect(wrongKey.status).toBe(422);
    expect(String(wrongKey.body.error)).toContain('entity key "customer_id" must be an integer');
    const nestedId = uniqueName('nested');
    const nested = await post(`/v2/models/${name}/infer`, {
      id: nestedId,
      inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [[5, 1, 0, 0.1]] }],
    });
    expect(nested.status).toBe(200);
    await server.logs!.flush();
    const logged = await database.db
      .select()
      .from(tables.predictionLogs)
      .where(eq(tables.predictionLogs.requestId, nestedId));
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ deployment: name, modelVersion: 1, shadow: false });
  });

  it('rejects bad input with 4xx and a clear message; authenticates with revocable keys; exposes metrics; logs predictions', async () => {
    expect((await post('/v1/deployments/no-such/predict', { keys: { customer_id: 1 } })).status).toBe(404);
    const malformed = await post(`/v1/deployments/${name}/predict`, '{"keys": ');
    expect(malformed.status).toBe(400);
    const wrongType = await post(`/v1/deployments/${name}/predict`, { keys: { customer_id: 'abc' } });
    expect(wrongType.status).toBe(422);
    expect(String(wrongType.body.error)).toContain(
      'request 1: entity key "customer_id" must be an integer within ±2^53 (feature type bigint), got a string',
    );
    const missingKey = await post(`/v1/deployments/${name}/predict`, { keys: { other: 1 } });
    expect(missingKey.status).toBe(422);
    expect(String(missingKey.body.error)).toContain('entity key "customer_id" is missing');
    const tooMany = await post(`/v1/deployments/${name}/predict`, {
      instances: Array.from({ length: 1001 }, (_, i) => ({ keys: { customer_id: i } })),
    });
    expect(tooMany.status).toBe(413);
    const oipBad = await post(`/v2/models/${name}/infer`, {
      inputs: [{ name: 'features', shape: [1, 3], datatype: 'FP32', data: [1, 2, 3] }],
    });
    expect(oipBad.status).toBe(400);
    expect(String(oipBad.body.error)).toContain('must have shape [N, 4]');
    expect((await post(`/v1/deployments/${name}/predict`, { keys: { customer_id: 1 } }, {})).status).toBe(
      401,
    );
    const temp = await createApiKey(database.db, 'temp');
    expect(
      (await post(`/v1/deployments/${name}/predict`, { keys: { customer_id: 1 } }, { 'x-api-key': temp.key }))
        .status,
    ).toBe(200);
    await revokeApiKey(database.db, temp.id);
    const afterRevoke = await createInferenceServer({
      ...deps,
      pool: database.pool,
      watch: false,
      logPredictions: false,
    });
    await afterRevoke.app.listen({ port: 0, host: '127.0.0.1' });
    const other = `http://127.0.0.1:${(afterRevoke.app.server.address() as { port: number }).port}`;
    const revoked = await fetch(`${other}/v1/deployments/${name}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': temp.key },
      body: JSON.stringify({ keys: { customer_id: 1 } }),
    });
    expect(revoked.status).toBe(401);
    await afterRevoke.close();

    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain(`fti_requests_total{deployment="${name}"`);
    expect(metrics).toContain('fti_request_seconds_bucket');
    expect(metrics).toContain('stage="features"');
    await server.logs!.flush();
    const logged = await database.db
      .select()
      .from(tables.predictionLogs)
      .where(eq(tables.predictionLogs.deployment, name));
    expect(logged.length).toBeGreaterThan(0);
    expect(logged[0]).toMatchObject({ deploymentVersion: 1, variant: 'main', shadow: false });
    expect(JSON.stringify(logged)).not.toContain(key);
  });

  it('takes only declared request fields: stored features, join keys, labels, unknown fields and mistyped keys are 422', async () => {
    const predict = (instance: Record<string, unknown>) => post(`/v1/deployments/${name}/predict`, instance);
    const baseline = await predict({ keys: { customer_id: 3 } });
    expect(baseline.status).toBe(200);
    const refused = async (instance: Record<string, unknown>, message: string) => {
      const r = await predict(instance);
      expect({ status: r.status, error: String(r.body.error) }).toEqual({
        status: 422,
        error: expect.stringContaining(message),
      });
    };
    // A stored feature: the request may not replace what the store holds.
    await refused(
      { keys: { customer_id: 3 }, request: { sessions: 99_999 } },
      'request 1: "sessions" is read from feature group',
    );
    await refused({ keys: { customer_id: 3 }, request: { sessions: 99_999 } }, 'allowRequestOverride');
    // A join key in the request must not change the lookup.
    await refused(
      { keys: { customer_id: 3 }, request: { customer_id: 4 } },
      'request 1: "customer_id" is an entity key; pass it in "keys", not in "request"',
    );
    await refused(
      { keys: { customer_id: 3 }, request: { churned: true } },
      '"churned" is the view\'s label column',
    );
    await refused(
      { keys: { customer_id: 3 }, request: { plan_x: 1 } },
      `"plan_x" is not a column of feature view ${view}`,
    );
    await refused(
      { keys: { customer_id: 3, region: 'eu' } },
      '"region" is not an entity key of feature view',
    );
    await refused({ keys: { customer_id: 3.5 } }, 'entity key "customer_id" must be an integer');
    await refused(
      { keys: { customer_id: 3 }, request: { ts: 'yesterday' } },
      'request field "ts" must be an ISO-8601 time',
    );
    // The event time is a spine column: a request may set it; the answer is still customer 3's.
    const withTime = await predict({ keys: { customer_id: 3 }, request: { ts: '2026-01-01T00:10:00Z' } });
    expect(withTime.status).toBe(200);
    const p = (b: Record<string, unknown>) =>
      (b.predictions as { probabilities: Record<string, number> }[])[0]!;
    expect(p(withTime.body).probabilities).toEqual(p(baseline.body).probabilities);
  });

  it('API keys have scopes and may be limited to deployments; admin routes need admin; the key cache stays bounded', async () => {
    const as = (k: string) => ({ authorization: `Bearer ${k}` });
    const predictOnly = (await createApiKey(database.db, 'scoped-predict')).key;
    const pushOnly = (await createApiKey(database.db, 'scoped-push', { scopes: ['push'] })).key;
    const elsewhere = (await createApiKey(database.db, 'scoped-other', { deployments: ['some-other'] })).key;
    const admin = (await createApiKey(database.db, 'scoped-admin', { scopes: ['admin'] })).key;
    const predict = (k: string) =>
      post(`/v1/deployments/${name}/predict`, { keys: { customer_id: 1 } }, as(k));
    const push = (k: string) => post('/v1/feature-groups/no_such_group/events', { x: 1 }, as(k));
    expect((await predict(predictOnly)).status).toBe(200);
    expect((await predict(admin)).status).toBe(200);
    const denied = await predict(pushOnly);
    expect(denied.status).toBe(403);
    expect(String(denied.body.error)).toContain('has scope(s) push; this call needs predict');
    const fenced = await predict(elsewhere);
    expect(fenced.status).toBe(403);
    expect(String(fenced.body.error)).toContain(`may call deployment(s) some-other only, not ${name}`);
    expect((await post(`/v2/models/${name}/infer`, { inputs: [] }, as(elsewhere))).status).toBe(403);
    // Push needs push: a predict key is refused before the group is even looked up.
    expect((await push(predictOnly)).status).toBe(403);
    expect((await push(pushOnly)).status).toBe(404);
    // Admin routes.
    const list = await fetch(`${base}/v1/admin/deployments`, { headers: as(admin) });
    expect(list.status).toBe(200);
    expect(((await list.json()) as { name: string }[]).map((d) => d.name)).toContain(name);
    expect((await fetch(`${base}/v1/admin/deployments`, { headers: as(predictOnly) })).status).toBe(403);
    expect((await fetch(`${base}/v1/admin/deployments`)).status).toBe(401);
    const refreshed = await post(`/v1/admin/deployments/${name}/refresh`, {}, as(admin));
    expect(refreshed).toMatchObject({ status: 200, body: { name } });
    await expect(createApiKey(database.db, 'bad', { scopes: ['read'] })).rejects.toThrow(
      'API key scopes must be some of predict, push, labels, features, models, admin; unknown: read',
    );
    // The verifier's cache is an LRU: made-up keys cannot grow it past its bound.
    const verifier = new ApiKeyVerifier(database.db, 30_000, 50);
    expect(await verifier.verify(predictOnly)).toMatchObject({
      client: 'scoped-predict',
      scopes: ['predict'],
    });
    for (let i = 0; i < 200; i++) expect(await verifier.verify(`fti_made_up_${i}`)).toBeNull();
    expect(verifier.size).toBe(50);
    expect(await verifier.verify(admin)).toMatchObject({ scopes: ['admin'], deployments: null });
  });

  it('keeps metric labels bounded: unknown deployments and unauthenticated calls share one label', async () => {
    for (let i = 0; i < 300; i++) {
      const random = `nope-${i}-${Math.random().toString(36).slice(2, 8)}`;
      await post(`/v1/deployments/${random}/predict`, { keys: { customer_id: 1 } }, i % 2 ? {} : undefined);
      if (i % 50 === 0) await post(`/v2/models/${random}/infer`, { inputs: [] }, {});
    }
    expect((await post(`/v1/deployments/${name}/predict`, { keys: { customer_id: 1 } }, {})).status).toBe(
      401,
    );
    const metrics = await (await fetch(`${base}/metrics`)).text();
    const labels = new Set(
      [...metrics.matchAll(/^fti_requests_total\{deployment="([^"]*)"/gm)].map((m) => m[1]!),
    );
    expect([...labels].filter((l) => l.startsWith('nope-'))).toEqual([]);
    // '' is the label of routes that name no deployment (event pushes, admin calls).
    expect(labels).toEqual(new Set([name, '_other', '']));
    // The prediction log's outcomes are exported too (rows written, spilled, dropped; buffered).
    await server.logs!.flush();
    const after = await (await fetch(`${base}/metrics`)).text();
    expect(after).toMatch(/^fti_prediction_log_rows_total\{outcome="written"\} [1-9]/m);
    expect(after).toContain('fti_prediction_log_buffered_rows 0');
  });

  it('upgrades and rolls back under continuous traffic with zero failed requests', async () => {
    let stop = false;
    const seen = new Map<number, number>();
    let failures = 0;
    let total = 0;
    const load = (async () => {
      while (!stop) {
        const r = await post(`/v1/deployments/${name}/predict`, { keys: { customer_id: total % 500 } });
        total++;
        if (r.status !== 200) failures++;
        else {
          const version = (r.body.predictions as unknown as { model: { version: number } }[])[0]!.model
            .version;
          seen.set(version, (seen.get(version) ?? 0) + 1);
        }
      }
    })();
    await new Promise((r) => setTimeout(r, 300));
    await updateDeployment(
      database.db,
      name,
      'upgrade',
      [{ variant: 'main', model, version: 2, weight: 100 }],
      { createdBy: 'test' },
    );
    await waitFor(async () => (await server.runtime.get(name)).version === 2);
    await new Promise((r) => setTimeout(r, 300));
    await rollbackDeployment(database.db, name, { createdBy: 'test' });
    await waitFor(async () => (await server.runtime.get(name)).version === 3);
    await new Promise((r) => setTimeout(r, 300));
    stop = true;
    await load;
    expect(failures).toBe(0);
    expect(total).toBeGreaterThan(50);
    expect(seen.get(1)).toBeGreaterThan(0);
    expect(seen.get(2)).toBeGreaterThan(0);
    const history = await deploymentHistory(database.db, name);
    expect(history.map((h) => [h.version, h.action, h.bindings[0]!.model.version])).toEqual([
      [1, 'create', 1],
      [2, 'upgrade', 2],
      [3, 'rollback', 1],
    ]);
    expect((await getDeployment(database.db, name)).current.version).toBe(3);
  });

  it('splits traffic by weight, sticky per entity, with a shadow variant that is logged but not returned', async () => {
    await updateDeployment(database.db, name, 'split', [
      { variant: 'control', model, version: 1, weight: 70 },
      { variant: 'treatment', model, version: 2, weight: 30 },
      { variant: 'shadow', model, version: 2, weight: 0, shadow: true },
    ]);
    await waitFor(async () => (await server.runtime.get(name)).version === 4);
    const instances = Array.from({ length: 600 }, (_, i) => ({ keys: { customer_id: i } }));
    const first = await post(`/v1/deployments/${name}/predict`, { instances });
    const variants = (first.body.predictions as unknown as { variant: string }[]).map((p) => p.variant);
    const share = variants.filter((v) => v === 'treatment').length / variants.length;
    expect(share).toBeGreaterThan(0.22);
    expect(share).toBeLessThan(0.38);
    expect(variants).not.toContain('shadow');
    const again = await post(`/v1/deployments/${name}/predict`, { instances });
    expect((again.body.predictions as unknown as { variant: string }[]).map((p) => p.variant)).toEqual(
      variants,
    );
    await waitFor(async () => {
      await server.logs!.flush();
      const rows = await database.db
        .select()
        .from(tables.predictionLogs)
        .where(eq(tables.predictionLogs.deployment, name));
      return rows.some((r) => r.shadow && r.variant === 'shadow');
    });
    await expect(
      updateDeployment(database.db, name, 'split', [
        { variant: 'a', model, version: 1, weight: 60 },
        { variant: 'b', model, version: 2, weight: 30 },
      ]),
    ).rejects.toThrow(/add to 90; they must add to 100/);
  });

  it('batch inference writes one window of predictions to S3 and Postgres, replacing on re-run, equal to direct scoring', async () => {
    const window = { start: new Date(Date.UTC(2026, 0, 1, 2)), end: new Date(Date.UTC(2026, 0, 1, 6)) };
    // A worker's scratch folder may not exist yet (regression: mkdtemp failed with ENOENT).
    const fresh = { ...deps, scratchDir: path.join(os.tmpdir(), uniqueName('fti-missing-scratch'), 'deep') };
    const first = await runBatchInference(fresh, { deployment: name, window });
    expect(first.rows).toBe(240);
    expect(first.variant).toBe('control');
    const again = await runBatchInference(deps, { deployment: name, window });
    expect(again.rows).toBe(240);
    const stored = await database.db
      .select()
      .from(tables.predictions)
      .where(eq(tables.predictions.deploymentId, (await getDeployment(database.db, name)).id));
    expect(stored).toHaveLength(240);
    expect(await store.exists(first.outputs.find((o) => o.sink === 's3')!.location)).toBe(true);
    const { matrix, rows } = await getBatchData(deps, {
      featureView: { name: view },
      range: window,
      trainingDatasetVersion: 1,
    });
    const champion = await getModelVersion(database.db, model, 1);
    const session = await loadSession(new Uint8Array(await store.get(champion.artifactKey)));
    const direct = await predictOnnx(session, matrix.X, matrix.rows, matrix.cols);
    await session.release();
    const byCustomer = new Map(
      stored.map((s) => [(s.entity as { customer_id: number }).customer_id, s.score]),
    );
    rows.forEach((r, i) =>
      expect(byCustomer.get(Number(r.customer_id))).toBeCloseTo(direct.probabilities![i * 2 + 1]!, 6),
    );
    await expect(
      runBatchInference(deps, { deployment: name, window: { start: window.end, end: window.start } }),
    ).rejects.toThrow(/is not before end/);

    // An overlapping window (03:00–07:00) rescores 180 of those rows: they are replaced, not added.
    const overlapping = { start: new Date(Date.UTC(2026, 0, 1, 3)), end: new Date(Date.UTC(2026, 0, 1, 7)) };
    expect((await runBatchInference(deps, { deployment: name, window: overlapping })).rows).toBe(240);
    const { rows: counts } = await database.pool.query(
      `SELECT count(*)::int AS n, count(DISTINCT (entity, event_time))::int AS distinct_rows FROM predictions WHERE deployment_id = $1`,
      [(await getDeployment(database.db, name)).id],
    );
    expect(counts[0]).toEqual({ n: 300, distinct_rows: 300 });
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('condition not met in time');
}
