import { openDatabase, runMigrations, type DatabaseHandle } from '../../core/db';
import { runTrainingPipeline } from '../../core/ml';
import { createDeployment, updateDeployment } from '../../core/serving/deployments';
import { createInferenceServer, type InferenceServer } from '../../core/serving/server';
import type { S3ObjectStore } from '../../core/storage';
import { uniqueName } from '../support/ids';
import { startPrivatePostgres, type PrivatePostgres } from '../support/private-postgres';
import { testObjectStore } from '../support/stores';
import { createChurnView, testTrainingDeps } from '../support/training';

interface Answer {
  readonly status: number | 'no answer';
  readonly body: Record<string, unknown>;
  readonly retryAfter: string | null;
  readonly at: number;
  /** How long the answer took (reported, not asserted). */
  readonly ms: number;
}

// The platform's metadata and online store live on a PostgreSQL of this test's own, which it
// restarts; S3 and the model files are the shared test stack's. The shared PostgreSQL is untouched.
describe('PostgreSQL restarted under online traffic', () => {
  let pgServer: PrivatePostgres;
  let database: DatabaseHandle;
  let store: S3ObjectStore;
  let server: InferenceServer;
  let base: string;
  let model: string;
  const name = uniqueName('pg-fault');

  /** One predict request; a request that gets no answer in 8 s counts as hanging. */
  const predict = async (): Promise<Answer> => {
    const sent = Date.now();
    try {
      const response = await fetch(`${base}/v1/deployments/${name}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ keys: { customer_id: 7 } }),
        signal: AbortSignal.timeout(8000),
      });
      return {
        status: response.status,
        body: (await response.json()) as Record<string, unknown>,
        retryAfter: response.headers.get('retry-after'),
        at: Date.now(),
        ms: Date.now() - sent,
      };
    } catch (error) {
      return {
        status: 'no answer',
        body: { error: String(error) },
        retryAfter: null,
        at: Date.now(),
        ms: Date.now() - sent,
      };
    }
  };
  const modelVersionOf = (answer: Answer) =>
    (answer.body.predictions as { model: { version: number } }[] | undefined)?.[0]?.model.version;
  const ready = async () => {
    const response = await fetch(`${base}/health/ready`, { signal: AbortSignal.timeout(8000) });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const waitFor = async <T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await check();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  beforeAll(async () => {
    pgServer = await startPrivatePostgres();
    const url = await pgServer.createDatabase('fti_faults');
    database = await openDatabase({ url });
    await runMigrations(database);
    store = testObjectStore();
    const deps = testTrainingDeps(database, store);
    const { view } = await createChurnView(deps, { rows: 300 });
    model = uniqueName('pgf-model').replace(/-/g, '_');
    const spec = { model, featureView: { name: view } } as const;
    await runTrainingPipeline(
      deps,
      { ...spec, name: 'pgf-v1', alias: 'champion', trainer: { name: 'logistic_regression', params: {} } },
      uniqueName('r'),
    );
    await runTrainingPipeline(
      deps,
      {
        ...spec,
        name: 'pgf-v2',
        trainingDataset: { version: 1 },
        alias: 'challenger',
        trainer: { name: 'logistic_regression', params: { maxIterations: 50 } },
      },
      uniqueName('r'),
    );
    await createDeployment(database.db, {
      name,
      variants: [{ variant: 'main', model, version: 1, weight: 100 }],
      createdBy: 'test',
    });
    // Polling is off (1 h), so a change can only arrive through the LISTEN connection.
    server = await createInferenceServer({
      ...deps,
      pool: database.pool,
      requireApiKey: false,
      pollMs: 3_600_000,
    });
    await server.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(server.app.server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    await server?.close();
    await database?.close();
    await store?.deletePrefix('').catch(() => undefined);
    store?.close();
    await pgServer?.cleanup();
  });

  it('answers 503 while PostgreSQL is down and recovers without a restart; a later deployment change arrives by the re-established LISTEN', async () => {
    const before = await predict();
    expect(before.status).toBe(200);
    expect(modelVersionOf(before)).toBe(1);

    // Traffic runs throughout the outage, one request after another.
    const answers: Answer[] = [];
    let traffic = true;
    const loop = (async () => {
      while (traffic) {
        answers.push(await predict());
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    await new Promise((r) => setTimeout(r, 300));
    const stoppedAt = Date.now();
    await pgServer.stop('fast'); // terminates every session with 57P01, like pg_ctlcluster restart
    await waitFor('a 503 while PostgreSQL is down', async () =>
      answers.some((a) => a.at > stoppedAt && a.status === 503) ? true : undefined,
    );
    const readinessDown = await ready();
    await new Promise((r) => setTimeout(r, 3000));
    await pgServer.start();
    const startedAt = Date.now();
    const recovered = await waitFor('a 200 after PostgreSQL is back', async () =>
      answers.find((a) => a.at > startedAt && a.status === 200),
    );
    await new Promise((r) => setTimeout(r, 500));
    traffic = false;
    await loop;

    const during = answers.filter((a) => a.at > stoppedAt && a.at <= startedAt);
    const statuses = new Set(answers.map((a) => a.status));
    // Every request got an answer, and only "served" or "unavailable, retry" — never a 500 or a hang.
    expect([...statuses].sort()).toEqual([200, 503]);
    expect(during.length).toBeGreaterThan(0);
    const unavailable = answers.find((a) => a.status === 503)!;
    expect(unavailable.retryAfter).toMatch(/^\d+$/);
    expect(unavailable.body).toMatchObject({ unavailable: 'postgres' });
    expect(String(unavailable.body.error)).toContain('retry after');
    expect(readinessDown.status).toBe(503);
    expect(readinessDown.body).toMatchObject({ ready: false, postgres: 'down' });

    // The same process serves again, the same deployment and model version.
    expect(modelVersionOf(recovered)).toBe(1);
    const after = await predict();
    expect(after.status).toBe(200);
    expect(after.body.deploymentVersion).toBe(1);

    // Readiness comes back once the LISTEN connection is re-established.
    const readyAgain = await waitFor('readiness after the restart', async () => {
      const r = await ready();
      return r.status === 200 ? r : undefined;
    });
    expect(readyAgain.body).toMatchObject({ ready: true, postgres: 'up', listener: 'connected' });
    const lastUnavailable = [...answers].reverse().find((a) => a.status === 503)!;
    process.stdout.write(
      `postgres restart under traffic: ${answers.length} requests, ${answers.filter((a) => a.status === 503).length} answered 503; ` +
        `slowest 503 ${Math.max(...answers.filter((a) => a.status === 503).map((a) => a.ms))} ms; ` +
        `down ${startedAt - stoppedAt} ms; last 503 ${lastUnavailable.at - startedAt} ms after the server was back; ` +
        `first 200 ${recovered.at - startedAt} ms after; ready (LISTEN re-established) ${Date.now() - startedAt} ms after\n`,
    );

    // A deployment change made now reaches the server through the new LISTEN connection (polling is off).
    await updateDeployment(database.db, name, 'upgrade', [
      { variant: 'main', model, version: 2, weight: 100 },
    ]);
    const upgraded = await waitFor(
      'the upgrade to arrive by NOTIFY',
      async () => {
        const a = await predict();
        return a.status === 200 && a.body.deploymentVersion === 2 ? a : undefined;
      },
      20_000,
    );
    expect(modelVersionOf(upgraded)).toBe(2);
  });
});
