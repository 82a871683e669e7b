import { DuckSession } from '../../duckdb';
import { expectationSuiteSchema, type ExpectationInput } from './expectations';
import { summarizeFailures, validateRelation } from './validator';

describe('validateRelation (every expectation type, hand-computed)', () => {
  let duck: DuckSession;
  beforeAll(async () => {
    duck = await DuckSession.open({ threads: 1 });
    // 10 rows: amount 1..9 and NULL; category a/b/c plus one 'zzz'; ids unique except 7 twice.
    await duck.run(`CREATE TABLE batch AS SELECT * FROM (VALUES
      (1, 'a', 1.0, 0.5, 'AB-1'), (2, 'b', 2.0, 1.0, 'AB-2'), (3, 'c', 3.0, 4.0, 'AB-3'), (4, 'a', 4.0, 1.0, 'AB-4'),
      (5, 'b', 5.0, 1.0, 'xx'), (6, 'c', 6.0, 1.0, 'AB-6'), (7, 'a', 7.0, 1.0, 'AB-7'), (7, 'b', 8.0, 1.0, 'AB-8'),
      (9, 'zzz', 9.0, 1.0, 'AB-9'), (10, 'a', NULL, NULL, NULL)
    ) t(id, category, amount, fee, code)`);
  });
  afterAll(() => duck.close());

  async function run(expectation: ExpectationInput) {
    const suite = expectationSuiteSchema.parse({ expectations: [expectation] });
    const report = await validateRelation(duck, 'batch', suite, 'strict');
    return report.results[0]!;
  }

  it('not null: 1 null of 10', async () => {
    const r = await run({ type: 'expect_column_values_to_not_be_null', column: 'amount' });
    expect(r.success).toBe(false);
    expect(r.result).toMatchObject({ element_count: 10, unexpected_count: 1, unexpected_percent: 10 });
    expect(
      (await run({ type: 'expect_column_values_to_not_be_null', column: 'amount', mostly: 0.9 })).success,
    ).toBe(true);
  });

  it('between with mostly and strict bounds', async () => {
    const r = await run({ type: 'expect_column_values_to_be_between', column: 'amount', min: 2, max: 8 });
    expect(r.result).toMatchObject({ element_count: 9, missing_count: 1, unexpected_count: 2 });
    expect(r.result.partial_unexpected_list).toEqual(expect.arrayContaining([1, 9]));
    expect(r.success).toBe(false);
    expect(
      (
        await run({
          type: 'expect_column_values_to_be_between',
          column: 'amount',
          min: 2,
          max: 8,
          mostly: 0.75,
        })
      ).success,
    ).toBe(true);
    const strict = await run({
      type: 'expect_column_values_to_be_between',
      column: 'amount',
      min: 1,
      strictMin: true,
    });
    expect(strict.result.unexpected_count).toBe(1);
  });

  it('in set', async () => {
    const r = await run({
      type: 'expect_column_values_to_be_in_set',
      column: 'category',
      valueSet: ['a', 'b', 'c'],
    });
    expect(r.result).toMatchObject({ unexpected_count: 1, partial_unexpected_list: ['zzz'] });
    expect(
      (
        await run({
          type: 'expect_column_values_to_be_in_set',
          column: 'id',
          valueSet: [1, 2, 3, 4, 5, 6, 7, 9, 10],
        })
      ).success,
    ).toBe(true);
  });

  it('unique and compound unique', async () => {
    const r = await run({ type: 'expect_column_values_to_be_unique', column: 'id' });
    expect(r.result).toMatchObject({ element_count: 10, unexpected_count: 2, partial_unexpected_list: [7] });
    expect(
      (await run({ type: 'expect_compound_columns_to_be_unique', columns: ['id', 'category'] })).success,
    ).toBe(true);
  });

  it('regex', async () => {
    const r = await run({ type: 'expect_column_values_to_match_regex', column: 'code', regex: '^AB-\\d+$' });
    expect(r.result).toMatchObject({
      element_count: 9,
      unexpected_count: 1,
      partial_unexpected_list: ['xx'],
    });
  });

  it('row count', async () => {
    expect(
      (await run({ type: 'expect_table_row_count_to_be_between', min: 10, max: 10 })).result.observed_value,
    ).toBe(10);
    expect((await run({ type: 'expect_table_row_count_to_be_between', min: 11 })).success).toBe(false);
  });

  it('mean and stddev', async () => {
    const mean = await run({
      type: 'expect_column_mean_to_be_between',
      column: 'amount',
      min: 4.9,
      max: 5.1,
    });
    expect(mean.result.observed_value).toBeCloseTo(5);
    expect(mean.success).toBe(true);
    const sd = await run({ type: 'expect_column_stdev_to_be_between', column: 'amount', max: 1 });
    expect(sd.result.observed_value).toBeCloseTo(Math.sqrt(7.5)); // sample stddev of 1..9
    expect(sd.success).toBe(false);
  });

  it('column pair a > b', async () => {
    const r = await run({
      type: 'expect_column_pair_values_a_to_be_greater_than_b',
      columnA: 'amount',
      columnB: 'fee',
    });
    expect(r.result).toMatchObject({ element_count: 9, unexpected_count: 1 });
  });

  it('aggregates severities into the ingestion decision and summarizes without values', async () => {
    const suite = expectationSuiteSchema.parse({
      name: 'txns',
      expectations: [
        {
          type: 'expect_column_values_to_be_in_set',
          column: 'category',
          valueSet: ['a', 'b', 'c'],
          severity: 'warning',
        },
        { type: 'expect_table_row_count_to_be_between', min: 1 },
      ],
    });
    const report = await validateRelation(duck, 'batch', suite, 'strict');
    expect(report.success).toBe(false);
    expect(report.meta.has_error_failures).toBe(false);
    expect(report.statistics).toEqual({
      evaluated_expectations: 2,
      successful_expectations: 1,
      unsuccessful_expectations: 1,
      success_percent: 50,
    });
    expect(summarizeFailures(report)).toBe(
      'expect_column_values_to_be_in_set[category] (10% unexpected) warning',
    );
    expect(summarizeFailures(report)).not.toContain('zzz');
  });

  it('rejects unknown expectation types and bad columns at definition time', () => {
    expect(() =>
      expectationSuiteSchema.parse({ expectations: [{ type: 'expect_magic', column: 'x' }] }),
    ).toThrow();
    expect(() =>
      expectationSuiteSchema.parse({
        expectations: [{ type: 'expect_column_values_to_not_be_null', column: 'x; drop' }],
      }),
    ).toThrow();
  });
});
