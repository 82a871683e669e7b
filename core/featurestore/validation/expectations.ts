import { z } from 'zod';
import { isIdentifier } from '../../identifiers';

const column = z.string().refine(isIdentifier, { message: 'must be a column name (lowercase identifier)' });
const mostly = z.number().min(0).max(1).optional();
const severity = z.enum(['error', 'warning']).default('error');
const bound = z.number().finite().optional();

/**
 * Every expectation type, in Great Expectations' naming. Each has a severity: an `error` failure
 * blocks a `strict` ingestion, a `warning` is reported only. `mostly` is the fraction of non-null
 * values that must pass (default 1).
 */
export const expectationSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('expect_column_values_to_not_be_null'), column, mostly, severity }),
  z.object({
    type: z.literal('expect_column_values_to_be_between'),
    column,
    min: bound,
    max: bound,
    strictMin: z.boolean().default(false),
    strictMax: z.boolean().default(false),
    mostly,
    severity,
  }),
  z.object({
    type: z.literal('expect_column_values_to_be_in_set'),
    column,
    valueSet: z.array(z.union([z.string(), z.number()])).min(1),
    mostly,
    severity,
  }),
  z.object({ type: z.literal('expect_column_values_to_be_unique'), column, severity }),
  z.object({
    type: z.literal('expect_compound_columns_to_be_unique'),
    columns: z.array(column).min(2),
    severity,
  }),
  z.object({
    type: z.literal('expect_column_values_to_match_regex'),
    column,
    regex: z.string().min(1).max(500),
    mostly,
    severity,
  }),
  z.object({
    type: z.literal('expect_table_row_count_to_be_between'),
    min: z.number().int().nonnegative().optional(),
    max: z.number().int().nonnegative().optional(),
    severity,
  }),
  z.object({ type: z.literal('expect_column_mean_to_be_between'), column, min: bound, max: bound, severity }),
  z.object({
    type: z.literal('expect_column_stdev_to_be_between'),
    column,
    min: bound,
    max: bound,
    severity,
  }),
  z.object({
    type: z.literal('expect_column_pair_values_a_to_be_greater_than_b'),
    columnA: column,
    columnB: column,
    orEqual: z.boolean().default(false),
    mostly,
    severity,
  }),
]);

/** One expectation as declared (input form; defaults optional). */
export type ExpectationInput = z.input<typeof expectationSchema>;
/** One expectation with defaults applied. */
export type Expectation = z.output<typeof expectationSchema>;

/** A named list of expectations attached to a feature group. */
export const expectationSuiteSchema = z.object({
  name: z.string().min(1).max(200).default('default'),
  expectations: z.array(expectationSchema),
});

/** An expectation suite with defaults applied. */
export type ExpectationSuite = z.output<typeof expectationSuiteSchema>;

/** `strict`: any error-severity failure writes nothing. `always`: write, keep the report. */
export type IngestionPolicy = 'strict' | 'always';
