import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  check,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import { featureGroups } from './feature-store';
import { pipelineRuns } from './runs';

/**
 * A feature view version: the query (spine + joins, selected features, prefixes, filters), label,
 * helper columns and declared model-dependent transformations.
 */
export const featureViews = pgTable(
  'feature_views',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    name: text('name').notNull(),
    version: integer('version').notNull(),
    description: text('description').notNull().default(''),
    query: jsonb('query').notNull(),
    labels: text('labels')
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    inferenceHelperColumns: text('inference_helper_columns')
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    trainingHelperColumns: text('training_helper_columns')
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    /** `{ [feature]: { kind, options } }`, fitted per training dataset. */
    transformations: jsonb('transformations').notNull().default({}),
    /** Names of on-demand feature functions and their inputs. */
    onDemandFeatures: jsonb('on_demand_features').notNull().default([]),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('feature_views_name_version_uq').on(t.name, t.version),
    check('feature_views_version_positive', sql`${t.version} > 0`),
    check('feature_views_name_identifier', sql`${t.name} ~ '^[a-z][a-z0-9_]{0,62}$'`),
  ],
);

/**
 * The exact feature-group versions a view reads. The foreign key keeps a feature group from being
 * deleted while a view depends on it.
 */
export const featureViewSources = pgTable(
  'feature_view_sources',
  {
    featureViewId: bigint('feature_view_id', { mode: 'number' })
      .notNull()
      .references(() => featureViews.id, { onDelete: 'cascade' }),
    featureGroupId: bigint('feature_group_id', { mode: 'number' })
      .notNull()
      .references(() => featureGroups.id, { onDelete: 'restrict' }),
    /** `spine` for the label/spine group, `join` for joined groups. */
    role: text('role').notNull(),
    position: integer('position').notNull(),
  },
  (t) => [primaryKey({ columns: [t.featureViewId, t.position] })],
);

/** Training dataset materialization state. */
export const datasetState = pgEnum('dataset_state', ['creating', 'ready', 'failed']);

/**
 * A versioned, reproducible training dataset of a feature view: the time range, split definition and
 * seed, the exact commit of every feature group read, the fitted transformation parameters, and the
 * S3 prefix of its Parquet files. Recreating a version from these fields yields identical content.
 */
export const trainingDatasets = pgTable(
  'training_datasets',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    featureViewId: bigint('feature_view_id', { mode: 'number' })
      .notNull()
      .references(() => featureViews.id, { onDelete: 'restrict' }),
    version: integer('version').notNull(),
    description: text('description').notNull().default(''),
    state: datasetState('state').notNull().default('creating'),
    startTime: timestamp('start_time', { withTimezone: true }),
    endTime: timestamp('end_time', { withTimezone: true }),
    /** `{ kind: 'random', fractions, seed } | { kind: 'time', ranges }` */
    splits: jsonb('splits').notNull(),
    seed: integer('seed'),
    /** `{ [featureGroupId]: commitId }` — the snapshot each group was read at. */
    featureGroupCommits: jsonb('feature_group_commits').notNull(),
    /** The generated SQL, for inspection. */
    query: text('query').notNull().default(''),
    rowCounts: jsonb('row_counts').notNull().default({}),
    transformationParams: jsonb('transformation_params').notNull().default({}),
    /** Per split: column statistics of the untransformed data. */
    statistics: jsonb('statistics').notNull().default({}),
    /** Monitoring reference of the train split: `{ features, modelInputs }` profiles (see core/monitoring). */
    referenceProfile: jsonb('reference_profile'),
    storagePrefix: text('storage_prefix').notNull(),
    idempotencyKey: text('idempotency_key').notNull(),
    pipelineRunId: bigint('pipeline_run_id', { mode: 'number' }).references(() => pipelineRuns.id),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('training_datasets_view_version_uq').on(t.featureViewId, t.version),
    uniqueIndex('training_datasets_idempotency_uq').on(t.featureViewId, t.idempotencyKey),
    check(
      'training_datasets_range_ordered',
      sql`${t.startTime} IS NULL OR ${t.endTime} IS NULL OR ${t.startTime} < ${t.endTime}`,
    ),
  ],
);
