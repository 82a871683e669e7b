// A small feature store for the REST API tests (jest) and the Python client tests (pytest, through
// test/support/python-client-fixture.ts): an online customers group with a nullable int, a
// nullable bigint, a double and text; a labels group; a view joining them; a training dataset
// with a train and a test split. Names are unique per call.
import {
  createFeatureView,
  createTrainingData,
  type CommitInfo,
  type FeatureGroupRecord,
  type TrainingDatasetInfo,
} from '../../core/featurestore';
import { commitRows, createGroup, type ViewTestDeps } from './featureviews';
import { uniqueGroupName } from './featurestore';

/** What {@link createRestApiScenario} built. */
export interface RestApiScenario {
  readonly customers: FeatureGroupRecord;
  readonly labels: FeatureGroupRecord;
  readonly customersCommit: CommitInfo;
  readonly view: string;
  readonly dataset: TrainingDatasetInfo;
  /** The customers rows as written (times as ISO strings), by customer_id. */
  readonly customerRows: readonly Record<string, unknown>[];
  /** The spine rows as written: customer_id, ts, churned. */
  readonly labelRows: readonly Record<string, unknown>[];
}

/** Customers 1…`count` (default 48): age null for every 4th, visits null for every 5th. */
export async function createRestApiScenario(
  deps: ViewTestDeps,
  options: { prefix?: string; count?: number } = {},
): Promise<RestApiScenario> {
  const prefix = options.prefix ?? 'rest';
  const count = options.count ?? 48;
  const customers = await createGroup(deps, {
    prefix: `${prefix}_customers`,
    description: 'customers for the REST API tests',
    primaryKey: ['customer_id'],
    eventTime: 'updated_at',
    features: [
      { name: 'customer_id', type: 'bigint' },
      { name: 'updated_at', type: 'timestamp' },
      { name: 'age', type: 'int', description: 'years; unknown for some customers' },
      { name: 'visits', type: 'bigint' },
      { name: 'score', type: 'double' },
      { name: 'plan', type: 'string' },
    ],
    online: { enabled: true },
  });
  const labels = await createGroup(deps, {
    prefix: `${prefix}_labels`,
    primaryKey: ['customer_id'],
    eventTime: 'ts',
    features: [
      { name: 'customer_id', type: 'bigint' },
      { name: 'ts', type: 'timestamp' },
      { name: 'churned', type: 'bool' },
    ],
  });
  const base = Date.UTC(2026, 0, 1);
  const customerRows: Record<string, unknown>[] = [];
  const labelRows: Record<string, unknown>[] = [];
  for (let i = 1; i <= count; i++) {
    customerRows.push({
      customer_id: i,
      updated_at: new Date(base + i * 3_600_000 + 123).toISOString(),
      age: i % 4 === 1 ? null : 20 + i,
      visits: i % 5 === 0 ? null : 1_000_000_000_000 + i,
      score: i / 8,
      plan: i % 3 === 0 ? 'pro' : 'free',
    });
    labelRows.push({
      customer_id: i,
      ts: new Date(base + i * 3_600_000 + 1_800_000).toISOString(),
      churned: i % 3 !== 0 && i % 2 === 0,
    });
  }
  const asDates = (rows: Record<string, unknown>[], column: string) =>
    rows.map((r) => ({ ...r, [column]: new Date(r[column] as string) }));
  const customersCommit = await commitRows(deps, customers, asDates(customerRows, 'updated_at'));
  await commitRows(deps, labels, asDates(labelRows, 'ts'));
  const view = uniqueGroupName(`${prefix}_churn`);
  await createFeatureView(deps.db, {
    name: view,
    description: 'churn of customers',
    spine: { featureGroup: labels.spec.name, features: ['churned'] },
    labels: ['churned'],
    joins: [{ featureGroup: customers.spec.name, features: ['age', 'visits', 'score', 'plan'] }],
    transformations: { plan: { kind: 'one_hot' }, score: { kind: 'standard_scaler' } },
  });
  const dataset = await createTrainingData(deps, {
    featureView: { name: view },
    splits: { kind: 'random', fractions: { train: 0.75, test: 0.25 }, seed: 7 },
    description: 'all customers',
  });
  return { customers, labels, customersCommit, view, dataset, customerRows, labelRows };
}
