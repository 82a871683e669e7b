import { DuckSession } from '../duckdb';
import { computeStatistics, mergeStatistics, withoutSketches } from './statistics';

describe('computeStatistics against hand computation', () => {
  let duck: DuckSession;
  beforeAll(async () => {
    duck = await DuckSession.open({ threads: 1 });
    await duck.run(`CREATE TABLE t AS SELECT * FROM (VALUES
      (1.0, 'x', TIMESTAMP '2026-01-01 00:00:00', [0.1, 0.2]::FLOAT[]), (2.0, 'y', TIMESTAMP '2026-01-02 00:00:00', NULL),
      (3.0, 'x', NULL, [0.3, 0.4]::FLOAT[]), (4.0, NULL, TIMESTAMP '2026-01-03 00:00:00', NULL), (NULL, 'z', TIMESTAMP '2026-01-04 00:00:00', NULL)
    ) v(amount, label, ts, emb)`);
  });
  afterAll(() => duck.close());

  it('counts, nulls, min/max/mean/stddev, distinct, quantiles, histogram', async () => {
    const stats = await computeStatistics(
      duck,
      't',
      [
        { name: 'amount', type: 'double' },
        { name: 'label', type: 'string' },
        { name: 'ts', type: 'timestamp' },
        { name: 'emb', type: 'float_array' },
      ],
      3,
    );
    const amount = stats.amount!;
    expect(amount).toMatchObject({ count: 4, nulls: 1, distinct: 4, min: 1, max: 4, mean: 2.5 });
    expect(amount.stddev).toBeCloseTo(Math.sqrt(5 / 3)); // sample stddev of 1,2,3,4
    // Quantiles come from a sketch with 1 % relative accuracy.
    expect(amount.quantiles?.['0.5']).toBeGreaterThanOrEqual(2 * 0.99);
    expect(amount.quantiles?.['0.5']).toBeLessThanOrEqual(3 * 1.01);
    expect(amount.histogram).toEqual({ edges: [1, 2, 3, 4], counts: [1, 1, 2] });
    expect(stats.label).toMatchObject({ count: 4, nulls: 1, distinct: 3, min: 'x', max: 'z' });
    expect(stats.ts).toMatchObject({
      count: 4,
      nulls: 1,
      min: '2026-01-01 00:00:00',
      max: '2026-01-04 00:00:00',
    });
    expect(stats.emb).toMatchObject({ count: 2, nulls: 3 });
  });

  it('handles an all-null column', async () => {
    await duck.run('CREATE TABLE e AS SELECT NULL::DOUBLE AS v FROM range(3)');
    const stats = await computeStatistics(duck, 'e', [{ name: 'v', type: 'double' }]);
    expect(stats.v).toMatchObject({
      count: 0,
      nulls: 3,
      min: null,
      mean: null,
      histogram: { edges: [], counts: [] },
    });
  });

  it('NaN and ±Infinity (a feature that allows them) never make statistics fail; they are counted apart', async () => {
    await duck.run(`CREATE TABLE nf AS SELECT * FROM (VALUES (1.0::DOUBLE), ('NaN'::DOUBLE), ('Infinity'::DOUBLE),
      ('-Infinity'::DOUBLE), (3.0), (NULL)) v(x)`);
    const { x } = await computeStatistics(duck, 'nf', [{ name: 'x', type: 'double' }], 2);
    expect(withoutSketches({ x: x! }).x).toMatchObject({
      count: 5,
      nulls: 1,
      nonFinite: { nan: 1, posInf: 1, negInf: 1 },
      min: 1,
      max: 3,
      mean: 2,
      sum: 4,
      histogram: { edges: [1, 2, 3], counts: [1, 1] },
    });
    expect(x!.stddev).toBeCloseTo(Math.SQRT2);
  });

  it('merged per-batch statistics equal the statistics of all rows; a column a batch lacks counts as nulls', async () => {
    await duck.run(
      'CREATE TABLE whole AS SELECT i, (i * 7919 % 1000)::DOUBLE / 10 AS v FROM range(3000) r(i)',
    );
    const columns = [
      { name: 'i', type: 'bigint' as const },
      { name: 'v', type: 'double' as const },
    ];
    const whole = await computeStatistics(duck, 'whole', columns);
    const parts = [];
    for (const [lo, hi] of [
      [0, 1000],
      [1000, 2500],
      [2500, 3000],
    ]) {
      await duck.run(`CREATE OR REPLACE TABLE part AS SELECT * FROM whole WHERE i >= ${lo} AND i < ${hi}`);
      parts.push(await computeStatistics(duck, 'part', columns));
    }
    const { statistics: merged, skipped } = mergeStatistics(parts, columns);
    expect(skipped).toBe(0);
    for (const { name } of columns) {
      const m = merged[name]!;
      const w = whole[name]!;
      expect([m.count, m.nulls, m.min, m.max, m.distinct]).toEqual([
        w.count,
        w.nulls,
        w.min,
        w.max,
        w.distinct,
      ]);
      expect(m.mean).toBeCloseTo(w.mean!, 9);
      expect(m.stddev).toBeCloseTo(w.stddev!, 9);
      expect(m.quantiles).toEqual(w.quantiles);
    }

    const appended = mergeStatistics(parts, [...columns, { name: 'late', type: 'string' }]);
    expect(appended.statistics.late).toMatchObject({ count: 0, nulls: 3000 });
  });
});
