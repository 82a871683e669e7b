import { sql } from 'drizzle-orm';
import {
  type AnyPgColumn,
  bigint,
  bigserial,
  boolean,
  check,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import { featureViews, trainingDatasets } from './feature-views';
import { modelVersions } from './registry';
import { pipelineRuns } from './runs';

/** A named online/batch deployment; `current_version_id` is switched atomically on upgrade/rollback. */
export const deployments = pgTable(
  'deployments',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    name: text('name').notNull(),
    description: text('description').notNull().default(''),
    currentVersionId: bigint('current_version_id', { mode: 'number' }).references(
      (): AnyPgColumn => deploymentVersions.id,
    ),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('deployments_name_uq').on(t.name),
    check('deployments_name_identifier', sql`${t.name} ~ '^[a-z][a-z0-9_-]{0,62}$'`),
  ],
);

/** Every change to a deployment creates a version; the table is the deployment's full history. */
export const deploymentVersions = pgTable(
  'deployment_versions',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    deploymentId: bigint('deployment_id', { mode: 'number' })
      .notNull()
      .references(() => deployments.id, { onDelete: 'cascade' }),
    version: integer('version').notNull(),
    /** create | upgrade | rollback | split */
    action: text('action').notNull(),
    /** `error` or `nulls` when a feature is missing online. */
    missingFeaturePolicy: text('missing_feature_policy').notNull().default('error'),
    settings: jsonb('settings').notNull().default({}),
    pipelineRunId: bigint('pipeline_run_id', { mode: 'number' }).references(() => pipelineRuns.id),
    createdBy: text('created_by').notNull().default(''),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('deployment_versions_uq').on(t.deploymentId, t.version)],
);

/**
 * The bindings (variants) of a deployment version: model version + feature view + training dataset
 * moving together. Foreign keys keep a bound model version or view from being deleted.
 */
export const deploymentBindings = pgTable(
  'deployment_bindings',
  {
    deploymentVersionId: bigint('deployment_version_id', { mode: 'number' })
      .notNull()
      .references(() => deploymentVersions.id, { onDelete: 'cascade' }),
    variant: text('variant').notNull(),
    modelVersionId: bigint('model_version_id', { mode: 'number' })
      .notNull()
      .references(() => modelVersions.id, { onDelete: 'restrict' }),
    featureViewId: bigint('feature_view_id', { mode: 'number' })
      .notNull()
      .references(() => featureViews.id, { onDelete: 'restrict' }),
    trainingDatasetId: bigint('training_dataset_id', { mode: 'number' })
      .notNull()
      .references(() => trainingDatasets.id, { onDelete: 'restrict' }),
    /** Share of traffic, 0–100; shadows get 0 and score alongside. */
    weight: integer('weight').notNull(),
    shadow: boolean('shadow').notNull().default(false),
  },
  (t) => [
    primaryKey({ columns: [t.deploymentVersionId, t.variant] }),
    check('deployment_bindings_weight_range', sql`${t.weight} BETWEEN 0 AND 100`),
  ],
);

/**
 * One batch-inference output per (deployment, window). A re-run replaces the row (and the files it
 * names) instead of adding a second batch.
 */
export const predictionBatches = pgTable(
  'prediction_batches',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    deploymentId: bigint('deployment_id', { mode: 'number' })
      .notNull()
      .references(() => deployments.id, { onDelete: 'restrict' }),
    deploymentVersionId: bigint('deployment_version_id', { mode: 'number' })
      .notNull()
      .references(() => deploymentVersions.id),
    windowStart: timestamp('window_start', { withTimezone: true }).notNull(),
    windowEnd: timestamp('window_end', { withTimezone: true }).notNull(),
    sink: text('sink').notNull(),
    location: text('location').notNull(),
    rows: bigint('rows', { mode: 'number' }).notNull(),
    /** The batch's inputs and predictions profiled against the model's references (core/monitoring). */
    inputProfile: jsonb('input_profile'),
    pipelineRunId: bigint('pipeline_run_id', { mode: 'number' }).references(() => pipelineRuns.id),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('prediction_batches_window_uq').on(t.deploymentId, t.sink, t.windowStart, t.windowEnd)],
);

/** API keys for the inference service; only a SHA-256 hash is stored. */
export const apiKeys = pgTable(
  'api_keys',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    client: text('client').notNull(),
    keyHash: text('key_hash').notNull(),
    /** First characters of the key, so an operator can tell keys apart without the secret. */
    keyPrefix: text('key_prefix').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    /** What the key may do: predict, push (events), labels (ground truth), admin (everything). */
    scopes: text('scopes')
      .array()
      .notNull()
      .default(sql`'{predict}'::text[]`),
    /** Deployments the key may call; null = all. */
    deployments: text('deployments').array(),
  },
  (t) => [uniqueIndex('api_keys_hash_uq').on(t.keyHash)],
);

/**
 * Predictions written by batch inference (the Postgres sink): one row per scored entity. A re-run of
 * a (deployment, window) replaces that window's rows in one transaction.
 *
 * `deployment_id` references `deployments` through statement-level triggers (migration
 * 0017_predictions_statement_reference) instead of a foreign key: the same refusal and cascade, but
 * checked once per statement. A foreign key checks each of a batch's million rows one by one, which
 * was 3 of the 5 seconds of a 1M-row insert. Migration 0018 adds the TRUNCATE cascade and refuses
 * an UPDATE of a referenced id. The cascade assumes READ COMMITTED (the platform's level): a
 * deleter in REPEATABLE READ would not see rows inserted concurrently after its snapshot.
 * `drizzle-kit push` does not create these triggers; use the migrations.
 */
export const predictions = pgTable(
  'predictions',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    deploymentId: bigint('deployment_id', { mode: 'number' }).notNull(),
    deploymentVersion: integer('deployment_version').notNull(),
    variant: text('variant').notNull(),
    modelVersion: integer('model_version').notNull(),
    windowStart: timestamp('window_start', { withTimezone: true }).notNull(),
    windowEnd: timestamp('window_end', { withTimezone: true }).notNull(),
    /** Entity keys (and event time) of the scored row. */
    entity: jsonb('entity').notNull(),
    eventTime: timestamp('event_time', { withTimezone: true }),
    /** Regression output, or the positive-class probability for binary models. */
    score: doublePrecision('score'),
    /** Predicted class (classification). */
    label: text('label'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('predictions_window_idx').on(t.deploymentId, t.windowStart, t.windowEnd),
    // Overlapping windows replace a row by entity and event time.
    index('predictions_event_idx').on(t.deploymentId, t.eventTime),
  ],
);

/**
 * Online request/prediction log: what was asked, the features used (with status), what was
 * answered, by which deployment version and variant. Written asynchronously in batches; the source
 * for monitoring and future training labels.
 */
export const predictionLogs = pgTable(
  'prediction_logs',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    deployment: text('deployment').notNull(),
    deploymentVersion: integer('deployment_version').notNull(),
    variant: text('variant').notNull(),
    modelVersion: integer('model_version').notNull(),
    shadow: boolean('shadow').notNull().default(false),
    requestId: text('request_id').notNull(),
    entity: jsonb('entity').notNull(),
    features: jsonb('features').notNull(),
    prediction: jsonb('prediction').notNull(),
    latencyMs: doublePrecision('latency_ms'),
    /** When the predicted event happened, if the client said (`eventTime`); labels join on it. */
    eventTime: timestamp('event_time', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('prediction_logs_deployment_idx').on(t.deployment, t.createdAt),
    // Retention deletes by age across deployments.
    index('prediction_logs_created_idx').on(t.createdAt),
  ],
);

/**
 * Ground truth that arrives after the prediction (a chargeback days later): entity keys, the
 * event's time and the label, joined to logged predictions by keys and time. A label sent again
 * for the same entity and time replaces the first.
 */
export const predictionLabels = pgTable(
  'prediction_labels',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    deployment: text('deployment').notNull(),
    entity: jsonb('entity').notNull(),
    eventTime: timestamp('event_time', { withTimezone: true }).notNull(),
    label: jsonb('label').notNull(),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('prediction_labels_entity_time_uq').on(t.deployment, t.entity, t.eventTime),
    index('prediction_labels_time_idx').on(t.deployment, t.eventTime),
  ],
);
