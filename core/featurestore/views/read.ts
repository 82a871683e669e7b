import path from 'node:path';
import { sqlPath, withDuck, type DuckSession } from '../../duckdb';
import { ValidationError } from '../../errors';
import { quoteIdent } from '../../identifiers';
import { joinKey } from '../../storage';
import type { FeatureViewDeps } from './deps';
import { encodeFeature, passthrough, type FittedTransformations, type RawValue } from './model-transforms';
import {
  commitsToPins,
  pinsToCommits,
  materializeView,
  outputColumns,
  resolvePins,
  SPINE_ROW,
  type SnapshotPins,
  type TimeRange,
} from './pit-join';
import { getFeatureView } from './repository';
import type { ResolvedFeatureView } from './resolve';
import { loadSpine, type SpineInput } from './spine-input';
import { getTrainingDataset, type SplitName, type TrainingDatasetInfo } from './training-data';

/** Model inputs of many rows, ready for a trainer or an ONNX session. */
export interface FeatureMatrix {
  /** Transformed input column names (one-hot expanded), = columns of `X`. */
  readonly featureNames: readonly string[];
  readonly rows: number;
  readonly cols: number;
  /** Row-major `rows × cols`; missing values are NaN. */
  readonly X: Float64Array;
  /** Label columns as read (untransformed). */
  readonly labels: Readonly<Record<string, readonly unknown[]>>;
  /** The first label as numbers (booleans → 0/1; text labels → their sorted index), when there is one. */
  readonly y?: Float64Array;
  /** Class names when the first label is text (index = value in `y`). */
  readonly classes?: readonly string[];
  /** Keys, event time and helper columns, for joining predictions back. */
  readonly columns: Readonly<Record<string, readonly unknown[]>>;
}

/**
 * Replaces a row's feature columns with their transformed outputs (one-hot expands into
 * `feature=category` columns); other columns are kept. Uses the same per-value code as vectors.
 */
export function transformRow(
  fitted: FittedTransformations,
  row: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const features = new Set(fitted.features);
  for (const [k, v] of Object.entries(row)) if (!features.has(k)) out[k] = v;
  const values: number[] = [];
  for (const f of fitted.features) encodeFeature(fitted, f, row[f] as RawValue, values);
  fitted.outputs.forEach((name, i) => (out[name] = Number.isNaN(values[i]!) ? null : values[i]));
  return out;
}

/**
 * Encodes a column-shaped batch (one array per raw feature, as {@link DuckSession.columns} returns
 * it) into the model-input matrix, with the same per-value code as {@link toMatrix}: the cheaper
 * path for batch scoring, which needs no row objects.
 */
export function toInputMatrix(
  fitted: FittedTransformations,
  columns: Readonly<Record<string, readonly unknown[]>>,
  rows: number,
): { X: Float64Array; rows: number; cols: number } {
  const cols = fitted.outputs.length;
  const X = new Float64Array(rows * cols);
  const scratch: number[] = [];
  const sources = fitted.features.map((f) => columns[f] ?? []);
  for (let r = 0; r < rows; r++) {
    scratch.length = 0;
    for (let i = 0; i < sources.length; i++)
      encodeFeature(fitted, fitted.features[i]!, sources[i]![r] as RawValue, scratch);
    X.set(scratch, r * cols);
  }
  return { X, rows, cols };
}

/** Encodes rows into a {@link FeatureMatrix}. */
export function toMatrix(
  fitted: FittedTransformations,
  rows: readonly Readonly<Record<string, unknown>>[],
  labels: readonly string[],
  otherColumns: readonly string[],
): FeatureMatrix {
  const cols = fitted.outputs.length;
  const X = new Float64Array(rows.length * cols);
  const scratch: number[] = [];
  rows.forEach((row, r) => {
    scratch.length = 0;
    for (const f of fitted.features) encodeFeature(fitted, f, row[f] as RawValue, scratch);
    X.set(scratch, r * cols);
  });
  const labelColumns: Record<string, unknown[]> = {};
  for (const l of labels) labelColumns[l] = rows.map((r) => r[l] ?? null);
  const columns: Record<string, unknown[]> = {};
  for (const c of otherColumns) columns[c] = rows.map((r) => r[c] ?? null);
  const first = labels[0];
  let y: Float64Array | undefined;
  let classes: string[] | undefined;
  if (first !== undefined) {
    const values = labelColumns[first]!;
    if (values.some((v) => typeof v === 'string')) {
      classes = [...new Set(values.filter((v) => v !== null).map(String))].sort();
      y = Float64Array.from(values, (v) => (v === null ? Number.NaN : classes!.indexOf(String(v))));
    } else {
      y = Float64Array.from(values, (v) =>
        v === null ? Number.NaN : typeof v === 'boolean' ? (v ? 1 : 0) : Number(v as number),
      );
    }
  }
  return {
    featureNames: fitted.outputs,
    rows: rows.length,
    cols,
    X,
    labels: labelColumns,
    ...(y ? { y } : {}),
    ...(classes ? { classes } : {}),
    columns,
  };
}

/** Options of {@link readTrainingData}. */
export interface ReadTrainingDataOptions {
  /** @default 'train' */
  readonly split?: SplitName;
  /** Apply the dataset's fitted transformations. @default true */
  readonly transformed?: boolean;
}

/** Rows of one split of a training dataset (transformed unless asked otherwise). */
export async function readTrainingData(
  deps: FeatureViewDeps,
  featureView: { name: string; version?: number },
  version: number | undefined,
  options: ReadTrainingDataOptions = {},
): Promise<{ dataset: TrainingDatasetInfo; rows: Record<string, unknown>[] }> {
  const { dataset, rows } = await readSplit(deps, featureView, version, options.split ?? 'train');
  const fitted = dataset.transformation;
  return {
    dataset,
    rows: options.transformed === false ? rows : rows.map((r) => transformRow(fitted, r)),
  };
}

/** One split of a training dataset as a {@link FeatureMatrix} for trainers. */
export async function readTrainingMatrix(
  deps: FeatureViewDeps,
  featureView: { name: string; version?: number },
  version: number | undefined,
  split: SplitName = 'train',
): Promise<{ dataset: TrainingDatasetInfo; view: ResolvedFeatureView; matrix: FeatureMatrix }> {
  const { dataset, rows, view } = await readSplit(deps, featureView, version, split);
  const others = view.columns
    .filter((c) => c.role === 'key' || c.role === 'event_time' || c.role === 'training_helper')
    .map((c) => c.name);
  return { dataset, view, matrix: toMatrix(dataset.transformation, rows, view.labels, others) };
}

async function readSplit(
  deps: FeatureViewDeps,
  featureView: { name: string; version?: number },
  version: number | undefined,
  split: SplitName,
): Promise<{ dataset: TrainingDatasetInfo; view: ResolvedFeatureView; rows: Record<string, unknown>[] }> {
  const { record, dataset } = await getTrainingDataset(deps, featureView, version);
  if (dataset.rowCounts[split] === undefined)
    throw new ValidationError(
      `training dataset ${record.view.name} v${record.view.version} #${dataset.version} has no ${split} split (splits: ${Object.keys(dataset.rowCounts).join(', ')}).`,
      { location: 'split' },
    );
  const local = await deps.cache.localPath(joinKey(dataset.storagePrefix, `${split}.parquet`));
  const rows = await withDuck(
    (duck) => duck.all<Record<string, unknown>>(`SELECT * FROM read_parquet(${sqlPath(local)})`),
    {
      threads: deps.threads ?? 2,
    },
  );
  return { dataset, view: record.view, rows };
}

/** Request of {@link materializeBatch}. */
export interface BatchRequest {
  readonly featureView: { readonly name: string; readonly version?: number };
  /** Spine rows in this event-time range (spine feature group), or… */
  readonly range?: TimeRange;
  /** …these spine rows (entities and event times to score). */
  readonly spine?: SpineInput;
  /** Read the feature groups at these commits (`{ "<group>@v<n>": commitId }`) or as of this time. */
  readonly commits?: Readonly<Record<string, number>>;
  readonly asOf?: Date;
  /** Training-dataset version whose fitted transformations apply (none: passthrough). */
  readonly trainingDatasetVersion?: number;
}

/** A materialized batch: DuckDB table `relation` (view columns for inference, `_fti_spine_row` first). */
export interface MaterializedBatch {
  readonly relation: string;
  readonly rows: number;
  readonly view: ResolvedFeatureView;
  readonly pins: SnapshotPins;
  /** The commits read, as `{ "<group>@v<n>": commitId }`. */
  readonly commits: Readonly<Record<string, number>>;
  readonly transformation: FittedTransformations;
}

/**
 * Builds the view's inference data (labels and training helpers excluded) for a time range or a
 * spine, as of given commits or a time, into a DuckDB table of `duck` — the input of batch scoring.
 */
export async function materializeBatch(
  duck: DuckSession,
  deps: FeatureViewDeps,
  request: BatchRequest,
  relation = '_fti_batch_view',
): Promise<MaterializedBatch> {
  const record = await getFeatureView(deps.db, request.featureView.name, request.featureView.version);
  const view = record.view;
  if (!request.range && !request.spine)
    throw new ValidationError(`batch data for ${view.name}: pass a time range or spine rows.`, {
      location: 'range',
    });
  const transformation =
    request.trainingDatasetVersion === undefined
      ? passthrough(view.features)
      : (await getTrainingDataset(deps, request.featureView, request.trainingDatasetVersion)).dataset
          .transformation;
  const pins = request.commits
    ? commitsToPins(view, request.commits)
    : await resolvePins(deps, view, request.asOf);
  const spine = request.spine
    ? ({
        kind: 'relation',
        relation: await loadSpine(duck, deps, request.spine, '_fti_batch_spine'),
      } as const)
    : ({ kind: 'group' } as const);
  const rows = await materializeView(duck, deps, view, {
    pins,
    spine: request.range ? { ...spine, range: request.range } : spine,
    output: relation,
    purpose: 'inference',
    onDemand: deps.onDemand,
    scratchDir: deps.scratchDir,
  });
  return { relation, rows, view, pins, commits: pinsToCommits(view, pins), transformation };
}

/**
 * Reads a materialized batch in chunks of `chunkSize` rows: the raw rows and their model inputs,
 * encoded by the same code as training reads and online vectors.
 */
export async function* batchChunks(
  duck: DuckSession,
  batch: MaterializedBatch,
  chunkSize = 50_000,
): AsyncGenerator<{ rows: Record<string, unknown>[]; matrix: FeatureMatrix }> {
  const others = outputColumns(batch.view, 'inference').filter((c) => !batch.view.features.includes(c));
  for (let last = 0; ;) {
    const rows = await duck.all<Record<string, unknown>>(
      `SELECT * FROM ${quoteIdent(batch.relation)} WHERE ${SPINE_ROW} > ${last} ORDER BY ${SPINE_ROW} LIMIT ${chunkSize}`,
    );
    if (rows.length === 0) return;
    last = Number(rows.at(-1)![SPINE_ROW]);
    yield { rows, matrix: toMatrix(batch.transformation, rows, [], others) };
  }
}

/** Convenience: the whole batch as rows and a matrix (small batches, notebooks, tests). */
export async function getBatchData(
  deps: FeatureViewDeps,
  request: BatchRequest,
): Promise<{
  batch: Omit<MaterializedBatch, 'relation'>;
  rows: Record<string, unknown>[];
  matrix: FeatureMatrix;
}> {
  return withDuck(
    async (duck) => {
      const batch = await materializeBatch(duck, deps, request, '_fti_batch_view');
      const rows = await duck.all<Record<string, unknown>>(
        `SELECT * EXCLUDE (${SPINE_ROW}) FROM _fti_batch_view ORDER BY ${SPINE_ROW}`,
      );
      const others = outputColumns(batch.view, 'inference').filter((c) => !batch.view.features.includes(c));
      const { relation: _relation, ...rest } = batch;
      return { batch: rest, rows, matrix: toMatrix(batch.transformation, rows, [], others) };
    },
    { threads: deps.threads ?? 2, tempDirectory: path.join(deps.scratchDir, 'duck') },
  );
}
