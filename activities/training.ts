import { Context } from '@temporalio/activity';
import {
  checkTrainingSpec,
  evaluateCandidate,
  parseTrainingPipelineSpec,
  prepareTrainingData,
  registerCandidate,
  trainCandidate,
  type CandidateRef,
  type DatasetRef,
  type EvaluationReport,
  type RegistrationResult,
  type TrainingDeps,
  type TrainingPipelineSpec,
} from '../core/ml';
import { activityBoundary } from './failures';
import { recordRunFinish, recordRunStart } from './pipeline-runs';
import { describeDevices, type DeviceReport } from './devices';

/** A training run as carried across Temporal: the spec as given and the run's keys. */
export interface TrainingRunRef {
  readonly spec: TrainingPipelineSpec;
  /** Idempotency key of everything the run produces (dataset, training run, model version). */
  readonly runKey: string;
  /** Row id in `pipeline_runs`. */
  readonly pipelineRunId: number;
  readonly workflowId: string;
  readonly workflowRunId: string;
}

/** The training-pipeline activities (queue `fti-training`; `trainModel` also on GPU queues). */
export interface TrainingActivities {
  startTrainingRun(input: { spec: TrainingPipelineSpec }): Promise<TrainingRunRef>;
  prepareTrainingDataset(run: TrainingRunRef): Promise<DatasetRef>;
  trainModel(run: TrainingRunRef, dataset: DatasetRef): Promise<CandidateRef>;
  evaluateModel(run: TrainingRunRef, dataset: DatasetRef, candidate: CandidateRef): Promise<EvaluationReport>;
  registerModel(
    run: TrainingRunRef,
    dataset: DatasetRef,
    candidate: CandidateRef,
    evaluation: EvaluationReport,
  ): Promise<RegistrationResult>;
  finishTrainingRun(
    run: { pipelineRunId: number },
    outcome: { status: 'completed' | 'failed'; result?: unknown; error?: string },
  ): Promise<void>;
  describeTrainingDevices(): Promise<DeviceReport>;
}

function cancelled(): void {
  try {
    // Throws CancelledFailure once the workflow cancelled the activity and a heartbeat delivered it.
    const context = Context.current();
    if (context.cancellationSignal.aborted) throw context.cancellationSignal.reason;
  } catch (error) {
    if (error instanceof Error && error.message.includes('not in an activity context')) return;
    throw error;
  }
}

/** Builds the training activities over the worker's adapters. */
export function createTrainingActivities(deps: TrainingDeps): TrainingActivities {
  return {
    startTrainingRun: (input) =>
      activityBoundary(async () => {
        const spec = await checkTrainingSpec(deps, input.spec);
        const { id, execution: workflowExecution } = await recordRunStart(deps.db, {
          pipeline: 'training',
          name: spec.name,
          input: {
            model: spec.model,
            featureView: spec.featureView,
            trainer: 'name' in spec.trainer ? spec.trainer.name : 'external',
          },
        });
        return {
          spec: input.spec,
          runKey: `${spec.name}:${workflowExecution.workflowId}`,
          pipelineRunId: id,
          workflowId: workflowExecution.workflowId,
          workflowRunId: workflowExecution.runId,
        };
      }),

    prepareTrainingDataset: (run) =>
      activityBoundary(() => prepareTrainingData(deps, parseTrainingPipelineSpec(run.spec), run.runKey)),

    trainModel: (run, dataset) =>
      activityBoundary(() => {
        // Captured here: progress arrives from a training thread's messages, outside this
        // activity's async context, where Context.current() is not available.
        const context = Context.current();
        return trainCandidate(deps, parseTrainingPipelineSpec(run.spec), dataset, run.runKey, {
          onProgress: (message) => context.heartbeat(message),
          checkCancelled: cancelled,
          signal: context.cancellationSignal,
        });
      }),

    evaluateModel: (run, dataset, candidate) =>
      activityBoundary(() =>
        evaluateCandidate(deps, parseTrainingPipelineSpec(run.spec), dataset, candidate),
      ),

    registerModel: (run, dataset, candidate, evaluation) =>
      activityBoundary(() =>
        registerCandidate(deps, parseTrainingPipelineSpec(run.spec), dataset, candidate, evaluation, {
          runKey: run.runKey,
          workflowId: run.workflowId,
          workflowRunId: run.workflowRunId,
          pipelineRunId: run.pipelineRunId,
        }),
      ),

    finishTrainingRun: (run, outcome) =>
      activityBoundary(async () => {
        await recordRunFinish(deps.db, run.pipelineRunId, outcome);
      }),

    describeTrainingDevices: () => activityBoundary(async () => describeDevices()),
  };
}
