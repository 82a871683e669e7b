import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { and, desc, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { tables } from '../../db';
import { sqlPath, withDuck, type DuckSession } from '../../duckdb';
import { FtiError, ValidationError } from '../../errors';
import { quoteIdent } from '../../identifiers';
import { joinKey } from '../../storage';
import type { FeatureType } from '../feature-group';
import { computeStatistics, type BatchStatistics } from '../statistics';
import type { FeatureViewDeps } from './deps';
import {
  encodeFeature,
  fitTransformations,
  outputsOf,
  type FittedTransformations,
  type RawValue,
} from './model-transforms';
import { NUMERIC_TYPES } from '../sketches';
import {
  numericProfileOf,
  profileRelation,
  type ColumnProfile,
  type DataProfile,
  type ProfileColumn,
} from '../../monitoring/profile';
import {
  assertRange,
  commitsToPins,
  pinsToCommits,
  materializeView,
  onDemandTypes,
  outputColumns,
  resolvePins,
  SPINE_ROW,
  type SnapshotPins,
  type SpineSource,
} from './pit-join';
import { getFeatureView, type FeatureViewRecord } from './repository';
import type { ResolvedFeatureView } from './resolve';
import { loadSpine, type SpineInput } from './spine-input';

/** Split names a dataset may have. */
export const SPLIT_NAMES = ['train', 'validation', 'test'] as const;
/** A split name. */
export type SplitName = (typeof SPLIT_NAMES)[number];

const instant = z.union([z.date(), z.string().datetime({ offset: true })]).transform((v) => new Date(v));

/** How rows are split: not at all, seeded random fractions, or by event-time ranges. */
export const splitDefinitionSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('none') }),
  z.object({
    kind: z.literal('random'),
    fractions: z
      .object({
        train: z.number().gt(0).lt(1),
        validation: z.number().gt(0).lt(1).optional(),
        test: z.number().gt(0).lt(1),
      })
      .refine((f) => Math.abs(f.train + (f.validation ?? 0) + f.test - 1) < 1e-9, {
        message: 'fractions must add up to 1',
      }),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .default(42),
  }),
  z.object({
    kind: z.literal('time'),
    ranges: z.object({
      train: z.object({ start: instant, end: instant }),
      validation: z.object({ start: instant, end: instant }).optional(),
      test: z.object({ start: instant, end: instant }),
    }),
  }),
]);
/** A split definition as a caller writes it. */
export type SplitDefinition = z.input<typeof splitDefinitionSchema>;
type ParsedSplits = z.output<typeof splitDefinitionSchema>;

/** Request of {@link createTrainingData}. */
export interface CreateTrainingDataRequest {
  readonly featureView: { readonly name: string; readonly version?: number };
  /** Event-time range of spine rows: start inclusive, end exclusive. Omit both for all rows. */
  readonly start?: Date;
  readonly end?: Date;
  /** @default { kind: 'none' } (everything in `train`) */
  readonly splits?: SplitDefinition;
  /** Read every feature group as of this time (default: the latest commits). */
  readonly asOf?: Date;
  /** Spine rows for a view with a spine table (or to override the spine group's rows). */
  readonly spine?: SpineInput;
  readonly description?: string;
  /** Same key → same dataset version (retries and re-runs reuse it). */
  readonly idempotencyKey?: string;
  readonly pipelineRunId?: number;
  /**
   * The commits to read (`{ "<group>@v<version>": commitId }`), instead of resolving the latest (or
   * `asOf`) ones: a partitioned job pins once and hands the same commits to every part.
   */
  readonly commits?: Readonly<Record<string, number>>;
  /**
   * Object keys of the joined parts a partitioned job made with `materializeTrainingDataPart` (same
   * view, range and commits): the dataset is finished from them instead of joining here, and equals
   * the dataset one job would make.
   */
  readonly parts?: readonly string[];
}

/** A training dataset version as stored. */
export interface TrainingDatasetInfo {
  readonly id: number;
  readonly featureView: { readonly name: string; readonly version: number; readonly id: number };
  readonly version: number;
  readonly state: 'creating' | 'ready' | 'failed';
  readonly description: string;
  readonly start: Date | null;
  readonly end: Date | null;
  readonly splits: ParsedSplits;
  /**
   * Columns hashed to assign random splits ({@link splitKeyColumns}); null for datasets made before
   * split keys (assigned by row position) and for splits that hash nothing (none, time ranges).
   */
  readonly splitKey: readonly string[] | null;
  readonly seed: number | null;
  /** `{ "<group>@v<version>": commitId }` — the exact snapshot each feature group was read at. */
  readonly featureGroupCommits: Readonly<Record<string, number>>;
  readonly rowCounts: Readonly<Record<string, number>>;
  readonly contentHashes: Readonly<Record<string, string>>;
  readonly statistics: Readonly<Record<string, BatchStatistics>>;
  readonly transformation: FittedTransformations;
  readonly storagePrefix: string;
  readonly query: string;
  readonly createdAt: Date;
}

/** A training dataset version does not exist (or is not ready). */
export class TrainingDatasetNotFoundError extends FtiError {
  constructor(view: string, version: number | undefined, available: readonly number[]) {
    super(
      `feature view ${view}: training dataset ${version === undefined ? '' : `version ${version} `}not found` +
        (available.length ? ` (ready versions: ${available.join(', ')})` : '; create one (fti fv td create)'),
      { retryable: false },
    );
  }
}

type Row = typeof tables.trainingDatasets.$inferSelect;

function infoFrom(row: Row, view: { name: string; version: number; id: number }): TrainingDatasetInfo {
  const counts = row.rowCounts as { rows?: Record<string, number>; hashes?: Record<string, string> };
  return {
    id: row.id,
    featureView: view,
    version: row.version,
    state: row.state,
    description: row.description,
    start: row.startTime,
    end: row.endTime,
    splits: splitDefinitionSchema.parse(row.splits),
    splitKey: (row.splits as { key?: string[] }).key ?? null,
    seed: row.seed,
    featureGroupCommits: row.featureGroupCommits as Record<string, number>,
    rowCounts: counts.rows ?? {},
    contentHashes: counts.hashes ?? {},
    statistics: row.statistics as Record<string, BatchStatistics>,
    transformation: row.transformationParams as FittedTransformations,
    storagePrefix: row.storagePrefix,
    query: row.query,
    createdAt: row.createdAt,
  };
}

function parseSplits(splits: SplitDefinition | undefined, view: string): ParsedSplits {
  const parsed = splitDefinitionSchema.safeParse(splits ?? { kind: 'none' });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'splits'} ${i.message}`);
    throw new ValidationError(`training data for ${view}: splits: ${problems.join('; ')}`, {
      location: 'splits',
    });
  }
  if (parsed.data.kind === 'time')
    for (const [name, range] of Object.entries(parsed.data.ranges))
      if (range) assertRange(range, `splits.ranges.${name}`);
  return parsed.data;
}

function splitNames(splits: ParsedSplits): SplitName[] {
  if (splits.kind === 'none') return ['train'];
  const source = splits.kind === 'random' ? splits.fractions : splits.ranges;
  return SPLIT_NAMES.filter((s) => source[s] !== undefined);
}

/**
 * Columns whose values identify a training row, hashed to assign random splits: a feature-group
 * spine's record key (primary key + event time), or every column of a table spine. A row keeps its
 * split in every dataset version built with the same seed and fractions, whatever else changed
 * (new rows, a wider time range, other features), so a model never trained on another's test rows
 * by accident.
 */
export function splitKeyColumns(view: ResolvedFeatureView): string[] {
  if (view.spine.kind === 'group') {
    const spec = view.spine.group.spec;
    return [...new Set([...spec.primaryKey, spec.eventTime])];
  }
  return view.spineColumns.map((c) => c.name);
}

/**
 * SQL assigning a split name to each row of a relation with the view's columns. `key` null is the
 * assignment of datasets made before split keys (the row's position in the spine), kept so their
 * content can be recreated.
 */
export function splitExpression(
  splits: ParsedSplits,
  eventTime: string,
  key: readonly string[] | null,
): string {
  if (splits.kind === 'none') return `'train'`;
  if (splits.kind === 'random') {
    const hashed = key === null ? SPINE_ROW : key.map(quoteIdent).join(', ');
    const u = `(hash(${splits.seed}::BIGINT, ${hashed}) % 1000000)::DOUBLE / 1000000.0`;
    const f = splits.fractions;
    const parts = [`WHEN ${u} < ${f.train} THEN 'train'`];
    if (f.validation !== undefined) parts.push(`WHEN ${u} < ${f.train + f.validation} THEN 'validation'`);
    return `CASE ${parts.join(' ')} ELSE 'test' END`;
  }
  const et = `CAST(${quoteIdent(eventTime)} AS TIMESTAMP)`;
  const cases = Object.entries(splits.ranges)
    .filter(([, r]) => r !== undefined)
    .map(
      ([name, r]) =>
        `WHEN ${et} >= TIMESTAMP '${r!.start.toISOString().replace('Z', '')}' AND ${et} < TIMESTAMP '${r!.end.toISOString().replace('Z', '')}' THEN '${name}'`,
    );
  return `CASE ${cases.join(' ')} END`;
}

/** Column types of a view's training output (on-demand columns typed by their functions). */
function typedColumns(
  deps: FeatureViewDeps,
  view: ResolvedFeatureView,
  names: readonly string[],
): { name: string; type: FeatureType }[] {
  const odf = view.onDemand.length ? onDemandTypes(view, deps.onDemand) : {};
  return names.map((name) => ({ name, type: view.columns.find((c) => c.name === name)!.type ?? odf[name]! }));
}

interface Built {
  readonly files: Record<string, string>;
  readonly rows: Record<string, number>;
  readonly hashes: Record<string, string>;
  readonly statistics: Record<string, BatchStatistics>;
  readonly transformation: FittedTransformations;
  readonly query: string;
  readonly reference: TrainingReferenceProfile;
}

/** Materializes, splits, fits and writes local Parquet files — nothing leaves the machine yet. */
async function build(
  duck: DuckSession,
  deps: FeatureViewDeps,
  view: ResolvedFeatureView,
  pins: SnapshotPins,
  splits: ParsedSplits,
  splitKey: readonly string[] | null,
  range: { start: Date; end: Date } | undefined,
  spine: SpineSource,
  dir: string,
  parts?: readonly string[],
): Promise<Built> {
  const rowsTotal = await materializeView(duck, deps, view, {
    pins,
    spine: range ? { ...spine, range } : spine,
    ...(parts ? { fromParts: parts } : {}),
    output: '_fti_view',
    purpose: 'training',
    onDemand: deps.onDemand,
    scratchDir: deps.scratchDir,
    // Every read below either aggregates or orders by the spine row itself (the Parquet writes sort):
    // a physically ordered table would be sorted twice.
    ordered: false,
  });
  if (rowsTotal === 0)
    throw new ValidationError(
      `training data for ${view.name} v${view.version}: no spine rows${range ? ` in [${range.start.toISOString()}, ${range.end.toISOString()})` : ''}${view.filters.length ? ' after filters' : ''}; widen the time range.`,
      { location: 'start/end' },
    );
  const columns = outputColumns(view, 'training');
  await duck.run(
    `CREATE OR REPLACE TEMP TABLE _fti_td AS SELECT *, ${splitExpression(splits, view.eventTime, splitKey)} AS _fti_split FROM _fti_view`,
  );
  const files: Record<string, string> = {};
  const rows: Record<string, number> = {};
  const hashes: Record<string, string> = {};
  const statistics: Record<string, BatchStatistics> = {};
  const typed = typedColumns(deps, view, columns);
  // Timestamps are written zone-aware (UTC), so pandas and pyarrow read datetime64[ns, UTC].
  const timestamps = new Set(
    (await duck.describe('SELECT * FROM _fti_td'))
      .filter((c) => /^TIMESTAMP(_NS|_MS|_S)?$/.test(c.type))
      .map((c) => c.name),
  );
  for (const split of splitNames(splits)) {
    const relation = `_fti_split_${split}`;
    await duck.run(
      `CREATE OR REPLACE TEMP VIEW ${relation} AS SELECT ${SPINE_ROW}, ${columns.map(quoteIdent).join(', ')} FROM _fti_td WHERE _fti_split = '${split}'`,
    );
    const summary = await duck.one<{ n: bigint; h: string | null }>(
      `SELECT count(*) AS n, sum(hash(t)::HUGEINT)::VARCHAR AS h FROM ${relation} t`,
    );
    rows[split] = Number(summary?.n ?? 0);
    hashes[split] = summary?.h ?? '0';
    if (split === 'train' && rows[split] === 0)
      throw new ValidationError(
        `training data for ${view.name} v${view.version}: the train split is empty; check the split definition.`,
        { location: 'splits' },
      );
    const file = path.join(dir, `${split}.parquet`);
    await duck.run(
      `COPY (SELECT ${columns.map((c) => (timestamps.has(c) ? `timezone('UTC', ${quoteIdent(c)}) AS ${quoteIdent(c)}` : quoteIdent(c))).join(', ')} FROM ${relation} ORDER BY ${SPINE_ROW}) TO ${sqlPath(file)} (FORMAT parquet, COMPRESSION zstd)`,
    );
    files[split] = file;
    statistics[split] = await computeStatistics(duck, relation, typed);
  }
  // Transformations are fitted on the train split only.
  const declared = view.definition.transformations;
  const toFit = view.features.filter((f) => declared[f] !== undefined);
  const trainValues: Record<string, RawValue[]> = {};
  if (toFit.length) {
    const values = await duck.all<Record<string, RawValue>>(
      // In spine order, so fitted parameters and the reference profile sum floats in the same order every time.
      `SELECT ${toFit.map(quoteIdent).join(', ')} FROM _fti_split_train ORDER BY ${SPINE_ROW}`,
    );
    for (const f of toFit) trainValues[f] = values.map((r) => r[f]);
  }
  const transformation = fitTransformations(view.features, declared, (f) => trainValues[f] ?? []);
  const reference = await trainReferenceProfile(duck, typed, view.features, transformation, trainValues);
  await duck.run('DROP TABLE IF EXISTS _fti_td; DROP TABLE IF EXISTS _fti_view');
  return {
    reference,
    files,
    rows,
    hashes,
    statistics,
    transformation,
    query: describeQuery(view, range),
  };
}

/**
 * The monitoring reference of a training dataset: profiles of the train split's model features as
 * stored (raw) and of the model inputs that transformations produce (one-hot columns, scaled values;
 * passthrough features appear only under `features`).
 */
export interface TrainingReferenceProfile {
  readonly features: DataProfile;
  readonly modelInputs: DataProfile;
}

async function trainReferenceProfile(
  duck: DuckSession,
  typed: readonly { name: string; type: FeatureType }[],
  features: readonly string[],
  transformation: FittedTransformations,
  trainValues: Readonly<Record<string, RawValue[]>>,
): Promise<TrainingReferenceProfile> {
  const columns = typed.flatMap((c): ProfileColumn[] =>
    !features.includes(c.name)
      ? []
      : NUMERIC_TYPES.has(c.type)
        ? [{ name: c.name, kind: 'numeric' }]
        : c.type === 'string' || c.type === 'bool'
          ? [{ name: c.name, kind: 'categorical' }]
          : [],
  );
  const raw = await profileRelation(duck, '_fti_split_train', columns);
  const modelInputs: Record<string, ColumnProfile> = {};
  let rows = 0;
  for (const [feature, values] of Object.entries(trainValues)) {
    if (!(transformation.steps[feature]?.length ?? 0)) continue;
    const outputs = outputsOf(feature, transformation.steps[feature]!);
    const encoded = outputs.map(() => new Float64Array(values.length));
    const row: number[] = [];
    values.forEach((value, i) => {
      row.length = 0;
      try {
        encodeFeature(transformation, feature, value, row);
      } catch {
        row.push(...outputs.map(() => Number.NaN));
      }
      outputs.forEach((_, j) => (encoded[j]![i] = row[j] ?? Number.NaN));
    });
    outputs.forEach((name, j) => (modelInputs[name] = numericProfileOf(encoded[j]!)));
    rows = values.length;
  }
  return { features: raw, modelInputs: { rows, columns: modelInputs } };
}

/** A readable rendering of the view's join plan, stored for inspection. */
export function describeQuery(view: ResolvedFeatureView, range?: { start: Date; end: Date }): string {
  const spine =
    view.spine.kind === 'group'
      ? `${view.spine.group.spec.name} v${view.spine.group.spec.version}`
      : 'caller-supplied spine';
  const joins = view.joins.map(
    (j) =>
      `ASOF LEFT JOIN ${j.group.spec.name} v${j.group.spec.version} ON ${j.on.map((p) => `${p.spineColumn} = ${p.groupColumn}`).join(' AND ')} AND ${view.eventTime} >= ${j.group.spec.eventTime}${j.lookback ? ` (lookback ${j.lookback})` : ''}`,
  );
  const where = [
    ...(range ? [`${view.eventTime} IN [${range.start.toISOString()}, ${range.end.toISOString()})`] : []),
    ...view.filters.map(
      (f) => `${f.column} ${f.op}${f.value === undefined ? '' : ` ${JSON.stringify(f.value)}`}`,
    ),
  ];
  return `SELECT ${view.columns.map((c) => c.name).join(', ')} FROM ${spine} ${joins.join(' ')}${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`;
}

function rangeOf(
  request: { start?: Date; end?: Date },
  what: string,
): { start: Date; end: Date } | undefined {
  if (request.start === undefined && request.end === undefined) return undefined;
  const range = { start: request.start ?? new Date(0), end: request.end ?? new Date('9999-01-01T00:00:00Z') };
  assertRange(range, what);
  return range;
}

/**
 * Creates a training dataset version of a feature view: point-in-time join of the spine rows in
 * [start, end) at the latest (or `asOf`) commits, split, transformation parameters fitted on the
 * train split, Parquet per split in the object store, and a row recording everything needed to
 * recreate identical content. Every check runs before anything is written; a retry with the same
 * idempotency key returns the same version.
 */
export async function createTrainingData(
  deps: FeatureViewDeps,
  request: CreateTrainingDataRequest,
): Promise<TrainingDatasetInfo> {
  const record = await getFeatureView(deps.db, request.featureView.name, request.featureView.version);
  const view = record.view;
  const label = `training data for ${view.name} v${view.version}`;
  const range = rangeOf(request, label);
  const splits = parseSplits(request.splits, `${view.name} v${view.version}`);
  const idempotencyKey = request.idempotencyKey ?? randomUUID();
  const existing = await findByKey(deps, record, idempotencyKey);
  if (existing?.state === 'ready') return existing;
  if (view.spine.kind === 'table' && !request.spine)
    throw new ValidationError(`${label}: the view's spine is a table; pass spine rows.`, {
      location: 'spine',
    });
  if (request.parts && (request.spine || request.parts.length === 0))
    throw new ValidationError(
      `${label}: parts come from the spine feature group's rows and need at least one part; ${request.spine ? 'leave out spine' : 'pass the parts made'}.`,
      { location: 'parts' },
    );
  const pins = existing
    ? commitsToPins(view, existing.featureGroupCommits)
    : request.commits
      ? commitsToPins(view, request.commits)
      : await resolvePins(deps, view, request.asOf);
  const dir = await fs.promises.mkdtemp(path.join(ensureDir(deps.scratchDir), 'td-'));
  try {
    return await withDuck(
      async (duck) => {
        const spine: SpineSource = request.spine
          ? { kind: 'relation', relation: await loadSpine(duck, deps, request.spine, '_fti_user_spine') }
          : { kind: 'group' };
        const parts = request.parts ? await deps.cache.localPaths(request.parts) : undefined;
        const built = await build(
          duck,
          deps,
          view,
          pins,
          splits,
          splitKeyColumns(view),
          range,
          spine,
          dir,
          parts,
        );
        if (request.spine) {
          await duck.run(
            `COPY (SELECT * FROM _fti_user_spine) TO ${sqlPath(path.join(dir, 'spine.parquet'))} (FORMAT parquet, COMPRESSION zstd)`,
          );
        }
        const row = await allocate(deps, record, idempotencyKey, {
          description: request.description ?? '',
          startTime: range?.start ?? null,
          endTime: range?.end ?? null,
          // The split key is stored with the definition: datasets made before it split by row position.
          splits: splits.kind === 'random' ? { ...splits, key: splitKeyColumns(view) } : splits,
          seed: splits.kind === 'random' ? splits.seed : null,
          featureGroupCommits: pinsToCommits(view, pins),
          pipelineRunId: request.pipelineRunId ?? null,
        });
        for (const [split, file] of Object.entries(built.files))
          await deps.store.putFile(joinKey(row.storagePrefix, `${split}.parquet`), file);
        if (request.spine)
          await deps.store.putFile(
            joinKey(row.storagePrefix, 'spine.parquet'),
            path.join(dir, 'spine.parquet'),
          );
        const [ready] = await deps.db
          .update(tables.trainingDatasets)
          .set({
            state: 'ready',
            query: built.query,
            rowCounts: {
              rows: built.rows,
              hashes: built.hashes,
              spine: request.spine ? 'spine.parquet' : null,
            },
            statistics: built.statistics,
            transformationParams: built.transformation,
            referenceProfile: built.reference,
          })
          .where(eq(tables.trainingDatasets.id, row.id))
          .returning();
        return infoFrom(ready!, { name: view.name, version: view.version, id: record.id });
      },
      { threads: deps.threads ?? 2, tempDirectory: path.join(deps.scratchDir, 'duck') },
    );
  } finally {
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
}

function ensureDir(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

async function findByKey(
  deps: FeatureViewDeps,
  record: FeatureViewRecord,
  idempotencyKey: string,
): Promise<TrainingDatasetInfo | undefined> {
  const [row] = await deps.db
    .select()
    .from(tables.trainingDatasets)
    .where(
      and(
        eq(tables.trainingDatasets.featureViewId, record.id),
        eq(tables.trainingDatasets.idempotencyKey, idempotencyKey),
      ),
    );
  return row
    ? infoFrom(row, { name: record.view.name, version: record.view.version, id: record.id })
    : undefined;
}

/** Takes the next version for the view (or the row a crashed attempt with the same key left). */
async function allocate(
  deps: FeatureViewDeps,
  record: FeatureViewRecord,
  idempotencyKey: string,
  fields: Omit<
    typeof tables.trainingDatasets.$inferInsert,
    'featureViewId' | 'version' | 'idempotencyKey' | 'storagePrefix'
  >,
): Promise<Row> {
  return deps.db.transaction(async (tx) => {
    await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtext(${`td:${record.id}`}))`);
    const t = tables.trainingDatasets;
    const [existing] = await tx
      .select()
      .from(t)
      .where(and(eq(t.featureViewId, record.id), eq(t.idempotencyKey, idempotencyKey)));
    if (existing) return existing;
    const [latest] = await tx
      .select({ v: t.version })
      .from(t)
      .where(eq(t.featureViewId, record.id))
      .orderBy(desc(t.version))
      .limit(1);
    const version = (latest?.v ?? 0) + 1;
    const [row] = await tx
      .insert(t)
      .values({
        ...fields,
        featureViewId: record.id,
        version,
        idempotencyKey,
        state: 'creating',
        storagePrefix: joinKey(
          'training-datasets',
          record.view.name,
          `v${record.view.version}`,
          `td${version}-${idempotencyKey.replace(/[^A-Za-z0-9_-]/g, '').slice(0, 12)}`,
        ),
      })
      .returning();
    return row!;
  });
}

/** A ready training dataset version (the latest ready one when `version` is omitted). */
export async function getTrainingDataset(
  deps: Pick<FeatureViewDeps, 'db'>,
  featureView: { name: string; version?: number },
  version?: number,
): Promise<{ record: FeatureViewRecord; dataset: TrainingDatasetInfo }> {
  const record = await getFeatureView(deps.db, featureView.name, featureView.version);
  const rows = await deps.db
    .select()
    .from(tables.trainingDatasets)
    .where(
      and(eq(tables.trainingDatasets.featureViewId, record.id), eq(tables.trainingDatasets.state, 'ready')),
    )
    .orderBy(desc(tables.trainingDatasets.version));
  const row = version === undefined ? rows[0] : rows.find((r) => r.version === version);
  if (!row)
    throw new TrainingDatasetNotFoundError(
      `${record.view.name} v${record.view.version}`,
      version,
      rows.map((r) => r.version),
    );
  return {
    record,
    dataset: infoFrom(row, { name: record.view.name, version: record.view.version, id: record.id }),
  };
}

/** Every training dataset version of a view version, newest first (any state). */
export async function listTrainingDatasets(
  deps: Pick<FeatureViewDeps, 'db'>,
  featureView: { name: string; version?: number },
): Promise<TrainingDatasetInfo[]> {
  const record = await getFeatureView(deps.db, featureView.name, featureView.version);
  const rows = await deps.db
    .select()
    .from(tables.trainingDatasets)
    .where(eq(tables.trainingDatasets.featureViewId, record.id))
    .orderBy(desc(tables.trainingDatasets.version));
  return rows.map((r) =>
    infoFrom(r, { name: record.view.name, version: record.view.version, id: record.id }),
  );
}

/**
 * Rebuilds a dataset version from what it recorded (commits, range, splits, seed, spine) and
 * compares the content hash of every split with the stored one. Returns the per-split outcome;
 * `identical` is true when every split matches.
 */
export async function recreateTrainingData(
  deps: FeatureViewDeps,
  featureView: { name: string; version?: number },
  version: number,
): Promise<{
  identical: boolean;
  splits: Record<string, { stored: string; rebuilt: string; rows: number }>;
}> {
  const { record, dataset } = await getTrainingDataset(deps, featureView, version);
  const view = record.view;
  const range = dataset.start && dataset.end ? { start: dataset.start, end: dataset.end } : undefined;
  const dir = await fs.promises.mkdtemp(path.join(ensureDir(deps.scratchDir), 'td-re-'));
  try {
    return await withDuck(async (duck) => {
      let spine: SpineSource = { kind: 'group' };
      const spineFile = (await deps.store.exists(joinKey(dataset.storagePrefix, 'spine.parquet')))
        ? joinKey(dataset.storagePrefix, 'spine.parquet')
        : undefined;
      if (spineFile)
        spine = {
          kind: 'relation',
          relation: await loadSpine(duck, deps, { objectKey: spineFile }, '_fti_user_spine'),
        };
      const built = await build(
        duck,
        deps,
        view,
        commitsToPins(view, dataset.featureGroupCommits),
        dataset.splits,
        dataset.splitKey,
        range,
        spine,
        dir,
      );
      const splits: Record<string, { stored: string; rebuilt: string; rows: number }> = {};
      for (const [split, hash] of Object.entries(built.hashes))
        splits[split] = {
          stored: dataset.contentHashes[split] ?? '',
          rebuilt: hash,
          rows: built.rows[split]!,
        };
      return { identical: Object.values(splits).every((s) => s.stored === s.rebuilt), splits };
    });
  } finally {
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
}
