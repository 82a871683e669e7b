import { ApplicationFailure, defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { log, proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { CommitRef, FeaturePipelineActivities, WindowRef } from '../activities/feature-pipeline';
import type { FeaturePipelineSpec } from '../core/featurestore/pipeline-spec';

/** Input of {@link featurePipeline}. */
export interface FeaturePipelineInput {
  readonly pipeline: FeaturePipelineSpec;
  /**
   * `[start, end)` to process. Omitted on scheduled runs: the window then ends at the run's nominal
   * scheduled time (`TemporalScheduledStartTime`) and spans `pipeline.windowSeconds`.
   */
  readonly window?: WindowRef;
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
  readonly online: { offered: number; applied: number; skipped: boolean };
  readonly statisticsId: number | null;
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
  retry: {
    maximumAttempts: 6,
    initialInterval: '2 seconds',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
  },
});

/**
 * Feature pipeline (queue `fti-features`): extract → transform → validate → write offline commit →
 * write online → compute statistics. Steps exchange S3 keys and ids only. Re-running a window (retry,
 * backfill, schedule catch-up) finds that window's single commit instead of writing another.
 */
export async function featurePipeline(input: FeaturePipelineInput): Promise<FeaturePipelineResult> {
  const window = input.window ?? scheduledWindow(input.pipeline);
  const run = await control.startFeatureRun({ pipeline: input.pipeline, ...(window ? { window } : {}) });
  const group = `${run.pipeline.featureGroup.name}:${run.pipeline.featureGroup.version ?? 'latest'}`;
  upsertSearchAttributes({
    FtiPipeline: ['features'],
    FtiFeatureGroup: [group],
    ...(window ? { FtiWindowStart: [new Date(window.start)], FtiWindowEnd: [new Date(window.end)] } : {}),
  });
  try {
    const extracted = await steps.extractFeatures(run);
    const staged = await steps.transformFeatures(run, extracted.rawKey);
    const validation = await steps.validateFeatures(run, staged.stagedKey);
    const commit = await steps.commitFeatures(run, staged.stagedKey, validation.reportId);
    const online = await steps.writeFeaturesOnline(run, commit.commitId);
    const statistics = await steps.computeFeatureStatistics(run, commit.commitId);
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
    };
    await control.finishFeatureRun(run, {
      status: 'completed',
      result: { commitId: commit.commitId, rows: staged.rows },
    });
    log.info('feature pipeline done', { commitId: commit.commitId, reused: commit.reused });
    return result;
  } catch (error) {
    await control.finishFeatureRun(run, {
      status: 'failed',
      error: error instanceof Error ? error.message : String(error),
    });
    throw error;
  }
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
