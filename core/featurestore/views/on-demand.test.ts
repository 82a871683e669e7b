import os from 'node:os';
import { withDuck } from '../../duckdb';
import { computeOnDemand, defineOnDemandFeature, onDemandIngestion, OnDemandRegistry } from './on-demand';

const ratio = defineOnDemandFeature({
  name: 'ratio',
  type: 'double',
  inputs: ['a', 'b'],
  compute: ({ a, b }) => (typeof a === 'number' && typeof b === 'number' && b !== 0 ? a / b : null),
});

describe('on-demand features', () => {
  it('computes the same values at ingestion (over raw rows) as at serving time', async () => {
    const rows = await withDuck(async (duck) => {
      await duck.run(
        `CREATE TABLE raw AS SELECT * FROM (VALUES (1, 10.0, 4.0), (2, 3.0, 0.0), (3, NULL, 2.0)) v(_fti_row, amount, avg)`,
      );
      await onDemandIngestion([{ fn: ratio, name: 'amount_ratio', inputs: { a: 'amount', b: 'avg' } }]).apply(
        'raw',
        'out',
        { duck, scratchDir: os.tmpdir() },
      );
      return duck.all<{ amount: number | null; avg: number; amount_ratio: number | null }>(
        'SELECT amount, avg, amount_ratio FROM out ORDER BY _fti_row',
      );
    });
    const binding = { name: 'amount_ratio', function: 'ratio', inputs: { a: 'amount', b: 'avg' } };
    expect(rows.map((r) => r.amount_ratio)).toEqual([2.5, null, null]);
    for (const r of rows) expect(r.amount_ratio).toEqual(computeOnDemand(ratio, binding, r));
  });

  it('non-finite results become null; unknown functions name the registered ones', () => {
    const inf = defineOnDemandFeature({
      name: 'inf',
      type: 'double',
      inputs: ['x'],
      compute: () => Infinity,
    });
    expect(computeOnDemand(inf, { name: 'inf', function: 'inf', inputs: { x: 'x' } }, { x: 1 })).toBeNull();
    const registry = new OnDemandRegistry([ratio]);
    expect(() => registry.get('nope')).toThrow(
      /"nope" is not registered in this process \(registered: ratio\)/,
    );
    expect(() => defineOnDemandFeature({ ...ratio, name: 'Bad' })).toThrow(/lowercase identifier/);
  });
});
