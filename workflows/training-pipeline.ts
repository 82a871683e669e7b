import { defineQuery, log, proxyActivities, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { TrainingActivities } from '../activities/training';
import type {
  CandidateRef,
  DatasetRef,
  EvaluationReport,
  RegistrationResult,
  TrainingPipelineSpec,
} from '../core/ml';
import { TASK_QUEUES } from '../core/pipelines';

/** Input of {@link trainingPipeline}. */
export interface TrainingPipelineInput {
  readonly spec: TrainingPipelineSpec;
}

/** What a training pipeline run produced. */
export interface TrainingPipelineResult {
  readonly model: string;
  readonly version: number;
  /** `rejected` when a validation gate failed (the version is kept for inspection only). */
  readonly state: 'registered' | 'rejected';
  readonly alias: RegistrationResult['alias'];
  readonly trainingDataset: {
    readonly featureView: string;
    readonly viewVersion: number;
    readonly version: number;
  };
  readonly trainingRunId: number;
  /** The device the train step held on a GPU worker (CUDA_VISIBLE_DEVICES id); null on CPU. */
  readonly device?: string | null;
  readonly metrics: EvaluationReport['metrics'];
  readonly gates: EvaluationReport['gates'];
  readonly champion: EvaluationReport['champion'];
  /** Why the candidate was not compared with the champion (none yet, no lineage, …), else null. */
  readonly championNote?: EvaluationReport['championNote'];
}

/** Query: the step the run is in (`fti train run` shows it as progress). */
export const trainingStepQuery = defineQuery<string>('step');

const control = proxyActivities<TrainingActivities>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 5, initialInterval: '1 second' },
});
const steps = proxyActivities<TrainingActivities>({
  startToCloseTimeout: '2 hours',
  heartbeatTimeout: '2 minutes',
  retry: {
    maximumAttempts: 4,
    initialInterval: '5 seconds',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
  },
});

/**
 * Training pipeline (queue `fti-training`): training data (existing version or a new one) → train
 * (on `spec.trainQueue`, e.g. `fti-training-gpu`; heartbeats progress) → evaluate on the held-out
 * split against the current alias holder → gates → register (with lineage) → move the alias when
 * every gate passed. Every step is idempotent per run, so retries never create a second version.
 */
export async function trainingPipeline(input: TrainingPipelineInput): Promise<TrainingPipelineResult> {
  let step = 'starting';
  setHandler(trainingStepQuery, () => step);
  const run = await control.startTrainingRun({ spec: input.spec });
  upsertSearchAttributes({
    FtiPipeline: ['training'],
    FtiModel: [input.spec.model],
    FtiFeatureView: [`${input.spec.featureView.name}:${input.spec.featureView.version ?? 'latest'}`],
  });
  const train = proxyActivities<TrainingActivities>({
    taskQueue: input.spec.trainQueue ?? TASK_QUEUES.training,
    startToCloseTimeout: '24 hours',
    heartbeatTimeout: '2 minutes',
    retry: { maximumAttempts: 3, initialInterval: '10 seconds', backoffCoefficient: 2 },
  });
  try {
    step = 'preparing training data';
    const dataset: DatasetRef = await steps.prepareTrainingDataset(run);
    step = `training on ${input.spec.trainQueue ?? TASK_QUEUES.training}`;
    const candidate: CandidateRef = await train.trainModel(run, dataset);
    step = 'evaluating';
    const evaluation = await steps.evaluateModel(run, dataset, candidate);
    step = 'registering';
    const registration = await steps.registerModel(run, dataset, candidate, evaluation);
    const result: TrainingPipelineResult = {
      model: registration.model,
      version: registration.version,
      state: registration.state,
      alias: registration.alias,
      trainingDataset: {
        featureView: dataset.featureView.name,
        viewVersion: dataset.featureView.version,
        version: dataset.version,
      },
      trainingRunId: candidate.trainingRunId,
      device: candidate.device ?? null,
      metrics: evaluation.metrics,
      gates: evaluation.gates,
      champion: evaluation.champion,
      championNote: evaluation.championNote,
    };
    await control.finishTrainingRun(run, {
      status: 'completed',
      result: { model: result.model, version: result.version, state: result.state },
    });
    step = 'done';
    log.info('training pipeline done', { model: result.model, version: result.version, state: result.state });
    return result;
  } catch (error) {
    step = 'failed';
    await control.finishTrainingRun(run, {
      status: 'failed',
      error: error instanceof Error ? error.message : String(error),
    });
    throw error;
  }
}
