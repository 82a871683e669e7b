import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DatabaseHandle } from '../../core/db';
import { OnDemandRegistry, TransformationRegistry } from '../../core/featurestore';
import { TrainerRegistry } from '../../core/ml';
import { getModelVersion } from '../../core/registry';
import { createInferenceServer, getDeployment, type InferenceServer } from '../../core/serving';
import type { S3ObjectStore } from '../../core/storage';
import { DRIFT_NAMES, runDriftScenario, type DriftScenarioResult } from '../../examples/fraud/drift-scenario';
import * as fraudModule from '../../examples/fraud/features/module';
import { createFreshDatabase } from '../support/fresh-database';
import { uniqueName } from '../support/ids';
import { testIngestionDeps } from '../support/ingestion';
import { testObjectStore } from '../support/stores';
import {
  connectTestTemporal,
  createTestWorkers,
  rootMessage,
  withWorkers,
  type TemporalTestContext,
} from '../support/temporal';

// Example 1 with drift at a small scale, on the real stack: the three teams' queues, the service, a
// signed webhook receiver. Replays 9 days after the baseline; the new tactics start on the third.
describe('example 1 with drift: detected, alerted, retrained, promoted on live labels', () => {
  let temporal: TemporalTestContext;
  let database: DatabaseHandle & { drop: () => Promise<void> };
  let store: S3ObjectStore;
  let server: InferenceServer;
  let result: DriftScenarioResult;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-fraud-drift-'));
  const queues = {
    features: uniqueName('drift-features'),
    training: uniqueName('drift-training'),
    inference: uniqueName('drift-inference'),
  };

  beforeAll(async () => {
    process.env.FTI_FRAUD_DATA_DIR = dataDir;
    temporal = await connectTestTemporal();
    // Fixed names (fraud_drift_*): a database of its own keeps runs apart.
    database = await createFreshDatabase();
    store = testObjectStore();
    const transformations = new TransformationRegistry();
    for (const [name, t] of Object.entries(fraudModule.transformations)) transformations.register(name, t);
    const onDemand = new OnDemandRegistry(fraudModule.onDemandFeatures);
    const ingestion = testIngestionDeps(database, store, transformations);
    const shared = { ...ingestion, onDemand };
    const workers = await createTestWorkers(temporal, Object.values(queues), {
      db: database.db,
      store,
      ingestion,
      training: { ...shared, trainers: new TrainerRegistry(), codeVersion: 'test' },
      inference: { ...shared, scoringThreads: 1 },
    });
    server = await createInferenceServer({ ...shared, pool: database.pool });
    const serviceUrl = await server.app.listen({ port: 0, host: '127.0.0.1' });
    result = await withWorkers(workers, () =>
      runDriftScenario({
        client: temporal.client,
        db: database.db,
        dataDir,
        serviceUrl,
        queues,
        cards: 250,
        days: 40,
        replayDays: 9,
        quietDays: 2,
        labelDelayDays: 3,
        championParams: { numTrees: 40, maxDepth: 4, learningRate: 0.2 },
        challengerParams: { numTrees: 40, maxDepth: 4, learningRate: 0.2 },
        minLabels: 300,
        // The small champion catches crypto cash-outs of 150–900 by their size alone: the new
        // fraud is made less conspicuous at this scale, and more frequent to give enough labels.
        drift: { dailyCompromisedShare: 0.03, fraudAmount: [60, 300] },
        // The small champion, on a day-old card activity, also misses some old-style fraud, so recall
        // alone would alert on the quiet days: at this scale the rule and the comparison use ROC AUC.
        performanceRule: { metric: 'roc_auc', below: 0.8 },
        promotionMetric: 'roc_auc',
        stepTimeoutMs: 240_000,
        log: (line) => fs.appendFileSync(path.join(dataDir, 'run.log'), `${line}\n`),
      }),
    ).catch((error: unknown) => {
      throw new Error(`drift scenario failed: ${rootMessage(error)}; log: ${path.join(dataDir, 'run.log')}`);
    });
  }, 900_000);
  afterAll(async () => {
    await server?.close();
    await store.deletePrefix('');
    store.close();
    await database.drop();
    await temporal.close();
    delete process.env.FTI_FRAUD_DATA_DIR;
  });

  it('finds the drift in the first window of the new tactics, not before, and the signed webhook receives it', () => {
    const watched = (d: (typeof result.days)[number]) =>
      d.driftedColumns.filter((c) => /feature (amount|category|distance_from_home_km)$/.test(c));
    const quiet = result.days.filter((d) => !d.drifted);
    expect(quiet).toHaveLength(2);
    for (const d of quiet) {
      expect(d.crypto).toBe(0);
      expect(watched(d)).toEqual([]);
    }
    const first = result.days.find((d) => d.drifted)!;
    expect(first.day).toBe(result.driftStart.slice(0, 10));
    expect(first.crypto).toBeGreaterThan(0);
    expect(watched(first)).toEqual(expect.arrayContaining(['main feature category']));
    expect(first.alerts.join('\n')).toContain(DRIFT_NAMES.driftRule);
    const drift = result.received.filter((r) => r.kind === 'drift');
    expect(drift.length).toBeGreaterThanOrEqual(1);
    expect(result.received.every((r) => r.signatureValid)).toBe(true);
  });

  it('delayed labels show the drop: realized ROC AUC of drifted days below 0.8 and the quiet days, and the performance rule fires', () => {
    const realized = result.days
      .flatMap((d) => d.realized.filter((r) => r.segment === 'main' && r.rocAuc !== null))
      .map((r) => ({ day: r.day, auc: r.rocAuc! }));
    const before = realized.filter((r) => r.day < result.driftStart.slice(0, 10));
    const after = realized.filter((r) => r.day >= result.driftStart.slice(0, 10));
    expect(after.length).toBeGreaterThan(0);
    if (before.length)
      expect(Math.min(...after.map((r) => r.auc))).toBeLessThan(Math.max(...before.map((r) => r.auc)));
    expect(Math.min(...after.map((r) => r.auc))).toBeLessThan(0.8);
    expect(result.received.some((r) => r.kind === 'performance' && r.signatureValid)).toBe(true);
  });

  it('the alert starts retraining; the challenger runs in shadow, wins on live labels, is promoted and serves', async () => {
    expect(result.retraining.map((s) => s.decision).filter((d) => d !== 'waiting')).toEqual([
      'triggered',
      'trained',
      'challenger_deployed',
      'promoted',
    ]);
    expect(result.decision).toBe('promoted');
    expect(result.comparison!.interval[0]).toBeGreaterThan(0);
    expect(result.comparison!.challenger).toBeGreaterThan(result.comparison!.champion);
    const promoted = result.retraining.find((s) => s.decision === 'promoted')!.modelVersion!;
    expect(promoted).toBeGreaterThan(result.baseline.version);
    const deployment = await getDeployment(database.db, DRIFT_NAMES.deployment);
    expect(deployment.current.bindings.map((b) => [b.variant, b.model.version, b.weight])).toEqual([
      ['main', promoted, 100],
    ]);
    expect((await getModelVersion(database.db, DRIFT_NAMES.model, 'champion')).version).toBe(promoted);
    expect(result.timeline.join('\n')).toMatch(/promoted v\d+ — challenger roc_auc ahead by/);
  });
});
