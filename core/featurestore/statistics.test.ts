import { DuckSession } from '../duckdb';
import { computeStatistics } from './statistics';

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
    expect(amount.quantiles?.['0.5']).toBeGreaterThanOrEqual(2);
    expect(amount.quantiles?.['0.5']).toBeLessThanOrEqual(3);
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
});
