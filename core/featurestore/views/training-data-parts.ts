/**
 * Partitioned training data: a point-in-time join split by key bucket into parts that any worker
 * can make, then finished once. Every spine row's features come from rows with the same key, so a
 * part needs only its bucket of the spine and of each group keyed like it; finishing numbers, filters
 * and splits the union exactly as a single job would, so the dataset is the same row for row.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { withDuck } from '../../duckdb';
import { ValidationError } from '../../errors';
import { joinKey } from '../../storage';
import { MAX_KEY_BUCKETS } from '../offline/partitioning';
import type { FeatureViewDeps } from './deps';
import { assertRange, commitsToPins, materializeView, pinsToCommits, resolvePins } from './pit-join';
import { getFeatureView } from './repository';

/** What every part of one partitioned job shares. */
export interface TrainingDataPlan {
  readonly featureView: { readonly name: string; readonly version: number };
  /** The commits every part and the finish read: `{ "<group>@v<version>": commitId }`. */
  readonly commits: Readonly<Record<string, number>>;
  /** Number of key buckets (parts). */
  readonly parts: number;
  /** Object-key prefix the parts are written under (deleted once the dataset is ready). */
  readonly prefix: string;
}

/** Request of {@link planTrainingData}. */
export interface PlanTrainingDataRequest {
  readonly featureView: { readonly name: string; readonly version?: number };
  /** Number of parts (key buckets), 2…256. */
  readonly parts: number;
  /** Read the groups as of this time. @default the latest commits */
  readonly asOf?: Date;
  /** Names the job (its retries share the plan's part prefix). */
  readonly idempotencyKey: string;
}

/**
 * Pins the commits a partitioned job reads and names where its parts go. Refuses a view whose spine
 * is a table (parts read the spine feature group by bucket).
 */
export async function planTrainingData(
  deps: FeatureViewDeps,
  request: PlanTrainingDataRequest,
): Promise<TrainingDataPlan> {
  const record = await getFeatureView(deps.db, request.featureView.name, request.featureView.version);
  const view = record.view;
  const label = `partitioned training data for ${view.name} v${view.version}`;
  if (!Number.isInteger(request.parts) || request.parts < 2 || request.parts > MAX_KEY_BUCKETS)
    throw new ValidationError(
      `${label}: parts must be an integer from 2 to ${MAX_KEY_BUCKETS} (1 part: create the dataset in one job).`,
      { location: 'parts' },
    );
  if (view.spine.kind !== 'group')
    throw new ValidationError(
      `${label}: the view's spine is a table passed with each request; parts read a spine feature group by key bucket. Create this dataset in one job.`,
      { location: 'parts' },
    );
  const pins = await resolvePins(deps, view, request.asOf);
  const job = createHash('sha256').update(request.idempotencyKey).digest('hex').slice(0, 24);
  return {
    featureView: { name: view.name, version: view.version },
    commits: pinsToCommits(view, pins),
    parts: request.parts,
    prefix: joinKey('training-data-parts', view.name, `v${view.version}`, job),
  };
}

/** Request of {@link materializeTrainingDataPart}. */
export interface TrainingDataPartRequest {
  readonly plan: TrainingDataPlan;
  /** The bucket this part makes, 0 … parts − 1. */
  readonly index: number;
  /** Spine event-time range, as the dataset's. */
  readonly start?: Date;
  readonly end?: Date;
}

/** Object key of part `index` of a plan. */
export function partKey(plan: TrainingDataPlan, index: number): string {
  return joinKey(plan.prefix, `part-${String(index).padStart(3, '0')}-of-${plan.parts}.parquet`);
}

/**
 * Makes one part: the spine rows whose key falls in bucket `index`, joined point-in-time at the
 * plan's commits, written to {@link partKey}. Idempotent: a retry writes the same rows to the same
 * key.
 */
export async function materializeTrainingDataPart(
  deps: FeatureViewDeps,
  request: TrainingDataPartRequest,
): Promise<{ readonly key: string; readonly rows: number }> {
  const { plan, index } = request;
  if (!Number.isInteger(index) || index < 0 || index >= plan.parts)
    throw new ValidationError(`part ${index} is outside 0…${plan.parts - 1}.`, { location: 'index' });
  const record = await getFeatureView(deps.db, plan.featureView.name, plan.featureView.version);
  const view = record.view;
  const range =
    request.start || request.end
      ? { start: request.start ?? new Date(0), end: request.end ?? new Date('9999-01-01T00:00:00Z') }
      : undefined;
  if (range) assertRange(range, `training data for ${view.name} v${view.version}`);
  const key = partKey(plan, index);
  const local = await deps.cache.scratchPath(`part-${index}.parquet`);
  await fs.promises.mkdir(path.join(deps.scratchDir, 'duck'), { recursive: true });
  try {
    const rows = await withDuck(
      (duck) =>
        materializeView(duck, deps, view, {
          pins: commitsToPins(view, plan.commits),
          spine: { kind: 'group', ...(range ? { range } : {}) },
          output: '_fti_unused',
          purpose: 'training',
          onDemand: deps.onDemand,
          scratchDir: deps.scratchDir,
          part: { count: plan.parts, index, path: local },
        }),
      { threads: deps.threads ?? 2, tempDirectory: path.join(deps.scratchDir, 'duck') },
    );
    await deps.store.putFile(key, local);
    return { key, rows };
  } finally {
    await fs.promises.rm(local, { force: true });
  }
}

/** Removes a plan's parts (after its dataset is ready, or when the job gives up). */
export async function deleteTrainingDataParts(deps: FeatureViewDeps, plan: TrainingDataPlan): Promise<void> {
  await deps.store.deletePrefix(`${plan.prefix}/`);
}
