import { proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type {
  TrainingDataJobActivities,
  TrainingDataJobResult,
  TrainingDataJobSpec,
} from '../activities/training-data-job';

/** Input of {@link trainingDataJob}. */
export interface TrainingDataJobInput {
  readonly spec: TrainingDataJobSpec;
}

const control = proxyActivities<TrainingDataJobActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { maximumAttempts: 5, initialInterval: '1 second' },
});
const steps = proxyActivities<TrainingDataJobActivities>({
  startToCloseTimeout: '6 hours',
  // A worker that dies mid-part is noticed within this and the part is made again elsewhere.
  heartbeatTimeout: '1 minute',
  retry: {
    maximumAttempts: 5,
    initialInterval: '5 seconds',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
  },
});

/**
 * Training-data job (queue `fti-training`): creates a training dataset version of a feature view.
 * With `parts` > 1 the point-in-time join is split by key bucket: the commits are pinned once, each
 * part is an activity that any worker of the queue may take (they run side by side), and one last
 * step numbers, filters, splits and fits the union — the same dataset one step would make, row for
 * row. The workflow id is the dataset's idempotency key: a retry or a re-run of the same id returns
 * the same version.
 */
export async function trainingDataJob(input: TrainingDataJobInput): Promise<TrainingDataJobResult> {
  const { spec } = input;
  upsertSearchAttributes({
    FtiPipeline: ['training'],
    FtiFeatureView: [`${spec.featureView.name}:${spec.featureView.version ?? 'latest'}`],
  });
  const jobKey = `training-data:${workflowInfo().workflowId}`;
  const parts = spec.parts ?? 1;
  if (parts <= 1) return steps.finishTrainingDataJob(spec, jobKey, null, []);
  const plan = await control.planTrainingDataJob(spec, jobKey);
  const made = await Promise.all(
    Array.from({ length: plan.parts }, (_, index) => steps.makeTrainingDataPart(spec, plan, index)),
  );
  return steps.finishTrainingDataJob(
    spec,
    jobKey,
    plan,
    made.map((p) => p.key),
  );
}
