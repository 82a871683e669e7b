import type { DatabaseHandle } from '../../core/db';
import { createFeatureView, type FeatureGroupRecord } from '../../core/featurestore';
import { seededRandom, TrainerRegistry, TrainerThreads, type TrainingDeps } from '../../core/ml';
import type { ObjectStore } from '../../core/storage';
import { commitRows, createGroup, testViewDeps, type ViewTestDeps } from './featureviews';
import { uniqueGroupName } from './featurestore';

/** Feature-view deps plus the built-in trainers. */
export type TrainingTestDeps = ViewTestDeps & TrainingDeps;

/** Adapters for training tests on the real test database and bucket. */
export function testTrainingDeps(database: DatabaseHandle, store: ObjectStore): TrainingTestDeps {
  return {
    ...testViewDeps(database, store),
    trainers: new TrainerRegistry(),
    codeVersion: 'test',
    // Built-in trainers on threads, as workers run them (the thread entry is compiled by the build).
    ...(TrainerThreads.available() ? { trainerThreads: sharedThreads } : {}),
  };
}

const sharedThreads = new TrainerThreads(2);

/**
 * A churn-like problem with a learnable signal: customers (spine, label `churned`) and their
 * activity; churn is likely with few sessions on the free plan. Returns the view name.
 */
export async function createChurnView(
  deps: TrainingTestDeps,
  options: { rows?: number; constantLabel?: boolean; seed?: number } = {},
): Promise<{ view: string; labels: FeatureGroupRecord; activity: FeatureGroupRecord }> {
  const rows = options.rows ?? 1200;
  const random = seededRandom(options.seed ?? 1);
  const labels = await createGroup(deps, {
    prefix: 'churn_labels',
    primaryKey: ['customer_id'],
    eventTime: 'ts',
    features: [
      { name: 'customer_id', type: 'bigint' },
      { name: 'ts', type: 'timestamp' },
      { name: 'segment', type: 'string' },
      { name: 'churned', type: 'bool' },
    ],
  });
  const activity = await createGroup(deps, {
    prefix: 'churn_activity',
    primaryKey: ['customer_id'],
    eventTime: 'ts',
    features: [
      { name: 'customer_id', type: 'bigint' },
      { name: 'ts', type: 'timestamp' },
      { name: 'sessions', type: 'double' },
      { name: 'plan', type: 'string' },
      { name: 'tenure_days', type: 'double' },
    ],
    online: { enabled: true },
  });
  const base = Date.UTC(2026, 0, 1);
  const activityRows: Record<string, unknown>[] = [];
  const labelRows: Record<string, unknown>[] = [];
  for (let i = 0; i < rows; i++) {
    const sessions = Math.floor(random() * 30);
    const plan = random() < 0.5 ? 'free' : 'pro';
    const tenure = Math.floor(random() * 1000);
    activityRows.push({
      customer_id: i,
      ts: new Date(base + i * 60_000),
      sessions,
      plan,
      tenure_days: tenure,
    });
    const risk = (sessions < 10 ? 0.6 : 0.05) + (plan === 'free' ? 0.25 : 0) - tenure / 5000;
    labelRows.push({
      customer_id: i,
      ts: new Date(base + i * 60_000 + 3_600_000),
      segment: i % 3 === 0 ? 'smb' : 'enterprise',
      churned: options.constantLabel ? false : random() < risk,
    });
  }
  await commitRows(deps, activity, activityRows);
  await commitRows(deps, labels, labelRows);
  const view = uniqueGroupName('churn_view');
  await createFeatureView(deps.db, {
    name: view,
    spine: { featureGroup: labels.spec.name, features: ['segment', 'churned'] },
    labels: ['churned'],
    trainingHelperColumns: ['segment'],
    joins: [{ featureGroup: activity.spec.name }],
    transformations: { plan: { kind: 'one_hot' }, tenure_days: { kind: 'standard_scaler' } },
  });
  return { view, labels, activity };
}
