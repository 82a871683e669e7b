import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import {
  BatchRefused,
  commitStaged,
  extractToCommit,
  computeCommitStatistics,
  dropStaged,
  extractToStaging,
  extractTransformToStaging,
  parseFeaturePipelineSpec,
  parseWindow,
  reportKey,
  planRerun,
  sameContent,
  getFeatureGroup,
  transformToStaging,
  windowCommits,
  windowKey,
  validateStaged,
  writeCommitOnline,
  type FeaturePipelineSpec,
  type IngestionDeps,
  type CommitOutcome,
  type NormalizedFeaturePipelineSpec,
  type ValidationOutcome,
} from '../core/featurestore';
import { ValidationError } from '../core/errors';
import { activityBoundary } from './failures';
import { withKeepAlive } from './keep-alive';
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
  /**
   * Commit idempotency key: one commit per (pipeline, window) — `pipeline:start:end`, or
   * `pipeline:start:end#rerun-<n>` for a re-run that supersedes the window's latest commit.
   */
  readonly idempotencyKey: string;
  /** A re-run (`rerun: true`): the window's commit this run supersedes, if it had one. */
  readonly supersedes?: number;
  /** S3 prefix for this run's staged files. */
  readonly stagingPrefix: string;
}

/** The feature-pipeline activities (queue `fti-features`). */
export interface FeaturePipelineActivities {
  startFeatureRun(input: {
    pipeline: FeaturePipelineSpec;
    window?: WindowRef;
    rerun?: boolean;
  }): Promise<FeatureRunRef>;
  extractFeatures(run: FeatureRunRef): Promise<{ rawKey: string; rows: number }>;
  /**
   * Extract and transform in one step (one DuckDB session, no raw batch staged in between): the
   * staged batch, rows and content hash that extractFeatures then transformFeatures produce.
   */
  extractTransformFeatures(
    run: FeatureRunRef,
  ): Promise<{ rowsExtracted: number; stagedKey: string; rows: number; contentHash: string }>;
  /**
   * Extract → transform → validate → commit in one step, with no staged batch in between: what
   * extractTransformFeatures, validateFeatures and commitFeatures do one after the other. Fails
   * non-retryably (type `ValidationFailed`, nothing written) when the strict policy refuses the
   * batch; a retry keeps one validation report and reuses a commit an earlier attempt completed.
   */
  ingestFeatures(run: FeatureRunRef): Promise<{
    rowsExtracted: number;
    rows: number;
    contentHash: string;
    validation: { reportId: number | null; summary: string };
    commit: CommitRef;
  }>;
  transformFeatures(
    run: FeatureRunRef,
    rawKey: string,
  ): Promise<{ stagedKey: string; rows: number; contentHash?: string }>;
  validateFeatures(
    run: FeatureRunRef,
    stagedKey: string,
    contentHash?: string,
  ): Promise<{ reportId: number | null; summary: string }>;
  commitFeatures(
    run: FeatureRunRef,
    stagedKey: string,
    reportId: number | null,
    contentHash?: string,
  ): Promise<CommitRef>;
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
  /** The window's key already had this completed commit; nothing was written. */
  readonly reused: boolean;
  /**
   * For a reused commit: whether this run's batch differs from what the commit wrote (by content
   * hash); null when the commit has no hash recorded. False for a new commit.
   */
  readonly sourceChanged?: boolean | null;
  /** The commit this one superseded (a `rerun`), or null. */
  readonly supersedesCommitId?: number | null;
  readonly rowsInserted: number;
  readonly rowsUpdated: number;
  readonly rowsDeleted: number;
}

/** Whether the source changed against a stored content hash (null: unknown). */
function sameOrNull(stored: string | null, current: string | undefined): boolean | null {
  const same = sameContent(stored, current);
  return same === null ? null : !same;
}

/** Builds the feature-pipeline activities over the worker's adapters. */
export function createFeaturePipelineActivities(deps: IngestionDeps): FeaturePipelineActivities {
  const windowOf = (run: FeatureRunRef) => parseWindow(run.window);
  const groupOf = (run: FeatureRunRef) => ({
    name: run.pipeline.featureGroup.name,
    ...(run.pipeline.featureGroup.version ? { version: run.pipeline.featureGroup.version } : {}),
  });
  // The window the source is read over: the run's window widened by the pipeline's look-back.
  const extractWindowOf = (run: FeatureRunRef): { extractWindow?: { start: Date; end: Date } } => {
    const window = windowOf(run);
    if (!window) return {};
    const lookback = run.pipeline.lookbackSeconds * 1000;
    return { extractWindow: { start: new Date(window.start.getTime() - lookback), end: window.end } };
  };
  const stagedKeyOf = (run: FeatureRunRef) => `${run.stagingPrefix}/staged.parquet`;
  // What every step that transforms the batch shares: the group, transformation, window and label.
  const transformInputOf = (run: FeatureRunRef) => {
    const window = windowOf(run);
    return {
      featureGroup: groupOf(run),
      ...(run.pipeline.transformation ? { transformation: run.pipeline.transformation } : {}),
      ...(window ? { window } : {}),
      label: `pipeline ${run.pipeline.name} (${sourceLabel(run.pipeline.source)})`,
      operation: run.pipeline.operation,
    };
  };
  // ... and, for the steps that stage it, where.
  const stagingOf = (run: FeatureRunRef, outKey: string) => ({ ...transformInputOf(run), outKey });
  // How this run commits: one commit per window key; a re-run replaces the window's rows (upsert
  // plus tombstones for keys no longer there).
  const commitInputOf = (run: FeatureRunRef) => {
    const window = windowOf(run);
    return {
      operation: run.supersedes !== undefined ? ('upsert' as const) : run.pipeline.operation,
      ...(run.supersedes !== undefined ? { supersedes: run.supersedes } : {}),
      idempotencyKey: run.idempotencyKey,
      ...(window ? { window } : {}),
      pipelineRunId: run.runId,
    };
  };
  const commitRefOf = async (
    run: FeatureRunRef,
    { commit, reused, sourceChanged }: CommitOutcome,
    contentHash: string | undefined,
  ): Promise<CommitRef> => {
    const window = windowOf(run);
    if (reused && window) {
      // The window may have been re-run since: what this run reuses is the window's latest commit.
      const group = await getFeatureGroup(
        deps.db,
        run.pipeline.featureGroup.name,
        run.pipeline.featureGroup.version,
      );
      const [latest] = await windowCommits(deps.db, {
        featureGroupId: group.id,
        pipeline: run.pipeline.name,
        window,
      });
      if (latest && latest.id !== commit.id) {
        return {
          commitId: latest.id,
          instant: latest.instant,
          reused: true,
          sourceChanged: sameOrNull(latest.contentHash, contentHash),
          supersedesCommitId: latest.supersedesCommitId,
          rowsInserted: latest.rowsInserted,
          rowsUpdated: latest.rowsUpdated,
          rowsDeleted: latest.rowsDeleted,
        };
      }
    }
    return {
      commitId: commit.id,
      instant: commit.instant,
      reused,
      sourceChanged,
      supersedesCommitId: commit.supersedesCommitId,
      rowsInserted: commit.rowsInserted,
      rowsUpdated: commit.rowsUpdated,
      rowsDeleted: commit.rowsDeleted,
    };
  };
  // The strict policy refused the batch: not retryable, and the run fails with nothing written.
  const refusal = (run: FeatureRunRef, outcome: ValidationOutcome) =>
    ApplicationFailure.create({
      message: `validation failed under the strict policy, nothing was written: ${outcome.summary}. See validation report ${outcome.reportId} (fti fg reports ${run.pipeline.featureGroup.name}).`,
      type: 'ValidationFailed',
      nonRetryable: true,
      details: [{ reportId: outcome.reportId }],
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
        let idempotencyKey = window
          ? windowKey(pipeline.name, window)
          : `${pipeline.name}:run:${workflowExecution.workflowId}`;
        let supersedes: number | undefined;
        if (input.rerun) {
          if (!window)
            throw new ValidationError(
              `pipeline ${pipeline.name}: a re-run supersedes a window's commit, so it needs a window (--start and --end).`,
              { location: 'rerun' },
            );
          if (pipeline.operation === 'delete' || pipeline.operation === 'overwrite')
            throw new ValidationError(
              `pipeline ${pipeline.name}: operation ${pipeline.operation} cannot re-run a window (a re-run replaces the window's rows by upsert); run it without --rerun.`,
              { location: 'rerun' },
            );
          const group = await getFeatureGroup(
            deps.db,
            pipeline.featureGroup.name,
            pipeline.featureGroup.version,
          );
          // Planned once per workflow run (this result is recorded in history): retries of the
          // commit step reuse the same key instead of planning another re-run.
          const plan = await planRerun(deps.db, {
            featureGroupId: group.id,
            pipeline: pipeline.name,
            window,
          });
          idempotencyKey = plan.idempotencyKey;
          supersedes = plan.supersedes;
        }
        return {
          pipeline,
          ...(supersedes !== undefined ? { supersedes } : {}),
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
        const { extractWindow } = extractWindowOf(run);
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

    extractTransformFeatures: (run) =>
      activityBoundary(async () => {
        const stagedKey = stagedKeyOf(run);
        const { rowsExtracted, rows, contentHash } = await extractTransformToStaging(
          deps,
          { source: run.pipeline.source, ...extractWindowOf(run), ...stagingOf(run, stagedKey) },
          heartbeat,
        );
        return { rowsExtracted, stagedKey, rows, contentHash };
      }),

    transformFeatures: (run, rawKey) =>
      activityBoundary(async () => {
        const stagedKey = stagedKeyOf(run);
        const { rows, contentHash } = await transformToStaging(
          deps,
          { rawKey, ...stagingOf(run, stagedKey) },
          heartbeat,
        );
        return { stagedKey, rows, contentHash };
      }),

    validateFeatures: (run, stagedKey, contentHash) =>
      activityBoundary(async () => {
        const result = await validateStaged(deps, {
          stagedKey,
          featureGroup: groupOf(run),
          policy: run.pipeline.validation,
          pipelineRunId: run.runId,
          idempotencyKey: reportKey(run.idempotencyKey, contentHash),
        });
        if (result.blocked) throw refusal(run, result);
        return { reportId: result.reportId, summary: result.summary };
      }),

    ingestFeatures: (run) =>
      activityBoundary(async () => {
        const { extractWindow } = extractWindowOf(run);
        try {
          // One step from source to commit: some of its phases (conform, validate) report nothing
          // for a while, so it heartbeats on a timer too.
          const out = await withKeepAlive((progress) =>
            extractToCommit(
              deps,
              {
                source: run.pipeline.source,
                ...(extractWindow ? { extractWindow } : {}),
                ...transformInputOf(run),
                policy: run.pipeline.validation,
                commit: commitInputOf(run),
              },
              progress,
              throwIfCancelled,
            ),
          );
          return {
            rowsExtracted: out.rowsExtracted,
            rows: out.rows,
            contentHash: out.contentHash,
            validation: { reportId: out.validation.reportId, summary: out.validation.summary },
            commit: await commitRefOf(run, out.commit, out.contentHash),
          };
        } catch (error) {
          if (error instanceof BatchRefused) throw refusal(run, error.outcome);
          throw error;
        }
      }),

    commitFeatures: (run, stagedKey, reportId, contentHash) =>
      activityBoundary(async () => {
        const outcome = await commitStaged(
          deps,
          {
            stagedKey,
            featureGroup: groupOf(run),
            ...commitInputOf(run),
            ...(contentHash ? { contentHash } : {}),
            reportId,
          },
          heartbeat,
        );
        return commitRefOf(run, outcome, contentHash);
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
        if (run.stagingPrefix) {
          await dropStaged(deps.store, `${run.stagingPrefix}/`);
          await deps.store.deletePrefix(`${run.stagingPrefix}/`).catch(() => undefined);
        }
      }),
  };
}

/**
 * Throws when the run was cancelled (Temporal delivers that with a heartbeat): checked between the
 * phases of a step, so a run cancelled before its commit never commits.
 */
function throwIfCancelled(): void {
  let signal: AbortSignal;
  try {
    signal = Context.current().cancellationSignal;
  } catch {
    return; // called outside an activity (tests call the core directly)
  }
  if (signal.aborted)
    throw new CancelledFailure('the run was cancelled before its commit; nothing was written');
}

/** Names the source in error messages: its kind and, for files, the path (never a database URL). */
function sourceLabel(source: NormalizedFeaturePipelineSpec['source']): string {
  return 'path' in source ? `${source.kind} source ${source.path}` : `${source.kind} source`;
}
