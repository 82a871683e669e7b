import type { DuckSession } from '../duckdb';
import { ValidationError } from '../errors';
import { quoteIdent } from '../identifiers';
import type { FeatureGroupSpec, FeatureType, ResolvedFeature } from './feature-group';

/** DuckDB column type of each feature type. Timestamps are UTC, stored without zone. */
export const DUCK_TYPES: Readonly<Record<FeatureType, string>> = {
  int: 'INTEGER',
  bigint: 'BIGINT',
  float: 'FLOAT',
  double: 'DOUBLE',
  bool: 'BOOLEAN',
  string: 'VARCHAR',
  timestamp: 'TIMESTAMP',
  date: 'DATE',
  float_array: 'FLOAT[]',
};

/** Options of {@link conformBatch}. */
export interface ConformOptions {
  /**
   * What a nullable declared column absent from the batch means. `reject` (for batches of rows to
   * write: a missing column is almost always a renamed or dropped source column) or `null` (for
   * batches that only name record keys, such as deletes).
   * @default 'reject'
   */
  readonly missingNullable?: 'reject' | 'null';
}

/** SQL condition true where a floating feature without the opt-in holds NaN or ±Infinity. */
function nonFiniteCondition(f: ResolvedFeature): string | null {
  if (f.allowNonFinite === true) return null;
  const value = `TRY_CAST(${quoteIdent(f.name)} AS ${DUCK_TYPES[f.type]})`;
  if (f.type === 'float' || f.type === 'double') return `NOT isfinite(${value})`;
  if (f.type === 'float_array')
    return `coalesce(list_bool_or(list_transform(${value}, v -> NOT isfinite(v))), false)`;
  return null;
}

/** The offending value as a word (NaN, Infinity, -Infinity): safe to print, unlike real values. */
function nonFiniteLabel(f: ResolvedFeature): string {
  const v = `TRY_CAST(${quoteIdent(f.name)} AS ${DUCK_TYPES[f.type]})`;
  const word = (x: string) =>
    `CASE WHEN isnan(${x}) THEN 'NaN' WHEN ${x} > 0 THEN 'Infinity' ELSE '-Infinity' END`;
  if (f.type === 'float_array')
    return `'array element ' || ${word(`list_filter(${v}, v -> NOT isfinite(v))[1]`)}`;
  return word(v);
}

/** Name of the row-number column carried from the source for error messages (1-based). */
export const ROW_COLUMN = '_fti_row';

/**
 * Checks a raw batch (DuckDB relation `source`, which must have a 1-based `_fti_row` column) against
 * a feature group's schema and materialises table `target` with every column cast to its declared
 * type, in schema order, plus `_fti_row`. Throws {@link ValidationError} naming the column, the first
 * offending row and the fix for: empty input, unknown columns, missing declared columns (nullable
 * ones included: the source or the transformation must produce every declared column), values that
 * do not parse as the declared type, nulls in primary-key, event-time or non-nullable columns, and
 * NaN/±Infinity in floating features that did not opt in with `allowNonFinite`. Values themselves
 * never appear in messages (only the words NaN/Infinity/-Infinity). Rows are 1-based input rows.
 */
export async function conformBatch(
  duck: DuckSession,
  source: string,
  target: string,
  spec: FeatureGroupSpec,
  where: string,
  options: ConformOptions = {},
): Promise<{ rows: number }> {
  const label = `${where} → feature group ${spec.name} v${spec.version}`;
  const present = (await duck.describe(`SELECT * FROM ${source}`))
    .map((c) => c.name)
    .filter((n) => n !== ROW_COLUMN);
  const declared = new Set(spec.features.map((f) => f.name));
  const unknown = present.filter((n) => !declared.has(n));
  if (unknown.length > 0) {
    throw new ValidationError(
      `${label}: unknown column(s) ${unknown.map((c) => `"${c}"`).join(', ')}. Drop them in the transformation, or append them to the feature group as nullable features.`,
      { location: `${where}, column ${unknown[0]}` },
    );
  }
  const have = new Set(present);
  // A declared column that neither the source nor the transformation produced is an error, not a
  // silent NULL: a renamed or dropped source column would otherwise erase a feature unnoticed.
  const missing = spec.features.filter(
    (f) => !have.has(f.name) && !(options.missingNullable === 'null' && f.nullable),
  );
  if (missing.length > 0) {
    throw new ValidationError(
      `${label}: missing column(s) ${missing.map((f) => `"${f.name}"`).join(', ')} declared by the feature group (the input has: ${present.join(', ') || 'no columns'}). ` +
        'Add them to the source, or produce them in the transformation (as NULL if there is no value).',
      { location: `${where}, column ${missing[0]!.name}` },
    );
  }
  const count = await duck.one<{ n: bigint }>(`SELECT count(*) AS n FROM ${source}`);
  const rows = Number(count?.n ?? 0);
  if (rows === 0) {
    throw new ValidationError(
      `${label}: the input has no rows. Check the source path and the window [start, end).`,
      {
        location: where,
      },
    );
  }
  const castOf = (name: string, type: FeatureType) =>
    have.has(name) ? `TRY_CAST(${quoteIdent(name)} AS ${DUCK_TYPES[type]})` : `NULL::${DUCK_TYPES[type]}`;
  // One pass finds, per column, how many values fail to parse and the first such row.
  const checks = spec.features.flatMap((f, i) => {
    if (!have.has(f.name)) return [];
    const c = quoteIdent(f.name);
    const bad = `${c} IS NOT NULL AND ${castOf(f.name, f.type)} IS NULL`;
    const nulls = `${castOf(f.name, f.type)} IS NULL`;
    const nonFinite = nonFiniteCondition(f);
    return [
      `count(*) FILTER (WHERE ${bad}) AS bad_${i}`,
      `min(${ROW_COLUMN}) FILTER (WHERE ${bad}) AS bad_row_${i}`,
      `count(*) FILTER (WHERE ${nulls}) AS null_${i}`,
      `min(${ROW_COLUMN}) FILTER (WHERE ${nulls}) AS null_row_${i}`,
      ...(nonFinite
        ? [
            `count(*) FILTER (WHERE ${nonFinite}) AS nonfinite_${i}`,
            `arg_min(${nonFiniteLabel(f)}, ${ROW_COLUMN}) FILTER (WHERE ${nonFinite}) AS nonfinite_value_${i}`,
            `min(${ROW_COLUMN}) FILTER (WHERE ${nonFinite}) AS nonfinite_row_${i}`,
          ]
        : []),
    ];
  });
  const result =
    (await duck.one<Record<string, bigint | string | null>>(`SELECT ${checks.join(', ')} FROM ${source}`)) ??
    {};
  const keyColumns = new Set([...spec.primaryKey, spec.eventTime]);
  spec.features.forEach((f, i) => {
    if (!have.has(f.name)) return;
    const bad = Number(result[`bad_${i}`] ?? 0);
    if (bad > 0) {
      throw new ValidationError(
        `${label}: column "${f.name}" has ${bad} value(s) that are not a valid ${f.type} (first at row ${result[`bad_row_${i}`]}). ` +
          (f.type === 'timestamp'
            ? 'Use ISO-8601 timestamps such as 2026-11-25T18:00:00Z.'
            : `Fix the source or convert the column to ${f.type} in the transformation.`),
        { location: `${where}, row ${result[`bad_row_${i}`]}, column ${f.name}` },
      );
    }
    const nulls = Number(result[`null_${i}`] ?? 0);
    if (nulls > 0 && (keyColumns.has(f.name) || !f.nullable)) {
      const role = spec.primaryKey.includes(f.name)
        ? 'primary-key'
        : f.name === spec.eventTime
          ? 'event-time'
          : 'non-nullable';
      throw new ValidationError(
        `${label}: ${role} column "${f.name}" is null in ${nulls} row(s) (first at row ${result[`null_row_${i}`]}). Every row needs a value there; filter such rows out in the transformation.`,
        { location: `${where}, row ${result[`null_row_${i}`]}, column ${f.name}` },
      );
    }
    const nonFinite = Number(result[`nonfinite_${i}`] ?? 0);
    if (nonFinite > 0) {
      const row = result[`nonfinite_row_${i}`];
      throw new ValidationError(
        `${label}: column "${f.name}" (${f.type}) has ${nonFinite} non-finite value(s) (first at row ${row}: ${String(result[`nonfinite_value_${i}`])}). ` +
          `Clean the source (or turn them into NULL in the transformation), or set "allowNonFinite": true on feature "${f.name}" if NaN/Infinity are meaningful there.`,
        { location: `${where}, row ${row}, column ${f.name}` },
      );
    }
  });
  const select = spec.features.map((f) => `${castOf(f.name, f.type)} AS ${quoteIdent(f.name)}`).join(', ');
  await duck.run(`CREATE OR REPLACE TABLE ${target} AS SELECT ${select}, ${ROW_COLUMN} FROM ${source}`);
  return { rows };
}
