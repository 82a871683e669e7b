import { bigserial, jsonb, pgEnum, pgTable, text, timestamp, uniqueIndex, index } from 'drizzle-orm/pg-core';

/** Lifecycle of a pipeline run as the platform records it (Temporal keeps the authoritative history). */
export const runStatus = pgEnum('run_status', ['running', 'completed', 'failed', 'cancelled']);

/** Which of the three pipelines (or the wiring check) a run belongs to. */
export const pipelineKind = pgEnum('pipeline_kind', ['features', 'training', 'inference', 'platform']);

/**
 * One row per workflow run that produced something. Commits, datasets, model versions and prediction
 * batches point here, so lineage always reaches the Temporal run that made them.
 */
export const pipelineRuns = pgTable(
  'pipeline_runs',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    pipeline: pipelineKind('pipeline').notNull(),
    /** Name of the pipeline definition (e.g. a feature pipeline name). */
    name: text('name').notNull(),
    workflowId: text('workflow_id').notNull(),
    runId: text('run_id').notNull(),
    status: runStatus('status').notNull().default('running'),
    windowStart: timestamp('window_start', { withTimezone: true }),
    windowEnd: timestamp('window_end', { withTimezone: true }),
    /** References only (ids, S3 keys), never data. */
    input: jsonb('input').notNull().default({}),
    result: jsonb('result'),
    error: text('error'),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull().defaultNow(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('pipeline_runs_workflow_run_uq').on(t.workflowId, t.runId),
    index('pipeline_runs_pipeline_name_idx').on(t.pipeline, t.name, t.startedAt),
  ],
);

/**
 * Marks written by the `platformCheck` workflow: one per (workflow, task queue), proving each
 * queue's worker reached PostgreSQL and the object store.
 */
export const platformChecks = pgTable(
  'platform_checks',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    workflowId: text('workflow_id').notNull(),
    taskQueue: text('task_queue').notNull(),
    objectKey: text('object_key').notNull(),
    checkedAt: timestamp('checked_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('platform_checks_workflow_queue_uq').on(t.workflowId, t.taskQueue)],
);
