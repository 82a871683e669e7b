import type { DuckSession, SqlParam } from '../../duckdb';
import { quoteIdent } from '../../identifiers';
import type { Expectation, ExpectationSuite, IngestionPolicy } from './expectations';

/** Per-expectation result, in the Great Expectations shape. */
export interface ExpectationResult {
  readonly success: boolean;
  readonly expectation_config: {
    readonly expectation_type: Expectation['type'];
    readonly kwargs: Readonly<Record<string, unknown>>;
    readonly meta: { readonly severity: 'error' | 'warning' };
  };
  readonly result: {
    readonly element_count: number;
    readonly missing_count?: number;
    readonly unexpected_count?: number;
    readonly unexpected_percent?: number;
    readonly partial_unexpected_list?: readonly unknown[];
    readonly observed_value?: number | null;
  };
}

/** A whole validation run, in the Great Expectations shape, plus the ingestion decision. */
export interface ValidationReport {
  readonly success: boolean;
  readonly statistics: {
    readonly evaluated_expectations: number;
    readonly successful_expectations: number;
    readonly unsuccessful_expectations: number;
    readonly success_percent: number;
  };
  readonly results: readonly ExpectationResult[];
  readonly meta: {
    readonly expectation_suite_name: string;
    readonly ingestion_policy: IngestionPolicy;
    /** True when an `error`-severity expectation failed (blocks a `strict` ingestion). */
    readonly has_error_failures: boolean;
    readonly validated_at: string;
  };
}

const SAMPLE = 20;

interface Counts {
  n: bigint;
  bad: bigint;
  missing?: bigint;
}

/**
 * Evaluates every expectation of a suite against a DuckDB relation (a view over the batch's
 * Parquet files). Counts are computed in SQL; at most 20 failing values are sampled per expectation
 * (kept in the report, never in error messages).
 */
export async function validateRelation(
  duck: DuckSession,
  relation: string,
  suite: ExpectationSuite,
  policy: IngestionPolicy,
): Promise<ValidationReport> {
  const results: ExpectationResult[] = [];
  for (const expectation of suite.expectations) results.push(await evaluate(duck, relation, expectation));
  const failed = results.filter((r) => !r.success);
  return {
    success: failed.length === 0,
    statistics: {
      evaluated_expectations: results.length,
      successful_expectations: results.length - failed.length,
      unsuccessful_expectations: failed.length,
      success_percent:
        results.length === 0 ? 100 : round(((results.length - failed.length) / results.length) * 100),
    },
    results,
    meta: {
      expectation_suite_name: suite.name,
      ingestion_policy: policy,
      has_error_failures: failed.some((r) => r.expectation_config.meta.severity === 'error'),
      validated_at: new Date().toISOString(),
    },
  };
}

/** One-line summary of failures for error messages: expectation types and columns, no values. */
export function summarizeFailures(report: ValidationReport): string {
  return report.results
    .filter((r) => !r.success)
    .map((r) => {
      const kw = r.expectation_config.kwargs;
      const where =
        kw.column ?? kw.columns ?? (kw.columnA ? `${String(kw.columnA)},${String(kw.columnB)}` : 'table');
      const pct =
        r.result.unexpected_percent !== undefined ? ` (${r.result.unexpected_percent}% unexpected)` : '';
      return `${r.expectation_config.expectation_type}[${String(where)}]${pct} ${r.expectation_config.meta.severity}`;
    })
    .join('; ');
}

async function evaluate(duck: DuckSession, rel: string, e: Expectation): Promise<ExpectationResult> {
  const { type, severity, ...kwargs } = e;
  const config = { expectation_type: type, kwargs, meta: { severity } };
  switch (e.type) {
    case 'expect_table_row_count_to_be_between': {
      const row = await duck.one<{ n: bigint }>(`SELECT count(*) AS n FROM ${rel}`);
      const n = Number(row?.n ?? 0);
      const success = (e.min === undefined || n >= e.min) && (e.max === undefined || n <= e.max);
      return { success, expectation_config: config, result: { element_count: n, observed_value: n } };
    }
    case 'expect_column_mean_to_be_between':
    case 'expect_column_stdev_to_be_between': {
      const fn = e.type === 'expect_column_mean_to_be_between' ? 'avg' : 'stddev_samp';
      const col = quoteIdent(e.column);
      const row = await duck.one<{ n: bigint; v: number | null }>(
        `SELECT count(${col}) AS n, ${fn}(${col})::DOUBLE AS v FROM ${rel}`,
      );
      const v = row?.v ?? null;
      const success =
        v !== null && (e.min === undefined || v >= e.min) && (e.max === undefined || v <= e.max);
      return {
        success,
        expectation_config: config,
        result: { element_count: Number(row?.n ?? 0), observed_value: v },
      };
    }
    case 'expect_column_values_to_be_unique':
    case 'expect_compound_columns_to_be_unique': {
      const cols = (e.type === 'expect_column_values_to_be_unique' ? [e.column] : e.columns).map(quoteIdent);
      const key = cols.join(', ');
      const notNull = cols.map((c) => `${c} IS NOT NULL`).join(' AND ');
      const counts = await duck.one<{ n: bigint; bad: bigint }>(
        `SELECT count(*) AS n, coalesce(sum(c) FILTER (WHERE c > 1), 0) AS bad FROM (SELECT count(*) AS c FROM ${rel} WHERE ${notNull} GROUP BY ${key})`,
      );
      const sample = await duck.all(
        `SELECT ${key} FROM ${rel} WHERE ${notNull} GROUP BY ${key} HAVING count(*) > 1 LIMIT ${SAMPLE}`,
      );
      const total = await duck.one<{ n: bigint }>(`SELECT count(*) AS n FROM ${rel} WHERE ${notNull}`);
      return rowResult(
        config,
        { n: total?.n ?? 0n, bad: counts?.bad ?? 0n },
        sample.map((r) => (cols.length === 1 ? Object.values(r)[0] : r)),
        undefined,
      );
    }
    default: {
      const { predicate, params, column } = rowPredicate(e);
      const col = quoteIdent(column);
      const counts = await duck.one<Counts>(
        `SELECT count(${col}) AS n, count(*) FILTER (WHERE ${col} IS NOT NULL AND NOT (${predicate})) AS bad, count(*) FILTER (WHERE ${col} IS NULL) AS missing FROM ${rel}`,
        params,
      );
      const sample =
        e.type === 'expect_column_values_to_not_be_null'
          ? []
          : (
              await duck.all<{ v: unknown }>(
                `SELECT ${col} AS v FROM ${rel} WHERE ${col} IS NOT NULL AND NOT (${predicate}) LIMIT ${SAMPLE}`,
                params,
              )
            ).map((r) => r.v);
      return rowResult(
        config,
        counts ?? { n: 0n, bad: 0n },
        sample,
        'mostly' in e ? e.mostly : undefined,
        e.type === 'expect_column_values_to_not_be_null',
      );
    }
  }
}

function rowPredicate(e: Expectation): { predicate: string; params: SqlParam[]; column: string } {
  switch (e.type) {
    case 'expect_column_values_to_not_be_null':
      return { predicate: 'TRUE', params: [], column: e.column };
    case 'expect_column_values_to_be_between': {
      const col = quoteIdent(e.column);
      const parts: string[] = [];
      const params: SqlParam[] = [];
      if (e.min !== undefined) {
        params.push(e.min);
        parts.push(`${col} ${e.strictMin ? '>' : '>='} $${params.length}`);
      }
      if (e.max !== undefined) {
        params.push(e.max);
        parts.push(`${col} ${e.strictMax ? '<' : '<='} $${params.length}`);
      }
      return { predicate: parts.join(' AND ') || 'TRUE', params, column: e.column };
    }
    case 'expect_column_values_to_be_in_set':
      return {
        predicate: `list_contains($1, ${quoteIdent(e.column)}::VARCHAR)`,
        params: [e.valueSet.map(String)],
        column: e.column,
      };
    case 'expect_column_values_to_match_regex':
      return {
        predicate: `regexp_matches(${quoteIdent(e.column)}::VARCHAR, $1)`,
        params: [e.regex],
        column: e.column,
      };
    case 'expect_column_pair_values_a_to_be_greater_than_b': {
      const a = quoteIdent(e.columnA);
      const b = quoteIdent(e.columnB);
      // A row where either side is null cannot be compared: it counts as unexpected.
      return {
        predicate: `coalesce(${a} ${e.orEqual ? '>=' : '>'} ${b}, FALSE)`,
        params: [],
        column: e.columnA,
      };
    }
    default:
      throw new Error(`not a row-wise expectation: ${e.type}`);
  }
}

function rowResult(
  config: ExpectationResult['expectation_config'],
  counts: Counts,
  sample: unknown[],
  mostly: number | undefined,
  nullCheck = false,
): ExpectationResult {
  const n = Number(counts.n);
  const missing = Number(counts.missing ?? 0);
  // not_be_null counts nulls as unexpected over all rows; the others judge non-null values only.
  const element = nullCheck ? n + missing : n;
  const bad = nullCheck ? missing : Number(counts.bad);
  const fractionOk = element === 0 ? 1 : (element - bad) / element;
  return {
    success: fractionOk >= (mostly ?? 1),
    expectation_config: config,
    result: {
      element_count: element,
      missing_count: nullCheck ? 0 : missing,
      unexpected_count: bad,
      unexpected_percent: element === 0 ? 0 : round((bad / element) * 100),
      partial_unexpected_list: sample.map(jsonSafe),
    },
  };
}

function jsonSafe(value: unknown): unknown {
  if (typeof value === 'bigint')
    return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (value instanceof Date) return value.toISOString();
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonSafe(v)]));
  }
  return value;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
