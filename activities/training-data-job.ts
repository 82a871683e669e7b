import {
  createTrainingData,
  deleteTrainingDataParts,
  materializeTrainingDataPart,
  planTrainingData,
  type FeatureViewDeps,
  type SplitDefinition,
  type TrainingDataPlan,
} from '../core/featurestore';
import { ValidationError } from '../core/errors';
import { activityBoundary } from './failures';
import { withKeepAlive } from './keep-alive';

/** What a training-data job makes: a dataset version of a view, over a range, in `parts` parts. */
export interface TrainingDataJobSpec {
  readonly featureView: { readonly name: string; readonly version?: number };
  /** Spine event-time range (ISO-8601): start inclusive, end exclusive. Omit both for all rows. */
  readonly start?: string;
  readonly end?: string;
  readonly splits?: SplitDefinition;
  /** Read the groups as of this time (ISO-8601). @default the latest commits */
  readonly asOf?: string;
  readonly description?: string;
  /** Key-bucket parts made side by side by the queue's workers (1 … 256). @default 1 */
  readonly parts?: number;
}

/** The dataset a job made. */
export interface TrainingDataJobResult {
  readonly featureView: { readonly name: string; readonly version: number };
  readonly version: number;
  readonly id: number;
  readonly rows: Readonly<Record<string, number>>;
  readonly parts: number;
}

/** Training-data job activities (queue `fti-training`). */
export interface TrainingDataJobActivities {
  /** Pins the commits every part reads and names where parts go. */
  planTrainingDataJob(spec: TrainingDataJobSpec, jobKey: string): Promise<TrainingDataPlan>;
  /** Makes part `index` of a plan: its key bucket of the spine, joined point-in-time. */
  makeTrainingDataPart(
    spec: TrainingDataJobSpec,
    plan: TrainingDataPlan,
    index: number,
  ): Promise<{ key: string; rows: number }>;
  /**
   * Finishes the dataset from its parts (or, with no plan, makes it in one step), then removes the
   * parts. Idempotent by job key: a retry returns the same version.
   */
  finishTrainingDataJob(
    spec: TrainingDataJobSpec,
    jobKey: string,
    plan: TrainingDataPlan | null,
    parts: readonly string[],
  ): Promise<TrainingDataJobResult>;
}

function date(value: string | undefined, field: string): Date | undefined {
  if (value === undefined) return undefined;
  const parsed = new Date(value);
  if (Number.isNaN(parsed.getTime()))
    throw new ValidationError(
      `training-data job: ${field} ${JSON.stringify(value)} is not an ISO-8601 time.`,
      {
        location: field,
      },
    );
  return parsed;
}

/** Builds the training-data job activities over the worker's feature-view adapters. */
export function createTrainingDataJobActivities(deps: FeatureViewDeps): TrainingDataJobActivities {
  return {
    planTrainingDataJob: (spec, jobKey) =>
      activityBoundary(() =>
        planTrainingData(deps, {
          featureView: spec.featureView,
          parts: spec.parts ?? 1,
          idempotencyKey: jobKey,
          ...(spec.asOf ? { asOf: date(spec.asOf, 'asOf')! } : {}),
        }),
      ),

    makeTrainingDataPart: (spec, plan, index) =>
      activityBoundary(() =>
        withKeepAlive(async (progress) => {
          progress(`joining part ${index + 1} of ${plan.parts}`);
          const start = date(spec.start, 'start');
          const end = date(spec.end, 'end');
          return materializeTrainingDataPart(deps, {
            plan,
            index,
            ...(start ? { start } : {}),
            ...(end ? { end } : {}),
          });
        }),
      ),

    finishTrainingDataJob: (spec, jobKey, plan, parts) =>
      activityBoundary(() =>
        withKeepAlive(async (progress) => {
          progress(plan ? `finishing the dataset from ${parts.length} parts` : 'creating the dataset');
          const start = date(spec.start, 'start');
          const end = date(spec.end, 'end');
          const asOf = date(spec.asOf, 'asOf');
          const dataset = await createTrainingData(deps, {
            featureView: plan?.featureView ?? spec.featureView,
            ...(start ? { start } : {}),
            ...(end ? { end } : {}),
            ...(spec.splits ? { splits: spec.splits } : {}),
            ...(asOf && !plan ? { asOf } : {}),
            ...(spec.description ? { description: spec.description } : {}),
            ...(plan ? { commits: plan.commits, parts } : {}),
            idempotencyKey: jobKey,
          });
          if (plan) await deleteTrainingDataParts(deps, plan);
          return {
            featureView: { name: dataset.featureView.name, version: dataset.featureView.version },
            version: dataset.version,
            id: dataset.id,
            rows: dataset.rowCounts,
            parts: plan?.parts ?? 1,
          };
        }),
      ),
  };
}
