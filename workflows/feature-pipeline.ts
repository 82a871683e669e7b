import { ApplicationFailure, defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import {
  isCancellation,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type {
  CommitRef,
  FeaturePipelineActivities,
  FeatureRunRef,
  WindowRef,
} from '../activities/feature-pipeline';
import type { FeaturePipelineSpec } from '../core/featurestore/pipeline-spec';

/** Input of {@link featurePipeline}. */
export interface FeaturePipelineInput {
  readonly pipeline: FeaturePipelineSpec;
  /**
   * `[start, end)` to process. Omitted on scheduled runs: the window then ends at the run's nominal
   * scheduled time (`TemporalScheduledStartTime`) and spans `pipeline.windowSeconds`.
   */
  readonly window?: WindowRef;
  /**
   * Re-run the window even though it has a completed commit: writes a new commit that supersedes the
   * window's latest one (its rows replaced by this run's; record keys no longer in the source deleted),
   * recorded in the timeline. Needs a window. Without it, a window that already has a commit is reused.
   * @default false
   */
  readonly rerun?: boolean;
}

/** What a feature pipeline run produced. */
export interface FeaturePipelineResult {
  readonly pipeline: string;
  readonly featureGroup: string;
  readonly window: WindowRef | null;
  readonly rowsExtracted: number;
  readonly rowsWritten: number;
  readonly commit: CommitRef;
  readonly validation: string;
  /** Online write; `failed` when it still failed after its retries (see `warnings`). */
  readonly online: { offered: number; applied: number; skipped: boolean; failed?: boolean };
  /** Statistics of the commit's rows; null when disabled or when the step failed (see `warnings`). */
  readonly statisticsId: number | null;
  /**
   * What happened to the window's commit, in words, when it was not simply written: reused (source
   * unchanged, or changed and how to supersede it) or superseded another commit. Null otherwise.
   */
  readonly notice: string | null;
  /**
   * Steps after the commit that failed after their own retries. The commit stands and the run
   * completes; each warning says how to redo the step.
   */
  readonly warnings: readonly string[];
}

const SCHEDULED_START = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);

const control = proxyActivities<FeaturePipelineActivities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 5, initialInterval: '1 second' },
});
const steps = proxyActivities<FeaturePipelineActivities>({
  startToCloseTimeout: '2 hours',
  // A worker that dies mid-step is noticed within this, and the step is retried elsewhere.
  heartbeatTimeout: '30 seconds',
  // 2, 4, 8, 16, then every 30 s: a step rides out about 3 minutes of S3 or PostgreSQL outage (the
  // chaos suite stops S3 for 30 s mid-run); bad input is non-retryable and fails at once.
  retry: {
    maximumAttempts: 10,
    initialInterval: '2 seconds',
    backoffCoefficient: 2,
    maximumInterval: '30 seconds',
  },
});

/**
 * The run's bookkeeping (start, finish: one row in Postgres each) as local activities: they run in
 * the workflow's worker without a round trip through the task queue, which costs about 60 ms a
 * step on the local stack (bench/orchestration) — more than the step itself.
 */
const bookkeeping = proxyLocalActivities<FeaturePipelineActivities>({
  startToCloseTimeout: '1 minute',
  retry: {
    maximumAttempts: 8,
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
  },
});
/** Runs recorded before local bookkeeping replay with the activities they scheduled. */
const LOCAL_BOOKKEEPING = 'feature-run-bookkeeping-local';
/** Runs recorded before extract and transform became one step replay them as two. */
const FUSED_EXTRACT_TRANSFORM = 'feature-extract-transform-fused';
/** Runs recorded before extract, transform, validate and commit became one step replay them as steps. */
const FUSED_INGEST = 'feature-ingest-fused';
/** Runs recorded before the post-commit steps ran side by side replay them one after the other. */
const POST_COMMIT_PARALLEL = 'feature-post-commit-parallel';

/**
 * Steps after the commit (online write, statistics): retried on their own, longer than the data
 * steps since they only wait for a dependency to come back; both are idempotent by commit id.
 */
const postCommit = proxyActivities<FeaturePipelineActivities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '30 seconds',
  retry: {
    maximumAttempts: 8,
    initialInterval: '2 seconds',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
  },
});

/**
 * Feature pipeline (queue `fti-features`): extract → transform → validate → write offline commit (one
 * step, `ingestFeatures`) → write online and compute statistics (side by side). Steps exchange ids
 * only. Re-running a window (retry,
 * backfill, schedule catch-up) finds that window's single commit instead of writing another, and says
 * so in `notice` (with whether its source changed); `rerun` writes a commit that supersedes it.
 *
 * A run either commits or writes nothing: every failure up to the commit fails the run with nothing
 * written; nothing after the commit can fail it — the online write and statistics are retried on
 * their own, and if they still fail the run completes with the commit and a warning saying how to
 * redo them.
 */
export async function featurePipeline(input: FeaturePipelineInput): Promise<FeaturePipelineResult> {
  const window = input.window ?? scheduledWindow(input.pipeline);
  const local = patched(LOCAL_BOOKKEEPING);
  const run = await (local ? bookkeeping : control).startFeatureRun({
    pipeline: input.pipeline,
    ...(window ? { window } : {}),
    ...(input.rerun ? { rerun: true } : {}),
  });
  const group = `${run.pipeline.featureGroup.name}:${run.pipeline.featureGroup.version ?? 'latest'}`;
  upsertSearchAttributes({
    FtiPipeline: ['features'],
    FtiFeatureGroup: [group],
    ...(window ? { FtiWindowStart: [new Date(window.start)], FtiWindowEnd: [new Date(window.end)] } : {}),
  });
  let committed: Committed;
  try {
    committed = await upToCommit(run);
  } catch (error) {
    // Only steps up to the commit get here, and the commit step either committed or wrote nothing.
    await (local ? bookkeeping : control).finishFeatureRun(run, {
      status: 'failed',
      error: error instanceof Error ? error.message : String(error),
    });
    throw error;
  }
  // From here on the commit is written: nothing below may fail the run.
  const { extracted, staged, validation, commit } = committed;
  const warnings: string[] = [];
  const onlineStep = async () => {
    let warning: string | undefined;
    const result = await afterCommit(
      () => postCommit.writeFeaturesOnline(run, commit.commitId),
      (why) => {
        warning = `online write of commit ${commit.commitId} failed after its retries (${why}); the commit stands. Redo it by running the same window again (it reuses commit ${commit.commitId} and writes it online).`;
        return { offered: 0, applied: 0, skipped: false, failed: true };
      },
    );
    return { result, warning };
  };
  const statisticsStep = async () => {
    let warning: string | undefined;
    const result = await afterCommit(
      () => postCommit.computeFeatureStatistics(run, commit.commitId),
      (why) => {
        warning = `statistics of commit ${commit.commitId} failed after their retries (${why}); the commit stands. Redo: fti fg stats ${run.pipeline.featureGroup.name} --commit ${commit.commitId} --recompute (fti fg stats also computes missing ones).`;
        return { statisticsId: null };
      },
    );
    return { result, warning };
  };
  // The two post-commit steps only read the commit (both idempotent by commit id) and write
  // different stores, so they run side by side: the online write mostly waits on PostgreSQL while
  // statistics run in DuckDB (bench/ingest, 1M rows: see docs/performance.md). Runs recorded before
  // replay them one after the other, as they were scheduled.
  const [onlineOutcome, statisticsOutcome] = patched(POST_COMMIT_PARALLEL)
    ? await Promise.all([onlineStep(), statisticsStep()])
    : [await onlineStep(), await statisticsStep()];
  // Same order whichever finished first: online, then statistics.
  for (const w of [onlineOutcome.warning, statisticsOutcome.warning]) if (w) warnings.push(w);
  const online = onlineOutcome.result;
  const statistics = statisticsOutcome.result;
  const notice = describeCommit(commit, window);
  const result: FeaturePipelineResult = {
    pipeline: run.pipeline.name,
    featureGroup: group,
    window: window ?? null,
    rowsExtracted: extracted.rows,
    rowsWritten: staged.rows,
    commit,
    validation: validation.summary,
    online,
    statisticsId: statistics.statisticsId,
    notice,
    warnings,
  };
  await afterCommit(
    () =>
      (local ? bookkeeping : postCommit).finishFeatureRun(run, {
        status: 'completed',
        result: {
          commitId: commit.commitId,
          rows: staged.rows,
          reused: commit.reused,
          sourceChanged: commit.sourceChanged ?? null,
          supersedesCommitId: commit.supersedesCommitId ?? null,
          notice,
          warnings,
        },
      }),
    // The run record is bookkeeping: the workflow's own result (in Temporal) still says what happened.
    (why) => log.warn('could not record the completed run', { runId: run.runId, why }),
  );
  if (warnings.length > 0)
    log.warn('feature pipeline committed with warnings', { commitId: commit.commitId, warnings });
  log.info('feature pipeline done', { commitId: commit.commitId, reused: commit.reused });
  return result;
}

interface Committed {
  extracted: { rows: number };
  staged: { rows: number };
  validation: { summary: string };
  commit: CommitRef;
}

/**
 * Extract → transform → validate → commit: fails with nothing written, or returns the commit. One
 * step (`ingestFeatures`) since the batch stopped being staged in the object store between them
 * (bench/ingest, 1M rows: see docs/performance.md); runs recorded before replay the separate steps.
 */
async function upToCommit(run: FeatureRunRef): Promise<Committed> {
  if (patched(FUSED_INGEST)) {
    const out = await steps.ingestFeatures(run);
    return {
      extracted: { rows: out.rowsExtracted },
      staged: { rows: out.rows },
      validation: out.validation,
      commit: out.commit,
    };
  }
  const { extracted, staged } = patched(FUSED_EXTRACT_TRANSFORM)
    ? await extractTransform(run)
    : await extractThenTransform(run);
  const validation = await steps.validateFeatures(run, staged.stagedKey, staged.contentHash);
  const commit = await steps.commitFeatures(run, staged.stagedKey, validation.reportId, staged.contentHash);
  return { extracted, staged, validation, commit };
}

/**
 * Extract and transform as one step: one DuckDB session, without staging the raw batch in the object
 * store and reading it back (bench/ingest, 1M rows: about 1 s of the run).
 */
async function extractTransform(run: FeatureRunRef) {
  const out = await steps.extractTransformFeatures(run);
  return {
    extracted: { rows: out.rowsExtracted },
    staged: { stagedKey: out.stagedKey, rows: out.rows, contentHash: out.contentHash },
  };
}

/** Extract, then transform, as runs recorded before the fused step scheduled them. */
async function extractThenTransform(run: FeatureRunRef) {
  const extracted = await steps.extractFeatures(run);
  const staged = await steps.transformFeatures(run, extracted.rawKey);
  return { extracted, staged };
}

/** Runs a post-commit step; a failure after its retries becomes `fallback(why)` instead of failing the run. */
async function afterCommit<T>(step: () => Promise<T>, fallback: (why: string) => T): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (isCancellation(error)) throw error;
    return fallback(rootCause(error));
  }
}

function rootCause(error: unknown): string {
  let current: unknown = error;
  while (current instanceof Error && current.cause instanceof Error) current = current.cause;
  return current instanceof Error ? current.message : String(current);
}

/** The notice for a reused or superseding commit (null for a plain new commit). */
function describeCommit(commit: CommitRef, window: WindowRef | undefined): string | null {
  const range = window ? ` for window [${window.start}, ${window.end})` : '';
  if (commit.reused) {
    if (commit.sourceChanged === false)
      return `reused commit ${commit.commitId}${range}: the source is unchanged (same content hash), nothing was written.`;
    const rerun = window
      ? ` Run \`fti pipeline run <spec> --start ${window.start} --end ${window.end} --rerun\` (workflow input rerun: true) to write a commit that supersedes it.`
      : '';
    if (commit.sourceChanged === true)
      return `reused commit ${commit.commitId}${range}: the source changed since that commit was written (content hash differs), but nothing was written.${rerun}`;
    return `reused commit ${commit.commitId}${range}: it has no content hash recorded, so whether the source changed is unknown; nothing was written.${rerun}`;
  }
  if (commit.supersedesCommitId)
    return `commit ${commit.commitId} supersedes commit ${commit.supersedesCommitId}${range}: the window's rows are now this run's.`;
  return null;
}

function scheduledWindow(pipeline: FeaturePipelineSpec): WindowRef | undefined {
  const scheduled = workflowInfo().typedSearchAttributes.get(SCHEDULED_START);
  if (!scheduled) return undefined;
  if (!pipeline.windowSeconds) {
    throw ApplicationFailure.nonRetryable(
      `pipeline ${pipeline.name} runs on a schedule but has no windowSeconds; set it to the schedule interval.`,
      'ValidationError',
    );
  }
  return {
    start: new Date(scheduled.getTime() - pipeline.windowSeconds * 1000).toISOString(),
    end: scheduled.toISOString(),
  };
}
