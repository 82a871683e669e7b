import { ApplicationFailure, defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { log, proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { BatchInferenceInput, DeploymentChange, InferenceActivities } from '../activities/inference';
import type { BatchInferenceResult, PredictionSink } from '../core/serving';

/** Input of {@link batchInference}: a window, or none on scheduled runs (window = the schedule interval). */
export interface BatchInferenceWorkflowInput {
  readonly deployment: string;
  readonly window?: { readonly start: string; readonly end: string };
  /** Window length of scheduled runs (seconds, ending at the scheduled time). */
  readonly windowSeconds?: number;
  readonly sinks?: readonly PredictionSink[];
}

const SCHEDULED_START = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);

const control = proxyActivities<InferenceActivities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 5, initialInterval: '1 second' },
});
const steps = proxyActivities<InferenceActivities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '1 minute',
  retry: {
    maximumAttempts: 5,
    initialInterval: '2 seconds',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
  },
});

/**
 * Batch inference (queue `fti-inference`): one window of a deployment scored and written to its
 * sinks. Idempotent per (deployment, window): retries, schedule catch-up and backfills replace the
 * window's predictions.
 */
export async function batchInference(input: BatchInferenceWorkflowInput): Promise<BatchInferenceResult> {
  let window = input.window;
  if (!window) {
    const scheduled = workflowInfo().typedSearchAttributes.get(SCHEDULED_START);
    if (!scheduled || !input.windowSeconds)
      throw ApplicationFailure.nonRetryable(
        'batch inference needs a window (or a schedule with windowSeconds).',
        'ValidationError',
      );
    window = {
      start: new Date(scheduled.getTime() - input.windowSeconds * 1000).toISOString(),
      end: scheduled.toISOString(),
    };
  }
  upsertSearchAttributes({
    FtiPipeline: ['inference'],
    FtiDeployment: [input.deployment],
    FtiWindowStart: [new Date(window.start)],
    FtiWindowEnd: [new Date(window.end)],
  });
  const run = await control.startInferenceRun({
    name: `batch-${input.deployment}`,
    input: { deployment: input.deployment, sinks: input.sinks ?? null },
    window,
  });
  try {
    const scoreInput: BatchInferenceInput = {
      deployment: input.deployment,
      window,
      ...(input.sinks ? { sinks: input.sinks } : {}),
    };
    const result = await steps.scoreBatch(scoreInput, run.pipelineRunId);
    await control.finishInferenceRun(run, {
      status: 'completed',
      result: { rows: result.rows, outputs: result.outputs },
    });
    log.info('batch inference done', { deployment: input.deployment, rows: result.rows });
    return result;
  } catch (error) {
    await control.finishInferenceRun(run, {
      status: 'failed',
      error: error instanceof Error ? error.message : String(error),
    });
    throw error;
  }
}

/** What a rollout did. */
export interface DeploymentRolloutResult {
  readonly deployment: string;
  readonly version: number;
  readonly smoke: readonly {
    readonly variant: string;
    readonly model: string;
    readonly ok: boolean;
    readonly detail: string;
  }[];
}

/**
 * Deployment rollout (queue `fti-inference`): loads every new binding and runs the smoke request on
 * it; only then switches the deployment (new version, NOTIFY). Servers load and warm the new
 * binding before they route to it and keep the previous one warm for an instant rollback.
 */
export async function deploymentRollout(change: DeploymentChange): Promise<DeploymentRolloutResult> {
  upsertSearchAttributes({ FtiPipeline: ['inference'], FtiDeployment: [change.deployment] });
  const run = await control.startInferenceRun({
    name: `deploy-${change.deployment}`,
    input: { action: change.action, deployment: change.deployment },
  });
  try {
    // A rollback's target is fixed once, so the version smoke-tested is the version switched to.
    const resolved =
      change.action === 'rollback' && change.to === undefined
        ? { ...change, to: await control.resolveRollbackTarget(change) }
        : change;
    const smoke = await steps.smokeTestDeployment(resolved);
    const applied = await control.applyDeploymentChange(resolved, run.pipelineRunId);
    await control.finishInferenceRun(run, { status: 'completed', result: applied });
    return { ...applied, smoke };
  } catch (error) {
    await control.finishInferenceRun(run, {
      status: 'failed',
      error: error instanceof Error ? error.message : String(error),
    });
    throw error;
  }
}
