import { sql } from 'drizzle-orm';
import {
  type AnyPgColumn,
  bigint,
  bigserial,
  check,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import { featureViews, trainingDatasets } from './feature-views';
import { pipelineRuns, runStatus } from './runs';

/** A registered model name; versions hang off it. */
export const models = pgTable(
  'models',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    name: text('name').notNull(),
    description: text('description').notNull().default(''),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('models_name_uq').on(t.name),
    check('models_name_identifier', sql`${t.name} ~ '^[a-z][a-z0-9_-]{0,62}$'`),
  ],
);

/** `registered` may be served; `rejected` failed a validation gate and is kept for inspection only. */
export const modelVersionState = pgEnum('model_version_state', ['registered', 'rejected']);

/**
 * An immutable model version: ONNX artifact in S3, signature, metrics and full lineage back to the
 * feature view, the training dataset (and through it the feature-group commits) and the training run.
 * `(model_id, idempotency_key)` is unique so a retried registration never creates a second version.
 */
export const modelVersions = pgTable(
  'model_versions',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    modelId: bigint('model_id', { mode: 'number' })
      .notNull()
      .references(() => models.id, { onDelete: 'restrict' }),
    version: integer('version').notNull(),
    state: modelVersionState('state').notNull().default('registered'),
    trainer: text('trainer').notNull(),
    artifactKey: text('artifact_key').notNull(),
    /** `{ inputs: [{ name, type, shape }], outputs: [...] }` derived from the feature view. */
    signature: jsonb('signature').notNull(),
    inputExample: jsonb('input_example'),
    metrics: jsonb('metrics').notNull().default({}),
    params: jsonb('params').notNull().default({}),
    tags: jsonb('tags').notNull().default({}),
    description: text('description').notNull().default(''),
    featureViewId: bigint('feature_view_id', { mode: 'number' }).references(() => featureViews.id, {
      onDelete: 'restrict',
    }),
    trainingDatasetId: bigint('training_dataset_id', { mode: 'number' }).references(
      () => trainingDatasets.id,
      {
        onDelete: 'restrict',
      },
    ),
    trainingRunId: bigint('training_run_id', { mode: 'number' }).references(
      (): AnyPgColumn => trainingRuns.id,
    ),
    codeVersion: text('code_version'),
    /** Monitoring reference: the prediction profile on the evaluation split (see core/monitoring). */
    referenceProfile: jsonb('reference_profile'),
    /** Where an imported model came from (framework, converter, versions, file hash); null when trained here. */
    provenance: jsonb('provenance'),
    idempotencyKey: text('idempotency_key').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('model_versions_model_version_uq').on(t.modelId, t.version),
    uniqueIndex('model_versions_idempotency_uq').on(t.modelId, t.idempotencyKey),
    check('model_versions_version_positive', sql`${t.version} > 0`),
  ],
);

/** Current holder of each alias (`champion`, `challenger`, …). */
export const modelAliases = pgTable(
  'model_aliases',
  {
    modelId: bigint('model_id', { mode: 'number' })
      .notNull()
      .references(() => models.id, { onDelete: 'cascade' }),
    alias: text('alias').notNull(),
    modelVersionId: bigint('model_version_id', { mode: 'number' })
      .notNull()
      .references(() => modelVersions.id, { onDelete: 'restrict' }),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.modelId, t.alias] })],
);

/** Every alias move: when, from which version, to which, by which run. Append-only. */
export const modelAliasHistory = pgTable(
  'model_alias_history',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    modelId: bigint('model_id', { mode: 'number' })
      .notNull()
      .references(() => models.id, { onDelete: 'cascade' }),
    alias: text('alias').notNull(),
    fromModelVersionId: bigint('from_model_version_id', { mode: 'number' }).references(
      () => modelVersions.id,
    ),
    toModelVersionId: bigint('to_model_version_id', { mode: 'number' }).references(() => modelVersions.id),
    pipelineRunId: bigint('pipeline_run_id', { mode: 'number' }).references(() => pipelineRuns.id),
    changedBy: text('changed_by').notNull().default(''),
    changedAt: timestamp('changed_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('model_alias_history_idx').on(t.modelId, t.alias, t.changedAt)],
);

/** Experiment tracking: one row per training run with its hyperparameters. */
export const trainingRuns = pgTable(
  'training_runs',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    experiment: text('experiment').notNull(),
    trainer: text('trainer').notNull(),
    status: runStatus('status').notNull().default('running'),
    params: jsonb('params').notNull().default({}),
    trainingDatasetId: bigint('training_dataset_id', { mode: 'number' }).references(
      () => trainingDatasets.id,
    ),
    pipelineRunId: bigint('pipeline_run_id', { mode: 'number' }).references(() => pipelineRuns.id),
    idempotencyKey: text('idempotency_key').notNull(),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull().defaultNow(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [uniqueIndex('training_runs_idempotency_uq').on(t.experiment, t.idempotencyKey)],
);

/** Metric values per training run, per step/epoch (step 0 = final). */
export const trainingRunMetrics = pgTable(
  'training_run_metrics',
  {
    trainingRunId: bigint('training_run_id', { mode: 'number' })
      .notNull()
      .references(() => trainingRuns.id, { onDelete: 'cascade' }),
    key: text('key').notNull(),
    step: integer('step').notNull(),
    value: doublePrecision('value').notNull(),
    recordedAt: timestamp('recorded_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.trainingRunId, t.key, t.step] })],
);
