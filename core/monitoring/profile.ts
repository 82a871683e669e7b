/**
 * Reference profiles and window profiles: what drift and data-quality checks compare.
 *
 * A reference profile (computed once, from a training dataset's train split or a model's test-split
 * predictions) keeps, per numeric column, about {@link PROFILE_BINS} equal-frequency bins (their
 * upper edges and exact counts) plus count, nulls, range, mean and standard deviation; per
 * categorical column, the category frequencies. A window (served requests, a batch, a commit) is
 * summarized against that reference in one DuckDB scan: its counts in the reference's bins, the
 * values outside the reference's range, and its category frequencies. Every drift statistic is then
 * computed from those counts (see `binned.ts`), so monitoring a million logged rows costs one
 * histogram query, not a sort per feature.
 */
import type { DuckSession } from '../duckdb';
import { quoteIdent } from '../identifiers';

/** Equal-frequency bins kept per numeric reference column (each holds ≈ 0.1 % of the reference). */
export const PROFILE_BINS = 1000;
/** Categories kept per categorical column; rarer ones are counted together in `other`. */
export const PROFILE_CATEGORIES = 10_000;

/** A numeric column of the reference: equal-frequency bins over the finite values. */
export interface NumericProfile {
  readonly kind: 'numeric';
  /** Finite values. */
  readonly count: number;
  /** Nulls, NaN and infinities: the values a model cannot use as given. */
  readonly nulls: number;
  readonly min: number | null;
  readonly max: number | null;
  readonly mean: number | null;
  /** Population standard deviation of the finite values. */
  readonly std: number | null;
  /** Ascending distinct upper bin edges; the last is `max`. Bin i holds values in (edges[i−1], edges[i]]. */
  readonly edges: readonly number[];
  /** Reference values per bin (`counts.length === edges.length`). */
  readonly counts: readonly number[];
}

/** A categorical column (strings, booleans) of the reference. */
export interface CategoricalProfile {
  readonly kind: 'categorical';
  /** Non-null values. */
  readonly count: number;
  readonly nulls: number;
  /** Category → count, for the {@link PROFILE_CATEGORIES} most frequent categories. */
  readonly frequencies: Readonly<Record<string, number>>;
  /** Values of rarer categories (non-zero only when the column had more categories than were kept). */
  readonly other: number;
}

/** The reference of one column. */
export type ColumnProfile = NumericProfile | CategoricalProfile;

/** A reference profile: rows and per-column profiles. JSON-serializable; stored in Postgres. */
export interface DataProfile {
  readonly rows: number;
  readonly columns: Readonly<Record<string, ColumnProfile>>;
}

/** A window's numeric column, counted in the reference's bins. */
export interface NumericWindow {
  readonly kind: 'numeric';
  readonly count: number;
  readonly nulls: number;
  readonly min: number | null;
  readonly max: number | null;
  readonly mean: number | null;
  /** Values per reference bin, plus one last bin for values above the reference's max. */
  readonly counts: readonly number[];
  /** Values below the reference's min, and their sum (for distances outside the reference range). */
  readonly below: number;
  readonly belowSum: number;
  /** Values above the reference's max, and their sum. */
  readonly above: number;
  readonly aboveSum: number;
}

/** A window's categorical column. */
export interface CategoricalWindow {
  readonly kind: 'categorical';
  readonly count: number;
  readonly nulls: number;
  readonly frequencies: Readonly<Record<string, number>>;
  readonly other: number;
}

/** One column of a window. */
export type ColumnWindow = NumericWindow | CategoricalWindow;

/** A window profiled against a reference: rows and per-column summaries. */
export interface WindowProfile {
  readonly rows: number;
  readonly columns: Readonly<Record<string, ColumnWindow>>;
}

/** A column to profile and how to treat it. */
export interface ProfileColumn {
  readonly name: string;
  readonly kind: ColumnProfile['kind'];
}

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
const numOrNull = (v: unknown): number | null =>
  v === null || v === undefined || !Number.isFinite(Number(v)) ? null : Number(v);

/**
 * A DOUBLE[] literal of numbers this module computed (never user text): inlined because list
 * parameters infer an element type per value, which turns [1, 2.5] into a mixed list. Written in
 * exponent form, which DuckDB reads as DOUBLE exactly (a plain decimal literal is read as DECIMAL
 * and can come out one ulp off, moving a value that equals an edge into the next bin).
 */
function doubleList(values: readonly number[]): string {
  for (const v of values) if (!Number.isFinite(v)) throw new Error(`bin edge ${v} is not a finite number`);
  return `[${values.map((v) => v.toExponential()).join(', ')}]::DOUBLE[]`;
}

/** `expr` as a finite DOUBLE, or NULL (NaN and infinities count as missing). */
function finite(column: string): string {
  const v = `TRY_CAST(${quoteIdent(column)} AS DOUBLE)`;
  return `CASE WHEN isfinite(${v}) THEN ${v} END`;
}

function category(column: string): string {
  return `CAST(${quoteIdent(column)} AS VARCHAR)`;
}

/**
 * Profiles `relation` as a reference: per numeric column one sort (ntile into {@link PROFILE_BINS}
 * groups), then exact counts per bin; per categorical column the category frequencies. Column names
 * must be validated identifiers.
 */
export async function profileRelation(
  duck: DuckSession,
  relation: string,
  columns: readonly ProfileColumn[],
): Promise<DataProfile> {
  const total = await duck.one<{ n: bigint }>(`SELECT count(*) AS n FROM ${relation}`);
  const rows = num(total?.n);
  const out: Record<string, ColumnProfile> = {};
  for (const column of columns) {
    out[column.name] =
      column.kind === 'numeric'
        ? await numericReference(duck, relation, column.name, rows)
        : await categoricalReference(duck, relation, column.name, rows);
  }
  return { rows, columns: out };
}

async function numericReference(
  duck: DuckSession,
  relation: string,
  column: string,
  rows: number,
): Promise<NumericProfile> {
  const v = finite(column);
  const stats = await duck.one<Record<string, unknown>>(
    `SELECT count(${v}) AS n, min(${v}) AS lo, max(${v}) AS hi, avg(${v}) AS mean, stddev_pop(${v}) AS sd FROM ${relation}`,
  );
  const count = num(stats?.n);
  const base = {
    kind: 'numeric' as const,
    count,
    nulls: rows - count,
    min: numOrNull(stats?.lo),
    max: numOrNull(stats?.hi),
    mean: numOrNull(stats?.mean),
    std: numOrNull(stats?.sd),
  };
  if (count === 0) return { ...base, edges: [], counts: [] };
  const groups = await duck.all<{ hi: number }>(
    `SELECT max(v) AS hi FROM (SELECT v, ntile(${PROFILE_BINS}) OVER (ORDER BY v) AS g FROM (SELECT ${v} AS v FROM ${relation}) WHERE v IS NOT NULL)
     GROUP BY g ORDER BY hi`,
  );
  const edges = [...new Set(groups.map((g) => Number(g.hi)))];
  const counts = await histogram(duck, relation, column, edges);
  return { ...base, edges, counts: counts.slice(0, edges.length) };
}

async function categoricalReference(
  duck: DuckSession,
  relation: string,
  column: string,
  rows: number,
): Promise<CategoricalProfile> {
  const { count, frequencies, other } = await categoryCounts(duck, relation, column);
  return { kind: 'categorical', count, nulls: rows - count, frequencies, other };
}

/** Counts of the finite values of `column` in the bins (…, e0], (e0, e1], …, (e_last, ∞). */
async function histogram(
  duck: DuckSession,
  relation: string,
  column: string,
  edges: readonly number[],
): Promise<number[]> {
  const row = await duck.one<{ h: { key: number | null; value: bigint }[] | null }>(
    `SELECT histogram(${finite(column)}, ${doubleList(edges)}) AS h FROM ${relation}`,
  );
  return histogramCounts(row?.h ?? null, edges.length);
}

/** DuckDB's histogram map (one entry per edge, then the overflow) as counts by bin index. */
function histogramCounts(
  h: readonly { key: number | null; value: bigint }[] | null,
  edges: number,
): number[] {
  const counts = new Array<number>(edges + 1).fill(0);
  (h ?? []).forEach((entry, i) => {
    counts[Math.min(i, edges)] = Number(entry.value);
  });
  return counts;
}

async function categoryCounts(
  duck: DuckSession,
  relation: string,
  column: string,
): Promise<{ count: number; frequencies: Record<string, number>; other: number }> {
  const c = category(column);
  const top = await duck.all<{ c: string; n: bigint }>(
    `SELECT ${c} AS c, count(*) AS n FROM ${relation} WHERE ${quoteIdent(column)} IS NOT NULL
     GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ${PROFILE_CATEGORIES}`,
  );
  const total = await duck.one<{ n: bigint }>(`SELECT count(${quoteIdent(column)}) AS n FROM ${relation}`);
  const count = num(total?.n);
  const frequencies: Record<string, number> = {};
  let kept = 0;
  for (const r of top) {
    frequencies[r.c] = Number(r.n);
    kept += Number(r.n);
  }
  return { count, frequencies, other: count - kept };
}

/**
 * Profiles `relation` (a window of served requests, a batch, a commit) against `reference` in one
 * scan for all numeric columns (plus one GROUP BY per categorical column). Columns the reference
 * lacks are skipped; a column the window lacks must be present as NULLs (the caller's relation
 * defines every reference column).
 */
export async function profileWindow(
  duck: DuckSession,
  relation: string,
  reference: DataProfile,
  columns: readonly string[] = Object.keys(reference.columns),
): Promise<WindowProfile> {
  const numeric = columns.filter((c) => reference.columns[c]?.kind === 'numeric');
  const categorical = columns.filter((c) => reference.columns[c]?.kind === 'categorical');
  const params: number[] = [];
  const param = (value: number) => {
    params.push(value);
    return `$${params.length}`;
  };
  const selects = ['count(*) AS _rows'];
  numeric.forEach((name, i) => {
    const ref = reference.columns[name] as NumericProfile;
    const v = finite(name);
    selects.push(
      `count(${v}) AS n${i}`,
      `min(${v}) AS lo${i}`,
      `max(${v}) AS hi${i}`,
      `avg(${v}) AS mean${i}`,
    );
    if (ref.edges.length > 0) {
      const lo = param(ref.min ?? 0);
      const hi = param(ref.max ?? 0);
      selects.push(
        `histogram(${v}, ${doubleList(ref.edges)}) AS h${i}`,
        // CASE inside the aggregate, not FILTER: measured 15 % faster on a 1M-row window (bench/monitor).
        `count(CASE WHEN ${v} < ${lo} THEN 1 END) AS below${i}`,
        `coalesce(sum(CASE WHEN ${v} < ${lo} THEN ${v} END), 0) AS belowsum${i}`,
        `count(CASE WHEN ${v} > ${hi} THEN 1 END) AS above${i}`,
        `coalesce(sum(CASE WHEN ${v} > ${hi} THEN ${v} END), 0) AS abovesum${i}`,
      );
    }
  });
  const row = (await duck.one<Record<string, unknown>>(
    `SELECT ${selects.join(', ')} FROM ${relation}`,
    params,
  ))!;
  const rows = num(row._rows);
  const out: Record<string, ColumnWindow> = {};
  numeric.forEach((name, i) => {
    const ref = reference.columns[name] as NumericProfile;
    const count = num(row[`n${i}`]);
    const hasBins = ref.edges.length > 0;
    out[name] = {
      kind: 'numeric',
      count,
      nulls: rows - count,
      min: numOrNull(row[`lo${i}`]),
      max: numOrNull(row[`hi${i}`]),
      mean: numOrNull(row[`mean${i}`]),
      counts: hasBins
        ? histogramCounts(row[`h${i}`] as { key: number | null; value: bigint }[] | null, ref.edges.length)
        : [count],
      below: hasBins ? num(row[`below${i}`]) : 0,
      belowSum: hasBins ? num(row[`belowsum${i}`]) : 0,
      above: hasBins ? num(row[`above${i}`]) : 0,
      aboveSum: hasBins ? num(row[`abovesum${i}`]) : 0,
    };
  });
  for (const name of categorical) {
    const { count, frequencies, other } = await categoryCounts(duck, relation, name);
    out[name] = { kind: 'categorical', count, nulls: rows - count, frequencies, other };
  }
  return { rows, columns: out };
}

/**
 * The reference profile of numbers held in memory (e.g. model inputs after transformations): the
 * same bins as {@link profileRelation} computes in DuckDB (ntile groups of the sorted finite
 * values, their distinct maxima as edges).
 */
export function numericProfileOf(values: ArrayLike<number>): NumericProfile {
  const finiteValues = Float64Array.from(values)
    .filter((v) => Number.isFinite(v))
    .sort();
  const n = finiteValues.length;
  const nulls = values.length - n;
  if (n === 0)
    return {
      kind: 'numeric',
      count: 0,
      nulls,
      min: null,
      max: null,
      mean: null,
      std: null,
      edges: [],
      counts: [],
    };
  let mean = 0;
  for (const v of finiteValues) mean += v / n;
  let ss = 0;
  for (const v of finiteValues) ss += (v - mean) ** 2;
  const groups = Math.min(PROFILE_BINS, n);
  const size = Math.floor(n / groups);
  const larger = n % groups;
  const edges: number[] = [];
  let end = 0;
  for (let g = 0; g < groups; g++) {
    end += size + (g < larger ? 1 : 0);
    const edge = finiteValues[end - 1]!;
    if (edges.at(-1) !== edge) edges.push(edge === 0 ? 0 : edge); // no -0 in stored profiles
  }
  const counts = new Array<number>(edges.length).fill(0);
  let bin = 0;
  for (const v of finiteValues) {
    while (v > edges[bin]!) bin++;
    counts[bin]! += 1;
  }
  return {
    kind: 'numeric',
    count: n,
    nulls,
    min: finiteValues[0]!,
    max: finiteValues[n - 1]!,
    mean,
    std: Math.sqrt(ss / n),
    edges,
    counts,
  };
}

const addCounts = (a: readonly number[], b: readonly number[]) =>
  Array.from({ length: Math.max(a.length, b.length) }, (_, i) => (a[i] ?? 0) + (b[i] ?? 0));
const pick = (f: (...v: number[]) => number, a: number | null, b: number | null) =>
  a === null ? b : b === null ? a : f(a, b);

function addFrequencies(a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>) {
  const out: Record<string, number> = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = (out[k] ?? 0) + v;
  return out;
}

/**
 * Two windows profiled against the same reference, as one: counts add, ranges widen, means weigh
 * by count. This is what lets a monitor combine several batch runs (or partial windows) without
 * reading their rows again.
 */
export function mergeWindowProfiles(a: WindowProfile, b: WindowProfile): WindowProfile {
  const columns: Record<string, ColumnWindow> = { ...a.columns };
  for (const [name, y] of Object.entries(b.columns)) {
    const x = columns[name];
    if (!x) columns[name] = y;
    else if (x.kind === 'numeric' && y.kind === 'numeric') {
      const count = x.count + y.count;
      columns[name] = {
        kind: 'numeric',
        count,
        nulls: x.nulls + y.nulls,
        min: pick(Math.min, x.min, y.min),
        max: pick(Math.max, x.max, y.max),
        mean: count === 0 ? null : ((x.mean ?? 0) * x.count + (y.mean ?? 0) * y.count) / count,
        counts: addCounts(x.counts, y.counts),
        below: x.below + y.below,
        belowSum: x.belowSum + y.belowSum,
        above: x.above + y.above,
        aboveSum: x.aboveSum + y.aboveSum,
      };
    } else if (x.kind === 'categorical' && y.kind === 'categorical')
      columns[name] = {
        kind: 'categorical',
        count: x.count + y.count,
        nulls: x.nulls + y.nulls,
        frequencies: addFrequencies(x.frequencies, y.frequencies),
        other: x.other + y.other,
      };
  }
  return { rows: a.rows + b.rows, columns };
}
