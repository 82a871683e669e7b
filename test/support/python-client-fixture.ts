#!/usr/bin/env node
// The Python client tests' platform (clients/python/tests/conftest.py starts it once per session):
// on the test database and bucket of the running stack, it builds the REST API scenario
// (rest-api-scenario.ts), trains a small model and deploys it, creates one API key per scope,
// starts the online service on a free port and an ingestion streaming consumer for the customers
// group (pushed events become online rows), then prints one JSON line saying what it made. It
// stops everything and removes its objects and streams when stdin closes or on SIGTERM.
//
// Compiled by `npm run build` (tsconfig.build.json lists it) to
// dist/test/support/python-client-fixture.js; run it with node from the repository root.
import { jetstreamManager } from '@nats-io/jetstream';
import { ENV, loadConfig, testSettingsFor } from '../../core/config';
import { openDatabase } from '../../core/db';
import { describeError } from '../../core/errors';
import { runTrainingPipeline, TrainerRegistry, type TrainingDeps } from '../../core/ml';
import { createApiKey, createDeployment, createInferenceServer } from '../../core/serving';
import { objectStoreFromConfig } from '../../core/storage';
import {
  connectJetStream,
  deadLetterNames,
  ensureEventStream,
  eventStreamNames,
  parseStreamPipelineSpec,
  runStreamPartition,
} from '../../core/streaming';
import { testViewDeps, type ViewTestDeps } from './featureviews';
import { uniqueGroupName } from './featurestore';
import { uniqueName } from './ids';
import { createRestApiScenario } from './rest-api-scenario';

async function main(): Promise<void> {
  // The integration tests' isolation (test/support/integration-env.ts): never the main data.
  const test = testSettingsFor(loadConfig());
  process.env[ENV.databaseUrl] = test.databaseUrl;
  process.env[ENV.s3Bucket] = test.s3Bucket;
  process.env[ENV.temporalNamespace] = test.temporalNamespace;
  const config = loadConfig();
  const database = await openDatabase({ url: config.databaseUrl });
  const store = objectStoreFromConfig(config, uniqueName('pyclient'));
  const deps: ViewTestDeps & TrainingDeps = {
    ...testViewDeps(database, store),
    trainers: new TrainerRegistry(),
    codeVersion: 'pyclient-fixture',
  };
  const scenario = await createRestApiScenario(deps, { prefix: 'pyclient' });

  const model = uniqueGroupName('pyclient_model');
  await runTrainingPipeline(
    deps,
    {
      name: 'pyclient',
      model,
      featureView: { name: scenario.view },
      trainingDataset: { version: scenario.dataset.version },
      trainer: { name: 'gbdt', params: { numTrees: 5, maxDepth: 2 } },
      alias: 'champion',
    },
    uniqueName('pyclient-run'),
  );
  const deployment = uniqueName('pyclient');
  await createDeployment(database.db, {
    name: deployment,
    variants: [{ variant: 'main', model, version: 'champion', weight: 100 }],
    createdBy: 'python client fixture',
  });

  const keys: Record<string, string> = {};
  for (const scope of ['features', 'models', 'predict', 'push', 'labels', 'admin'])
    keys[scope] = (await createApiKey(database.db, `pyclient-${scope}`, { scopes: [scope] })).key;

  const server = await createInferenceServer({
    ...deps,
    pool: database.pool,
    watch: false,
    logPredictions: false,
  });
  await server.app.listen({ port: 0, host: '127.0.0.1' });
  const port = (server.app.server.address() as { port: number }).port;

  // Ingestion (no transformation): events pushed to the customers group become its online rows.
  const group = { name: scenario.customers.spec.name, version: scenario.customers.spec.version };
  const spec = parseStreamPipelineSpec({
    name: uniqueName('pyclient-ingest'),
    source: group,
    featureGroup: group,
    commitIntervalSeconds: 1,
    maxBatchWaitMs: 100,
  });
  const nc = await connectJetStream({ url: config.natsUrl, name: 'pyclient-fixture' });
  const streams = eventStreamNames(group.name, group.version);
  await ensureEventStream(nc, streams.stream, streams.subject);
  const controller = new AbortController();
  const consumer = runStreamPartition(
    { ...deps, natsUrl: config.natsUrl },
    { spec, partition: 0, runForMs: 30 * 60_000, signal: controller.signal },
  ).catch((error: unknown) => process.stderr.write(`pyclient fixture: consumer: ${describeError(error)}\n`));

  process.stdout.write(
    `${JSON.stringify({
      url: `http://127.0.0.1:${port}`,
      keys,
      featureView: scenario.view,
      featureGroups: { customers: scenario.customers.spec.name, labels: scenario.labels.spec.name },
      trainingDataset: scenario.dataset.version,
      rowCounts: scenario.dataset.rowCounts,
      customers: scenario.customerRows,
      labels: scenario.labelRows,
      deployment,
      model,
    })}\n`,
  );

  await new Promise<void>((resolve) => {
    process.stdin.on('end', resolve).on('close', resolve).resume();
    process.once('SIGTERM', resolve).once('SIGINT', resolve);
  });
  controller.abort();
  await consumer;
  await server.close();
  const jsm = await jetstreamManager(nc);
  for (const stream of [streams.stream, deadLetterNames(spec.name).stream])
    await jsm.streams.delete(stream).catch(() => undefined);
  await nc.close();
  await store.deletePrefix('');
  store.close();
  await database.close();
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`pyclient fixture failed: ${describeError(error)}\n`);
    process.exit(1);
  },
);
