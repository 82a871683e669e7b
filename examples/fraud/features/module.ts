// The fraud example's feature team module: feature groups, the transformations their pipelines
// run, and the on-demand features the view uses. Workers load it through FTI_FEATURE_MODULES
// (infra/main.sh sets it), so the same definitions run at ingestion, training and serving.
import path from 'node:path';
import {
  defineOnDemandFeature,
  sqlPath,
  sqlTransformation,
  windowAggregation,
  type FeatureGroupDefinition,
  type FeatureViewDefinition,
} from '../../../core';

/** Where the generated raw data lives (the label pipeline joins the chargebacks file); read when a pipeline runs. */
export function fraudDataDir(): string {
  return path.resolve(process.env.FTI_FRAUD_DATA_DIR ?? '.fti/examples/fraud/data');
}

const ts = (name: string) => ({ name, type: 'timestamp' as const });

/** Labelled transactions: the spine. A chargeback (arriving days later) marks a transaction as fraud. */
export const fraudLabels: FeatureGroupDefinition = {
  name: 'fraud_labels',
  description: 'card transactions with their chargeback label (the training spine)',
  primaryKey: ['txn_id'],
  eventTime: 'event_time',
  features: [
    { name: 'txn_id', type: 'string' },
    ts('event_time'),
    { name: 'card_id', type: 'string', nullable: false },
    { name: 'account_id', type: 'string', nullable: false },
    { name: 'merchant_id', type: 'string', nullable: false },
    { name: 'amount', type: 'double' },
    { name: 'category', type: 'string' },
    { name: 'card_type', type: 'string' },
    { name: 'lat', type: 'double' },
    { name: 'lon', type: 'double' },
    { name: 'is_fraud', type: 'bool' },
  ],
  expectations: {
    name: 'labels',
    expectations: [
      { type: 'expect_column_values_to_not_be_null', column: 'amount' },
      { type: 'expect_column_values_to_be_between', column: 'amount', min: 0, max: 100_000 },
    ],
  },
};

/**
 * Per-card trailing-window activity, one row per transaction, stamped 1 ms after it: the state a
 * *later* transaction sees. So a transaction's own amount never leaks into its features, and the
 * online store (updated after each transaction) serves exactly what training saw.
 */
export const fraudCardActivity: FeatureGroupDefinition = {
  name: 'fraud_card_activity',
  description: 'per-card counts and amounts over 10 min / 1 h / 1 day / 7 days, and the last location',
  primaryKey: ['card_id'],
  eventTime: 'event_time',
  features: [
    { name: 'card_id', type: 'string' },
    ts('event_time'),
    { name: 'txn_count_10m', type: 'bigint' },
    { name: 'txn_count_1h', type: 'bigint' },
    { name: 'amount_sum_1h', type: 'double' },
    { name: 'txn_count_1d', type: 'bigint' },
    { name: 'amount_sum_1d', type: 'double' },
    { name: 'txn_count_7d', type: 'bigint' },
    { name: 'amount_mean_7d', type: 'double' },
    { name: 'amount_max_7d', type: 'double' },
    { name: 'last_lat', type: 'double' },
    { name: 'last_lon', type: 'double' },
  ],
  online: { enabled: true, ttlSeconds: 30 * 86_400 },
};

/** Account profile: home location. */
export const fraudAccounts: FeatureGroupDefinition = {
  name: 'fraud_accounts',
  primaryKey: ['account_id'],
  eventTime: 'event_time',
  features: [
    { name: 'account_id', type: 'string' },
    ts('event_time'),
    { name: 'home_city', type: 'string' },
    { name: 'home_lat', type: 'double' },
    { name: 'home_lon', type: 'double' },
  ],
  online: { enabled: true },
};

/** Merchant risk: the category and whether it is one fraudsters favour. */
export const fraudMerchants: FeatureGroupDefinition = {
  name: 'fraud_merchants',
  primaryKey: ['merchant_id'],
  eventTime: 'event_time',
  features: [
    { name: 'merchant_id', type: 'string' },
    ts('event_time'),
    { name: 'merchant_category', type: 'string' },
    { name: 'merchant_city', type: 'string' },
    { name: 'risky_category', type: 'bool' },
  ],
  online: { enabled: true },
};

/**
 * Live card transactions as they happen (the payment switch publishes them): the event stream the
 * streaming pipeline turns into card activity. Validated at the door against this schema.
 */
export const fraudTransactions: FeatureGroupDefinition = {
  name: 'fraud_transactions',
  description: 'live card transactions (events published by the payment switch)',
  primaryKey: ['txn_id'],
  eventTime: 'event_time',
  features: [
    { name: 'txn_id', type: 'string' },
    ts('event_time'),
    { name: 'card_id', type: 'string', nullable: false },
    { name: 'account_id', type: 'string', nullable: false },
    { name: 'merchant_id', type: 'string', nullable: false },
    { name: 'amount', type: 'double', nullable: false },
    { name: 'category', type: 'string' },
    { name: 'card_type', type: 'string' },
    { name: 'lat', type: 'double' },
    { name: 'lon', type: 'double' },
  ],
};

export const featureGroups = [
  fraudLabels,
  fraudCardActivity,
  fraudAccounts,
  fraudMerchants,
  fraudTransactions,
];

/** Transactions + the chargebacks in `file` (under the data folder) → labelled transactions. */
function labelTransformation(file: string) {
  return sqlTransformation(
    (
      input,
    ) => `SELECT t.txn_id, t.event_time, t.card_id, t.account_id, t.merchant_id, t.amount, t.category, t.card_type, t.lat, t.lon,
        coalesce(c.is_fraud, false) AS is_fraud, t._fti_row
      FROM ${input} t LEFT JOIN read_parquet(${sqlPath(path.join(fraudDataDir(), file))}) c USING (txn_id)`,
  );
}

/** The drift scenario's chargebacks reported so far (it rewrites the file as its replay advances). */
export const DRIFT_REPORTED_CHARGEBACKS = path.join('drift', 'chargebacks-reported.parquet');

export const transformations = {
  /** Transactions + chargebacks known so far → labelled transactions. */
  fraud_label: labelTransformation('chargebacks.parquet'),
  /** The same for the drift scenario, with the chargebacks reported by its replay's clock. */
  fraud_label_reported: labelTransformation(DRIFT_REPORTED_CHARGEBACKS),
  /**
   * Trailing windows per card, as of each transaction (inclusive), stamped 1 ms later. One
   * definition for both pipelines: the hourly batch pipeline runs it in DuckDB over files, the
   * streaming pipeline `fraud-card-activity` runs it incrementally over the live transaction stream,
   * with identical results.
   */
  fraud_card_activity: windowAggregation({
    partitionBy: ['card_id'],
    timeColumn: 'event_time',
    timeOffset: '1ms',
    features: [
      { name: 'txn_count_10m', fn: 'count', window: '10m' },
      { name: 'txn_count_1h', fn: 'count', window: '1h' },
      { name: 'amount_sum_1h', fn: 'sum', column: 'amount', window: '1h' },
      { name: 'txn_count_1d', fn: 'count', window: '1d' },
      { name: 'amount_sum_1d', fn: 'sum', column: 'amount', window: '1d' },
      { name: 'txn_count_7d', fn: 'count', window: '7d' },
      { name: 'amount_mean_7d', fn: 'mean', column: 'amount', window: '7d' },
      { name: 'amount_max_7d', fn: 'max', column: 'amount', window: '7d' },
      { name: 'last_lat', fn: 'last', column: 'lat', window: '7d' },
      { name: 'last_lon', fn: 'last', column: 'lon', window: '7d' },
    ],
  }),
  fraud_merchant: sqlTransformation(
    (
      input,
    ) => `SELECT merchant_id, TIMESTAMP '2020-01-01' AS event_time, category AS merchant_category, city AS merchant_city,
        category IN ('electronics', 'jewelry', 'gift_cards') AS risky_category, _fti_row FROM ${input}`,
  ),
  fraud_account: sqlTransformation(
    (input) => `SELECT account_id, event_time, home_city, home_lat, home_lon, _fti_row FROM ${input}`,
  ),
};

function haversineKm(lat1: unknown, lon1: unknown, lat2: unknown, lon2: unknown): number | null {
  if (![lat1, lon1, lat2, lon2].every((v) => typeof v === 'number')) return null;
  const rad = Math.PI / 180;
  const [a1, o1, a2, o2] = [lat1, lon1, lat2, lon2] as number[];
  const h =
    Math.sin(((a2! - a1!) * rad) / 2) ** 2 +
    Math.cos(a1! * rad) * Math.cos(a2! * rad) * Math.sin(((o2! - o1!) * rad) / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.sqrt(h));
}

export const onDemandFeatures = [
  defineOnDemandFeature({
    name: 'distance_km',
    type: 'double',
    inputs: ['lat', 'lon', 'other_lat', 'other_lon'],
    description: 'great-circle distance between the transaction and another location',
    compute: ({ lat, lon, other_lat, other_lon }) => haversineKm(lat, lon, other_lat, other_lon),
  }),
  defineOnDemandFeature({
    name: 'ratio',
    type: 'double',
    inputs: ['value', 'baseline'],
    description: 'value / baseline (null when the baseline is missing or zero)',
    compute: ({ value, baseline }) =>
      typeof value === 'number' && typeof baseline === 'number' && baseline > 0 ? value / baseline : null,
  }),
];

/** The fraud model's feature view: labels joined point in time with card, account and merchant features. */
export const fraudView: FeatureViewDefinition = {
  name: 'fraud',
  description: 'card-fraud detection: transaction, card activity, account and merchant features',
  spine: {
    featureGroup: 'fraud_labels',
    features: [
      'card_id',
      'account_id',
      'merchant_id',
      'amount',
      'category',
      'card_type',
      'lat',
      'lon',
      'is_fraud',
    ],
  },
  joins: [
    { featureGroup: 'fraud_card_activity', prefix: 'card_', lookback: '30d' },
    { featureGroup: 'fraud_accounts', features: ['home_lat', 'home_lon'] },
    { featureGroup: 'fraud_merchants', features: ['risky_category'] },
  ],
  labels: ['is_fraud'],
  // Locations feed the distance features; they are not model inputs themselves.
  inferenceHelperColumns: ['lat', 'lon', 'home_lat', 'home_lon', 'card_last_lat', 'card_last_lon'],
  transformations: {
    amount: { kind: 'log' },
    category: { kind: 'one_hot' },
    card_type: { kind: 'one_hot' },
  },
  onDemand: [
    {
      name: 'distance_from_prev_km',
      function: 'distance_km',
      inputs: { lat: 'lat', lon: 'lon', other_lat: 'card_last_lat', other_lon: 'card_last_lon' },
    },
    {
      name: 'distance_from_home_km',
      function: 'distance_km',
      inputs: { lat: 'lat', lon: 'lon', other_lat: 'home_lat', other_lon: 'home_lon' },
    },
    {
      name: 'amount_to_avg_7d',
      function: 'ratio',
      inputs: { value: 'amount', baseline: 'card_amount_mean_7d' },
    },
  ],
};
