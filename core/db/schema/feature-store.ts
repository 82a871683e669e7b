import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  check,
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
import { pipelineRuns } from './runs';

/**
 * A feature group version: schema and settings. A breaking schema change creates a new row with the
 * next version; appending nullable features updates `features` in place.
 */
export const featureGroups = pgTable(
  'feature_groups',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    name: text('name').notNull(),
    version: integer('version').notNull(),
    description: text('description').notNull().default(''),
    primaryKey: text('primary_key').array().notNull(),
    eventTimeColumn: text('event_time_column').notNull(),
    /** Ordered list of `{ name, type, nullable, description }`. */
    features: jsonb('features').notNull(),
    onlineEnabled: boolean('online_enabled').notNull().default(false),
    /** Values older than this are served flagged `outside_ttl` by the online store. */
    onlineTtlSeconds: integer('online_ttl_seconds'),
    expectationSuite: jsonb('expectation_suite'),
    statisticsConfig: jsonb('statistics_config').notNull().default({}),
    /** Commits older than this many days may be cleaned (never the latest snapshot's files). */
    retentionDays: integer('retention_days'),
    tags: jsonb('tags').notNull().default({}),
    /** External groups: `{ kind: 'postgres', table, urlEnv }` or `{ kind: 'parquet', prefix }`; read in place. */
    external: jsonb('external'),
    /** Offline layout: `{ period: 'day' | …, keyBuckets: n }`; null: one file per commit. Fixed per version. */
    partitioning: jsonb('partitioning'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('feature_groups_name_version_uq').on(t.name, t.version),
    check('feature_groups_version_positive', sql`${t.version} > 0`),
    check('feature_groups_name_identifier', sql`${t.name} ~ '^[a-z][a-z0-9_]{0,62}$'`),
  ],
);

/** Commit states, as on a Hudi timeline: only `completed` commits are visible to readers. */
export const commitState = pgEnum('commit_state', ['requested', 'inflight', 'completed', 'aborted']);

/** Write operations on the offline table. */
export const commitOperation = pgEnum('commit_operation', [
  'insert',
  'upsert',
  'delete',
  'overwrite',
  'compaction',
  /** A read of an external group's source, recorded for lineage: no files, a fingerprint. */
  'external',
]);

/**
 * The offline table's timeline. Parquet files are written under a commit-specific prefix first; the
 * commit becomes visible when this row turns `completed` in one transaction.
 * `(feature_group_id, idempotency_key)` is unique, so a retried or re-run window finds its commit
 * instead of making a second one.
 */
export const featureGroupCommits = pgTable(
  'feature_group_commits',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    featureGroupId: bigint('feature_group_id', { mode: 'number' })
      .notNull()
      .references(() => featureGroups.id, { onDelete: 'restrict' }),
    /** Monotonic instant, e.g. 20261125181500123 (UTC, ms), ordering the timeline. */
    instant: text('instant').notNull(),
    state: commitState('state').notNull().default('requested'),
    /**
     * Position on the timeline, assigned when the commit completes (under a lock on the group), so
     * timeline order is completion order and later commits win record-key conflicts.
     */
    sequence: bigint('sequence', { mode: 'number' }),
    operation: commitOperation('operation').notNull(),
    /** `[{ key, rows, bytes }]` — object keys of the Parquet files this commit adds. */
    files: jsonb('files').notNull().default([]),
    /** Keys of files this commit supersedes (overwrite, compaction). */
    replacedFiles: jsonb('replaced_files').notNull().default([]),
    rowsInserted: bigint('rows_inserted', { mode: 'number' }).notNull().default(0),
    rowsUpdated: bigint('rows_updated', { mode: 'number' }).notNull().default(0),
    rowsDeleted: bigint('rows_deleted', { mode: 'number' }).notNull().default(0),
    idempotencyKey: text('idempotency_key').notNull(),
    /**
     * Fencing token: bumped each time an attempt takes the commit over (a retry, or the cleaner
     * aborting a writer that stopped heartbeating). Completion and file deletion check it, so a stale
     * attempt can neither complete the commit nor touch the live attempt's files.
     */
    attempt: integer('attempt').notNull().default(0),
    /** Last sign of life of the attempt that holds the commit; the abandoned-commit cleaner uses it. */
    heartbeatAt: timestamp('heartbeat_at', { withTimezone: true }),
    /** Order-independent hash of the rows written, so a re-run can tell whether its source changed. */
    contentHash: text('content_hash'),
    /** The commit this one supersedes (a window re-run with `--rerun`). */
    supersedesCommitId: bigint('supersedes_commit_id', { mode: 'number' }),
    pipelineRunId: bigint('pipeline_run_id', { mode: 'number' }).references(() => pipelineRuns.id),
    windowStart: timestamp('window_start', { withTimezone: true }),
    windowEnd: timestamp('window_end', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    completedAt: timestamp('completed_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('fg_commits_idempotency_uq').on(t.featureGroupId, t.idempotencyKey),
    uniqueIndex('fg_commits_instant_uq').on(t.featureGroupId, t.instant),
    uniqueIndex('fg_commits_sequence_uq').on(t.featureGroupId, t.sequence),
    index('fg_commits_state_idx').on(t.featureGroupId, t.state, t.instant),
  ],
);

/**
 * The files of each feature group's latest snapshot, kept in step with the timeline by the commit
 * transaction (files added, replaced files removed). Writers and head reads use it instead of
 * replaying the whole timeline, so their cost does not grow with the number of commits; time travel
 * still replays `feature_group_commits`.
 */
export const featureGroupLiveFiles = pgTable(
  'feature_group_live_files',
  {
    featureGroupId: bigint('feature_group_id', { mode: 'number' })
      .notNull()
      .references(() => featureGroups.id, { onDelete: 'restrict' }),
    key: text('key').notNull(),
    commitId: bigint('commit_id', { mode: 'number' })
      .notNull()
      .references(() => featureGroupCommits.id),
    /** Data sequence: the higher one wins a record-key conflict. */
    dataSequence: bigint('data_sequence', { mode: 'number' }).notNull(),
    rows: bigint('rows', { mode: 'number' }).notNull(),
    bytes: bigint('bytes', { mode: 'number' }).notNull(),
    minEventTimeUs: bigint('min_event_time_us', { mode: 'number' }),
    maxEventTimeUs: bigint('max_event_time_us', { mode: 'number' }),
    /**
     * The partition the file belongs to (`period=2026-01-05/bucket=3`) when its group is partitioned:
     * every version of a record key lies in one partition, so compaction merges within a partition
     * and reads skip partitions they do not need. Null for unpartitioned groups and older files.
     */
    partition: text('partition'),
  },
  (t) => [primaryKey({ columns: [t.featureGroupId, t.key] })],
);

/** Great-Expectations-shaped validation results, kept for every ingestion attempt (passed or not). */
export const validationReports = pgTable(
  'validation_reports',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    featureGroupId: bigint('feature_group_id', { mode: 'number' })
      .notNull()
      .references(() => featureGroups.id, { onDelete: 'restrict' }),
    /** Null when validation failed under the `strict` policy and nothing was committed. */
    commitId: bigint('commit_id', { mode: 'number' }).references(() => featureGroupCommits.id),
    success: boolean('success').notNull(),
    ingestionPolicy: text('ingestion_policy').notNull(),
    report: jsonb('report').notNull(),
    pipelineRunId: bigint('pipeline_run_id', { mode: 'number' }).references(() => pipelineRuns.id),
    /** One report per (group, key): a retried ingestion step replaces its report instead of adding one. */
    idempotencyKey: text('idempotency_key'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('validation_reports_fg_idx').on(t.featureGroupId, t.createdAt),
    uniqueIndex('validation_reports_idempotency_uq').on(t.featureGroupId, t.idempotencyKey),
  ],
);

/** Descriptive statistics per feature, computed for a commit or a training dataset. */
export const featureStatistics = pgTable(
  'feature_statistics',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    featureGroupId: bigint('feature_group_id', { mode: 'number' }).references(() => featureGroups.id, {
      onDelete: 'restrict',
    }),
    commitId: bigint('commit_id', { mode: 'number' }).references(() => featureGroupCommits.id),
    trainingDatasetId: bigint('training_dataset_id', { mode: 'number' }),
    /** `{ [feature]: { count, nulls, min, max, mean, stddev, distinct, quantiles, histogram } }` */
    statistics: jsonb('statistics').notNull(),
    computedAt: timestamp('computed_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('feature_statistics_commit_uq').on(t.commitId),
    check(
      'feature_statistics_owner',
      sql`(${t.commitId} IS NOT NULL AND ${t.featureGroupId} IS NOT NULL) OR ${t.trainingDatasetId} IS NOT NULL`,
    ),
  ],
);
