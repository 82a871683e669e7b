import fs from 'node:fs';
import path from 'node:path';
import { sqlPath, type DuckSession, type SqlParam } from '../../duckdb';
import { ValidationError } from '../../errors';
import { quoteIdent } from '../../identifiers';
import { DUCK_TYPES } from '../conform';
import type { FeatureType } from '../feature-group';
import type { FeatureGroupRecord } from '../feature-group-repository';
import { CommitNotFoundError } from '../errors';
import { OfflineTable, type OfflineStoreDeps } from '../offline/offline-table';
import { keyBucketSql } from '../offline/partitioning';
import { durationMs, intervalOf } from '../transformations';
import { computeOnDemand, type OnDemandRegistry } from './on-demand';
import type { ResolvedFeatureView } from './resolve';

/** Internal column carrying each spine row's position (deterministic, 1-based). */
export const SPINE_ROW = '_fti_spine_row';
const SPINE_TIME = '_fti_st';
const GROUP_TIME = '_fti_t';

/** The commit each feature group of a view is read at, by feature-group id. */
export type SnapshotPins = Readonly<Record<number, number>>;

/** A time range, start inclusive, end exclusive. */
export interface TimeRange {
  readonly start: Date;
  readonly end: Date;
}

/** Checks that a range is ordered; the error names the field and the fix. */
export function assertRange(range: TimeRange, what: string): void {
  for (const [name, value] of [
    ['start', range.start],
    ['end', range.end],
  ] as const) {
    if (!(value instanceof Date) || Number.isNaN(value.getTime()))
      throw new ValidationError(`${what}: ${name} is not a valid time; pass an ISO-8601 timestamp.`, {
        location: `${what}.${name}`,
      });
  }
  if (range.start.getTime() >= range.end.getTime())
    throw new ValidationError(
      `${what}: start ${range.start.toISOString()} is not before end ${range.end.toISOString()}; the range is [start, end).`,
      { location: what },
    );
}

/** Every feature group a view reads (spine group first), each once. */
export function viewGroups(view: ResolvedFeatureView): FeatureGroupRecord[] {
  const all = [...(view.spine.kind === 'group' ? [view.spine.group] : []), ...view.joins.map((j) => j.group)];
  return all.filter((g, i) => all.findIndex((x) => x.id === g.id) === i);
}

/** Pins as `{ "<group>@v<version>": commitId }`, the form recorded with datasets and batches. */
export function pinsToCommits(view: ResolvedFeatureView, pins: SnapshotPins): Record<string, number> {
  return Object.fromEntries(viewGroups(view).map((g) => [`${g.spec.name}@v${g.spec.version}`, pins[g.id]!]));
}

/** The inverse of {@link pinsToCommits}; a group without an entry is an error naming it. */
export function commitsToPins(
  view: ResolvedFeatureView,
  commits: Readonly<Record<string, number>>,
): SnapshotPins {
  const pins: Record<number, number> = {};
  for (const g of viewGroups(view)) {
    const label = `${g.spec.name}@v${g.spec.version}`;
    const commit = commits[label];
    if (commit === undefined || !Number.isInteger(commit))
      throw new ValidationError(`feature view ${view.name}: commits has no entry for ${label}.`, {
        location: 'commits',
      });
    pins[g.id] = commit;
  }
  return pins;
}

/**
 * Resolves the commit every feature group of the view is read at: the latest completed commit, or
 * the latest as of a wall-clock time. A group without any commit is an error naming it.
 */
export async function resolvePins(
  deps: OfflineStoreDeps,
  view: ResolvedFeatureView,
  asOf?: Date,
): Promise<SnapshotPins> {
  const pins: Record<number, number> = {};
  for (const group of viewGroups(view)) {
    const head = await new OfflineTable(deps, group).pin(asOf);
    if (!head && asOf)
      throw new CommitNotFoundError(
        `${group.spec.name} v${group.spec.version}`,
        `at or before ${asOf.toISOString()}`,
      );
    if (!head)
      throw new ValidationError(
        `feature view ${view.name}: feature group ${group.spec.name} v${group.spec.version} has no committed data yet; run its feature pipeline first.`,
        { location: `${group.spec.name}` },
      );
    pins[group.id] = head.id;
  }
  return pins;
}

/** Where spine rows come from. */
export type SpineSource =
  /** The spine feature group's snapshot, event time in the range. */
  | { readonly kind: 'group'; readonly range?: TimeRange }
  /** A DuckDB relation in the same session holding at least the spine columns. */
  | { readonly kind: 'relation'; readonly relation: string; readonly range?: TimeRange };

/** Which helper columns a read returns. */
export type ReadPurpose = 'training' | 'inference';

/** Options of {@link materializeView}. */
export interface MaterializeOptions {
  readonly pins: SnapshotPins;
  readonly spine: SpineSource;
  /** Output table (created or replaced). */
  readonly output: string;
  readonly purpose: ReadPurpose;
  readonly onDemand: OnDemandRegistry;
  readonly scratchDir: string;
  /**
   * Store the output physically in `_fti_spine_row` order. Chunked readers (`WHERE _fti_spine_row >
   * last ORDER BY … LIMIT n`) want it; a caller that sorts by `_fti_spine_row` anyway when it writes
   * (training data's Parquet files) passes false and saves a sort of every output row and column.
   * Either way the rows and their `_fti_spine_row` numbers are the same.
   * @default true
   */
  readonly ordered?: boolean;
  /**
   * One part of a key-partitioned read: only spine rows whose partition key ({@link partitionKeyOf})
   * falls in bucket `index` of `count`; each joined group whose primary key is that key is read for
   * that bucket only. The joined rows (every spine column, every joined feature) are written to the
   * Parquet file `path` before filters, on-demand features and numbering, which {@link fromParts}
   * applies once over all parts. Returns the part's row count; `output` is not created.
   */
  readonly part?: { readonly count: number; readonly index: number; readonly path: string };
  /**
   * Joined rows made by the parts of a key-partitioned read (local Parquet paths): numbered, filtered
   * and finished exactly as a single read would, so the output equals it row for row.
   */
  readonly fromParts?: readonly string[];
}

/**
 * The spine columns a key-partitioned read hashes: the first join's spine columns, in the joined
 * group's primary-key order (every spine column when the view joins nothing).
 */
export function partitionKeyOf(view: ResolvedFeatureView): string[] {
  const first = view.joins[0];
  return first ? first.on.map((p) => p.spineColumn) : view.spineColumns.map((c) => c.name);
}

/**
 * Whether a group's rows for a spine bucket are exactly its rows in the same bucket: its primary
 * key is the partition key, column for column and type for type (the bucket hashes the key's text).
 */
function alignedWith(
  view: ResolvedFeatureView,
  key: readonly string[],
  pairs: readonly { readonly groupColumn: string; readonly spineColumn: string }[],
  group: FeatureGroupRecord,
): boolean {
  const pk = group.spec.primaryKey;
  if (pk.length !== key.length || pairs.length !== pk.length) return false;
  return pk.every((column, i) => {
    const pair = pairs.find((p) => p.groupColumn === column);
    const spineType = view.spineColumns.find((c) => c.name === key[i])?.type;
    const groupType = group.spec.features.find((f) => f.name === column)?.type;
    return pair?.spineColumn === key[i] && spineType !== undefined && spineType === groupType;
  });
}

/** The columns a read returns for a purpose (view order; on-demand included). */
export function outputColumns(view: ResolvedFeatureView, purpose: ReadPurpose): string[] {
  return view.columns
    .filter((c) =>
      purpose === 'training'
        ? c.role !== 'inference_helper'
        : c.role !== 'training_helper' && c.role !== 'label',
    )
    .map((c) => c.name);
}

/**
 * Builds the view's rows into table `output`: one row per spine row (never dropped or duplicated),
 * each joined feature group contributing its row with the greatest event time ≤ the spine row's
 * event time (DuckDB ASOF LEFT JOIN over the snapshot at the pinned commit, where each record key
 * holds its latest commit's row), nulled when older than the join's lookback. Filters apply after
 * the join; on-demand features are computed last by their TypeScript functions. Rows carry
 * `_fti_spine_row` (deterministic order: event time, keys, then every spine column); the table is
 * stored in that order unless `ordered` is false. Returns the row count.
 */
export async function materializeView(
  duck: DuckSession,
  deps: OfflineStoreDeps,
  view: ResolvedFeatureView,
  options: MaterializeOptions,
): Promise<number> {
  const spineCols = view.spineColumns.map((c) => c.name);
  const et = quoteIdent(view.eventTime);
  const params: SqlParam[] = [];
  const param = (value: SqlParam) => {
    params.push(value);
    return `$${params.length}`;
  };

  const part = options.part;
  const partKey = partitionKeyOf(view);
  const bucketOf = (aligned: boolean) =>
    part && aligned ? { keyBuckets: { count: part.count, include: [part.index] } } : {};
  let spineRelation: string;
  if (options.fromParts) {
    spineRelation = '';
  } else if (options.spine.kind === 'group') {
    if (view.spine.kind !== 'group')
      throw new ValidationError(
        `feature view ${view.name} has a spine table, not a spine feature group; pass spine rows.`,
      );
    const group = view.spine.group;
    const range = options.spine.range;
    const spinePairs = group.spec.primaryKey.map((c) => ({ groupColumn: c, spineColumn: c }));
    const filter = {
      ...(range ? { eventTime: { start: range.start, end: range.end } } : {}),
      ...bucketOf(alignedWith(view, partKey, spinePairs, group)),
    };
    await new OfflineTable(deps, group).registerSnapshot(
      duck,
      '_fti_spine_src',
      { commitId: pinOf(options.pins, group.id, view) },
      Object.keys(filter).length ? { filter } : {},
    );
    spineRelation = '_fti_spine_src';
  } else {
    spineRelation = await conformSpine(duck, view, options.spine.relation);
  }
  if (options.fromParts) return finishFromParts(duck, view, options);
  if (part) {
    // The spine is filtered to the bucket, so the joined groups' ranges below are the part's.
    await duck.run(
      `CREATE OR REPLACE TEMP TABLE _fti_part_spine AS SELECT * FROM ${spineRelation} WHERE ${keyBucketSql(partKey, part.count)} = ${Math.trunc(part.index)}`,
    );
    spineRelation = '_fti_part_spine';
  }
  const range = options.spine.range;
  // Rows a join can use end with the last spine time; with a lookback they also start one lookback
  // before the first. Reading only that range lets partitioned groups skip the files outside it.
  const spineBounds = range
    ? { first: range.start, last: new Date(range.end.getTime() - 1) }
    : await timeBounds(duck, spineRelation, view.eventTime);
  const spineFilters = [
    ...(range
      ? [
          `${SPINE_TIME} >= ${param(stamp(range.start))}::TIMESTAMP AND ${SPINE_TIME} < ${param(stamp(range.end))}::TIMESTAMP`,
        ]
      : []),
  ];
  const rangeFilter = spineFilters.length ? `WHERE ${spineFilters.join(' AND ')}` : '';
  // Entity keys are spine columns too: each column sorts once (a repeated sort key is pure cost).
  const order = [...new Set([SPINE_TIME, ...view.entityKeys, ...spineCols])].map((c) =>
    c === SPINE_TIME ? c : quoteIdent(c),
  );
  const spineSql = `SELECT row_number() OVER (ORDER BY ${order.join(', ')}) AS ${SPINE_ROW}, *
     FROM (SELECT ${spineCols.map(quoteIdent).join(', ')}, CAST(${et} AS TIMESTAMP) AS ${SPINE_TIME} FROM ${spineRelation}) ${rangeFilter}`;

  const selects = [`s.${SPINE_ROW}`, ...spineCols.map((c) => `s.${quoteIdent(c)}`)];
  const joins: string[] = [];
  for (const [i, join] of view.joins.entries()) {
    const alias = `j${i}`;
    const relation = `_fti_join_${i}`;
    await new OfflineTable(deps, join.group).registerSnapshot(
      duck,
      relation,
      { commitId: pinOf(options.pins, join.group.id, view) },
      spineBounds || part
        ? {
            filter: {
              ...(spineBounds ? { eventTime: joinRange(spineBounds, join.lookback) } : {}),
              ...bucketOf(alignedWith(view, partKey, join.on, join.group)),
            },
          }
        : {},
    );
    const spec = join.group.spec;
    const groupCols = [
      ...join.on.map((p) => quoteIdent(p.groupColumn)),
      `CAST(${quoteIdent(spec.eventTime)} AS TIMESTAMP) AS ${GROUP_TIME}`,
      ...join.features
        .filter((f) => !join.on.some((p) => p.groupColumn === f.source))
        .map((f) => quoteIdent(f.source)),
    ];
    const match = join.on.map(
      (p) => `s.${quoteIdent(p.spineColumn)} = ${alias}.${quoteIdent(p.groupColumn)}`,
    );
    joins.push(
      `ASOF LEFT JOIN (SELECT ${[...new Set(groupCols)].join(', ')} FROM ${relation}) ${alias} ON ${match.join(' AND ')} AND s.${SPINE_TIME} >= ${alias}.${GROUP_TIME}`,
    );
    for (const f of join.features) {
      const value = `${alias}.${quoteIdent(f.source)}`;
      selects.push(
        join.lookback
          ? `CASE WHEN ${alias}.${GROUP_TIME} >= s.${SPINE_TIME} - ${intervalOf(join.lookback)} THEN ${value} END AS ${quoteIdent(f.output)}`
          : `${value} AS ${quoteIdent(f.output)}`,
      );
    }
  }
  const rawSql = `SELECT ${selects.join(', ')} FROM _fti_spine s ${joins.join(' ')}`;
  if (part) {
    // Filters, on-demand features and numbering wait for all parts (see finishFromParts).
    await duck.run(
      `COPY (WITH _fti_spine AS (${spineSql}) SELECT * EXCLUDE (${SPINE_ROW}) FROM (${rawSql}))
       TO ${sqlPath(part.path)} (FORMAT parquet, COMPRESSION zstd)`,
      params,
    );
    for (let i = 0; i < view.joins.length; i++) await duck.run(`DROP VIEW IF EXISTS _fti_join_${i}`);
    await duck.run('DROP TABLE IF EXISTS _fti_part_spine');
    const count = await duck.one<{ n: bigint }>(
      `SELECT count(*) AS n FROM read_parquet([${sqlPath(part.path)}])`,
    );
    return Number(count?.n ?? 0);
  }
  return finishJoined(duck, view, options, `WITH _fti_spine AS (${spineSql}) ${rawSql}`, params);
}

/**
 * Numbers the joined rows of all parts exactly as {@link materializeView} numbers spine rows (event
 * time, entity keys, every spine column: the same order over the same rows), then finishes them.
 */
async function finishFromParts(
  duck: DuckSession,
  view: ResolvedFeatureView,
  options: MaterializeOptions,
): Promise<number> {
  const parts = options.fromParts!;
  const spineCols = view.spineColumns.map((c) => c.name);
  const order = [
    ...new Set([
      `CAST(${quoteIdent(view.eventTime)} AS TIMESTAMP)`,
      ...[...view.entityKeys, ...spineCols].map(quoteIdent),
    ]),
  ];
  if (parts.length === 0)
    throw new Error(`feature view ${view.name}: a partitioned read needs at least one part`);
  const raw = `SELECT row_number() OVER (ORDER BY ${order.join(', ')}) AS ${SPINE_ROW}, *
     FROM read_parquet([${parts.map(sqlPath).join(', ')}], union_by_name = true)`;
  return finishJoined(duck, view, options, raw, []);
}

/**
 * Applies the view's filters to joined rows (`rawSql`: spine row number, spine columns, joined
 * features), computes on-demand features and writes the output table. Returns its row count.
 */
async function finishJoined(
  duck: DuckSession,
  view: ResolvedFeatureView,
  options: MaterializeOptions,
  rawSql: string,
  rawParams: readonly SqlParam[],
): Promise<number> {
  const params = [...rawParams];
  const param = (value: SqlParam) => {
    params.push(value);
    return `$${params.length}`;
  };
  const where = view.filters.map((f) => filterSql(f, param));
  // The raw query may start with a WITH clause: it is wrapped whole so the filters apply after it.
  const joinedSql = `SELECT * FROM (${rawSql})
     ${where.length ? `WHERE ${where.join(' AND ')}` : ''}`;
  const wanted = outputColumns(view, options.purpose);
  const project = `SELECT ${SPINE_ROW}, ${wanted.map(quoteIdent).join(', ')}`;
  const orderBy = options.ordered === false ? '' : `ORDER BY ${SPINE_ROW}`;
  if (view.onDemand.length === 0) {
    // One statement: DuckDB plans the spine numbering, the ASOF joins and the ordering together.
    await duck.run(
      `CREATE OR REPLACE TEMP TABLE ${options.output} AS
       WITH _fti_joined AS (${joinedSql})
       ${project} FROM _fti_joined ${orderBy}`,
      params,
    );
  } else {
    // On-demand functions read the joined rows in chunks, so they are materialized first.
    await duck.run(`CREATE OR REPLACE TEMP TABLE _fti_joined AS ${joinedSql}`, params);
    await computeOnDemandColumns(duck, view, options.onDemand, options.scratchDir);
    await duck.run(
      `CREATE OR REPLACE TEMP TABLE ${options.output} AS
       ${project} FROM _fti_joined j JOIN _fti_odf o USING (${SPINE_ROW}) ${orderBy}`,
    );
    await duck.run('DROP TABLE IF EXISTS _fti_joined; DROP TABLE IF EXISTS _fti_odf');
  }
  for (let i = 0; i < view.joins.length; i++) await duck.run(`DROP VIEW IF EXISTS _fti_join_${i}`);
  const count = await duck.one<{ n: bigint }>(`SELECT count(*) AS n FROM ${options.output}`);
  return Number(count?.n ?? 0);
}

/** The first and last event time of a relation (undefined when it is empty). */
async function timeBounds(
  duck: DuckSession,
  relation: string,
  eventTime: string,
): Promise<{ first: Date; last: Date } | undefined> {
  const et = `CAST(${quoteIdent(eventTime)} AS TIMESTAMP)`;
  const row = await duck.one<{ lo: bigint | null; hi: bigint | null }>(
    `SELECT epoch_us(min(${et})) AS lo, epoch_us(max(${et})) AS hi FROM ${relation}`,
  );
  if (row?.lo === null || row?.lo === undefined || row.hi === null) return undefined;
  return { first: new Date(Number(row.lo) / 1000), last: new Date(Number(row.hi) / 1000) };
}

/**
 * The event times of a joined group's rows that can reach the spine: up to the last spine time
 * (an ASOF match is never later than its spine row) and, with a lookback, from one lookback before
 * the first (an older match would be nulled anyway). Millisecond bounds are widened by one so that
 * sub-millisecond event times at the edges stay in.
 */
function joinRange(spine: { first: Date; last: Date }, lookback: string | null): { start?: Date; end: Date } {
  const end = new Date(spine.last.getTime() + 1);
  if (!lookback) return { end };
  return { start: new Date(spine.first.getTime() - durationMs(lookback) - 1), end };
}

function pinOf(pins: SnapshotPins, groupId: number, view: ResolvedFeatureView): number {
  const pin = pins[groupId];
  if (pin === undefined) throw new Error(`feature view ${view.name}: no pinned commit for group ${groupId}`);
  return pin;
}

function stamp(date: Date): string {
  return date.toISOString().replace('Z', '');
}

function filterSql(filter: ResolvedFeatureView['filters'][number], param: (v: SqlParam) => string): string {
  const column = quoteIdent(filter.column);
  switch (filter.op) {
    case 'is_null':
      return `${column} IS NULL`;
    case 'not_null':
      return `${column} IS NOT NULL`;
    case 'in':
    case 'not_in': {
      const list = (filter.value as (string | number)[]).map((v) => param(v));
      return `${column} ${filter.op === 'in' ? 'IN' : 'NOT IN'} (${list.join(', ')})`;
    }
    default:
      return `${column} ${filter.op} ${param(filter.value as string | number | boolean)}`;
  }
}

/**
 * Checks a caller's spine relation: every spine column present, castable to the declared type,
 * event times not null. Returns a typed view of it.
 */
async function conformSpine(duck: DuckSession, view: ResolvedFeatureView, relation: string): Promise<string> {
  const present = new Map((await duck.describe(`SELECT * FROM ${relation}`)).map((c) => [c.name, c.type]));
  const missing = view.spineColumns.filter((c) => !present.has(c.name)).map((c) => c.name);
  if (missing.length)
    throw new ValidationError(
      `spine for feature view ${view.name}: missing column(s) ${missing.join(', ')} (spine has: ${[...present.keys()].join(', ')}); the spine needs ${view.spineColumns.map((c) => c.name).join(', ')}.`,
      { location: 'spine' },
    );
  for (const column of view.spineColumns) {
    const col = quoteIdent(column.name);
    const target = DUCK_TYPES[column.type];
    const bad = await duck.one<{ n: bigint; sample: string | null }>(
      `SELECT count(*) AS n, min(CAST(${col} AS VARCHAR)) AS sample FROM ${relation} WHERE ${col} IS NOT NULL AND TRY_CAST(${col} AS ${target}) IS NULL`,
    );
    if (Number(bad?.n ?? 0) > 0)
      throw new ValidationError(
        `spine for feature view ${view.name}: column "${column.name}" has ${bad!.n} value(s) that are not ${column.type} (e.g. ${JSON.stringify(bad!.sample)}).`,
        { location: `spine.${column.name}` },
      );
  }
  const nulls = await duck.one<{ n: bigint }>(
    `SELECT count(*) AS n FROM ${relation} WHERE ${quoteIdent(view.eventTime)} IS NULL`,
  );
  if (Number(nulls?.n ?? 0) > 0)
    throw new ValidationError(
      `spine for feature view ${view.name}: ${nulls!.n} row(s) have no event time in "${view.eventTime}"; every spine row needs one.`,
      { location: `spine.${view.eventTime}` },
    );
  await duck.run(
    `CREATE OR REPLACE TEMP VIEW _fti_spine_typed AS SELECT ${view.spineColumns
      .map((c) => `CAST(${quoteIdent(c.name)} AS ${DUCK_TYPES[c.type]}) AS ${quoteIdent(c.name)}`)
      .join(', ')} FROM ${relation}`,
  );
  return '_fti_spine_typed';
}

const ODF_DUCK: Record<string, string> = {
  double: 'DOUBLE',
  float: 'FLOAT',
  bigint: 'BIGINT',
  int: 'INTEGER',
  bool: 'BOOLEAN',
  string: 'VARCHAR',
};

/** Types of the view's on-demand columns, from their registered functions. */
export function onDemandTypes(
  view: ResolvedFeatureView,
  registry: OnDemandRegistry,
): Record<string, FeatureType> {
  const out: Record<string, FeatureType> = {};
  for (const b of view.onDemand) out[b.name] = registry.get(b.function).type;
  return out;
}

/** Runs the on-demand functions over `_fti_joined` in chunks into table `_fti_odf`. */
async function computeOnDemandColumns(
  duck: DuckSession,
  view: ResolvedFeatureView,
  registry: OnDemandRegistry,
  scratchDir: string,
): Promise<void> {
  const functions = view.onDemand.map((b) => ({ binding: b, fn: registry.get(b.function) }));
  const inputs = [...new Set(view.onDemand.flatMap((b) => Object.values(b.inputs)))];
  await fs.promises.mkdir(scratchDir, { recursive: true });
  const file = path.join(
    scratchDir,
    `odf-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.jsonl`,
  );
  const out = fs.createWriteStream(file);
  const chunk = 100_000;
  let written = 0;
  try {
    for (let last = 0; ;) {
      const rows = await duck.all<Record<string, unknown>>(
        `SELECT ${SPINE_ROW}, ${inputs.map(quoteIdent).join(', ')} FROM _fti_joined WHERE ${SPINE_ROW} > ${last} ORDER BY ${SPINE_ROW} LIMIT ${chunk}`,
      );
      if (rows.length === 0) break;
      const lines: string[] = [];
      for (const row of rows) {
        const record: Record<string, unknown> = { [SPINE_ROW]: Number(row[SPINE_ROW]) };
        for (const { binding, fn } of functions) record[binding.name] = computeOnDemand(fn, binding, row);
        lines.push(JSON.stringify(record));
      }
      if (!out.write(`${lines.join('\n')}\n`)) await new Promise<void>((r) => out.once('drain', () => r()));
      last = Number(rows.at(-1)![SPINE_ROW]);
      written += rows.length;
    }
  } finally {
    await new Promise<void>((resolve) => out.end(resolve));
  }
  try {
    const columns = [
      `'${SPINE_ROW}': 'BIGINT'`,
      ...functions.map(({ binding, fn }) => `'${binding.name}': '${ODF_DUCK[fn.type]}'`),
    ];
    if (written === 0) {
      const empty = columns.map((c) => {
        const [name, type] = c.split(': ');
        return `NULL::${type!.replace(/'/g, '')} AS ${quoteIdent(name!.replace(/'/g, ''))}`;
      });
      await duck.run(`CREATE OR REPLACE TEMP TABLE _fti_odf AS SELECT ${empty.join(', ')} WHERE FALSE`);
      return;
    }
    await duck.run(
      `CREATE OR REPLACE TEMP TABLE _fti_odf AS SELECT * FROM read_json(${sqlPath(file)}, format = 'newline_delimited', columns = {${columns.join(', ')}})`,
    );
  } finally {
    await fs.promises.rm(file, { force: true });
  }
}
