import { ApplicationFailure } from '@temporalio/common';
import {
  commitStaged,
  computeCommitStatistics,
  extractToStaging,
  parseFeaturePipelineSpec,
  parseWindow,
  transformToStaging,
  validateStaged,
  writeCommitOnline,
  type FeaturePipelineSpec,
  type IngestionDeps,
  type NormalizedFeaturePipelineSpec,
} from '../core/featurestore';
import { activityBoundary } from './failures';
import { heartbeat, recordRunFinish, recordRunStart } from './pipeline-runs';

/** A window as carried across Temporal: ISO-8601 strings. */
export interface WindowRef {
  readonly start: string;
  readonly end: string;
}

/** Everything a step needs to find its inputs: references only. */
export interface FeatureRunRef {
  readonly pipeline: NormalizedFeaturePipelineSpec;
  readonly window?: WindowRef;
  /** Row id in `pipeline_runs`. */
  readonly runId: number;
  /** Commit idempotency key: one commit per (pipeline, window). */
  readonly idempotencyKey: string;
  /** S3 prefix for this run's staged files. */
  readonly stagingPrefix: string;
}

/** The feature-pipeline activities (queue `fti-features`). */
export interface FeaturePipelineActivities {
  startFeatureRun(input: { pipeline: FeaturePipelineSpec; window?: WindowRef }): Promise<FeatureRunRef>;
  extractFeatures(run: FeatureRunRef): Promise<{ rawKey: string; rows: number }>;
  transformFeatures(run: FeatureRunRef, rawKey: string): Promise<{ stagedKey: string; rows: number }>;
  validateFeatures(
    run: FeatureRunRef,
    stagedKey: string,
  ): Promise<{ reportId: number | null; summary: string }>;
  commitFeatures(run: FeatureRunRef, stagedKey: string, reportId: number | null): Promise<CommitRef>;
  writeFeaturesOnline(
    run: FeatureRunRef,
    commitId: number,
  ): Promise<{ offered: number; applied: number; skipped: boolean }>;
  computeFeatureStatistics(run: FeatureRunRef, commitId: number): Promise<{ statisticsId: number | null }>;
  finishFeatureRun(
    run: { runId: number; stagingPrefix?: string },
    outcome: { status: 'completed' | 'failed'; result?: unknown; error?: string },
  ): Promise<void>;
}

/** The commit a run produced. */
export interface CommitRef {
  readonly commitId: number;
  readonly instant: string;
  readonly reused: boolean;
  readonly rowsInserted: number;
  readonly rowsUpdated: number;
  readonly rowsDeleted: number;
}

/** Builds the feature-pipeline activities over the worker's adapters. */
export function createFeaturePipelineActivities(deps: IngestionDeps): FeaturePipelineActivities {
  const windowOf = (run: FeatureRunRef) => parseWindow(run.window);
  const groupOf = (run: FeatureRunRef) => ({
    name: run.pipeline.featureGroup.name,
    ...(run.pipeline.featureGroup.version ? { version: run.pipeline.featureGroup.version } : {}),
  });
  return {
    startFeatureRun: (input) =>
      activityBoundary(async () => {
        const pipeline = parseFeaturePipelineSpec(input.pipeline);
        const window = parseWindow(input.window);
        const { id, execution: workflowExecution } = await recordRunStart(deps.db, {
          pipeline: 'features',
          name: pipeline.name,
          window,
          input: {
            featureGroup: pipeline.featureGroup,
            source: pipeline.source.kind,
            operation: pipeline.operation,
          },
        });
        const idempotencyKey = window
          ? `${pipeline.name}:${window.start.toISOString()}:${window.end.toISOString()}`
          : `${pipeline.name}:run:${workflowExecution.workflowId}`;
        return {
          pipeline,
          ...(input.window
            ? { window: { start: window!.start.toISOString(), end: window!.end.toISOString() } }
            : {}),
          runId: id,
          idempotencyKey,
          stagingPrefix: `staging/features/${pipeline.name}/${encodeURIComponent(workflowExecution.workflowId).replace(/%/g, '_')}/${workflowExecution.runId}`,
        };
      }),

    extractFeatures: (run) =>
      activityBoundary(async () => {
        const window = windowOf(run);
        const lookback = run.pipeline.lookbackSeconds * 1000;
        const extractWindow = window
          ? { start: new Date(window.start.getTime() - lookback), end: window.end }
          : undefined;
        const rawKey = `${run.stagingPrefix}/raw.parquet`;
        const { rows } = await extractToStaging(
          deps,
          {
            source: run.pipeline.source,
            ...(extractWindow ? { window: extractWindow } : {}),
            outKey: rawKey,
          },
          heartbeat,
        );
        return { rawKey, rows };
      }),

    transformFeatures: (run, rawKey) =>
      activityBoundary(async () => {
        const stagedKey = `${run.stagingPrefix}/staged.parquet`;
        const window = windowOf(run);
        const { rows } = await transformToStaging(
          deps,
          {
            rawKey,
            featureGroup: groupOf(run),
            ...(run.pipeline.transformation ? { transformation: run.pipeline.transformation } : {}),
            ...(window ? { window } : {}),
            outKey: stagedKey,
            label: `pipeline ${run.pipeline.name} (${run.pipeline.source.kind} source)`,
          },
          heartbeat,
        );
        return { stagedKey, rows };
      }),

    validateFeatures: (run, stagedKey) =>
      activityBoundary(async () => {
        const result = await validateStaged(deps, {
          stagedKey,
          featureGroup: groupOf(run),
          policy: run.pipeline.validation,
          pipelineRunId: run.runId,
        });
        if (result.blocked) {
          throw ApplicationFailure.create({
            message: `validation failed under the strict policy, nothing was written: ${result.summary}. See validation report ${result.reportId} (fti fg reports ${run.pipeline.featureGroup.name}).`,
            type: 'ValidationFailed',
            nonRetryable: true,
            details: [{ reportId: result.reportId }],
          });
        }
        return { reportId: result.reportId, summary: result.summary };
      }),

    commitFeatures: (run, stagedKey, reportId) =>
      activityBoundary(async () => {
        const window = windowOf(run);
        const { commit, reused } = await commitStaged(
          deps,
          {
            stagedKey,
            featureGroup: groupOf(run),
            operation: run.pipeline.operation,
            idempotencyKey: run.idempotencyKey,
            ...(window ? { window } : {}),
            reportId,
            pipelineRunId: run.runId,
          },
          heartbeat,
        );
        return {
          commitId: commit.id,
          instant: commit.instant,
          reused,
          rowsInserted: commit.rowsInserted,
          rowsUpdated: commit.rowsUpdated,
          rowsDeleted: commit.rowsDeleted,
        };
      }),

    writeFeaturesOnline: (run, commitId) =>
      activityBoundary(() => writeCommitOnline(deps, { featureGroup: groupOf(run), commitId }, heartbeat)),

    computeFeatureStatistics: (run, commitId) =>
      activityBoundary(async () => {
        const { statisticsId } = await computeCommitStatistics(deps, {
          featureGroup: groupOf(run),
          commitId,
        });
        return { statisticsId };
      }),

    finishFeatureRun: (run, outcome) =>
      activityBoundary(async () => {
        await recordRunFinish(deps.db, run.runId, outcome);
        // Staged files are scratch: the commit holds its own copy.
        if (run.stagingPrefix) await deps.store.deletePrefix(`${run.stagingPrefix}/`).catch(() => undefined);
      }),
  };
}
