import os from 'node:os';
import path from 'node:path';
import { DuckSession } from '../../duckdb';
import { ValidationError } from '../../errors';
import { TransformationRegistry } from './registry';
import { intervalOf, rowTransformation, windowAggregation } from './transformation';

describe('transformations', () => {
  let duck: DuckSession;
  const scratchDir = path.join(os.tmpdir(), 'fti-transform-test');
  beforeAll(async () => {
    duck = await DuckSession.open({ threads: 1 });
    await duck.run(`CREATE TABLE raw AS SELECT * FROM (VALUES
      ('c1', TIMESTAMP '2026-01-01 10:00:00', 10.0, 1), ('c1', TIMESTAMP '2026-01-01 10:05:00', 20.0, 2),
      ('c1', TIMESTAMP '2026-01-01 10:30:00', 5.0, 3), ('c2', TIMESTAMP '2026-01-01 10:01:00', 7.0, 4),
      ('c1', TIMESTAMP '2026-01-02 10:00:00', 1.0, 5)
    ) v(card_id, ts, amount, _fti_row)`);
  });
  afterAll(() => duck.close());

  it('computes trailing-window counts, sums and means per key as of each event', async () => {
    const t = windowAggregation({
      partitionBy: ['card_id'],
      timeColumn: 'ts',
      features: [
        { name: 'n_10m', fn: 'count', window: '10m' },
        { name: 'sum_1h', fn: 'sum', column: 'amount', window: '1h' },
        { name: 'mean_1d', fn: 'mean', column: 'amount', window: '1d' },
      ],
    });
    await t.apply('raw', 'out', { duck, scratchDir });
    const rows = await duck.all<{
      card_id: string;
      n_10m: bigint;
      sum_1h: number;
      mean_1d: number;
      _fti_row: number;
    }>('SELECT * FROM out ORDER BY _fti_row');
    expect(rows.map((r) => [r.card_id, Number(r.n_10m), r.sum_1h, r.mean_1d])).toEqual([
      ['c1', 1, 10, 10],
      ['c1', 2, 30, 15],
      ['c1', 1, 35, 35 / 3],
      ['c2', 1, 7, 7],
      ['c1', 1, 1, (10 + 20 + 5 + 1) / 4], // RANGE 1 DAY PRECEDING includes the row exactly 24h earlier
    ]);
  });

  it('runs per-row TypeScript functions, dropping rows that return null', async () => {
    const t = rowTransformation(
      (row) => (Number(row.amount) < 6 ? null : { card_id: row.card_id, big: Number(row.amount) > 15 }),
      { chunkSize: 2 },
    );
    await t.apply('raw', 'rows_out', { duck, scratchDir });
    const rows = await duck.all<{ card_id: string; big: boolean; _fti_row: bigint }>(
      'SELECT * FROM rows_out ORDER BY _fti_row',
    );
    expect(rows.map((r) => [r.card_id, r.big, Number(r._fti_row)])).toEqual([
      ['c1', false, 1],
      ['c1', true, 2],
      ['c2', false, 4],
    ]);
  });

  it('validates windows and names', () => {
    expect(intervalOf('7d')).toBe('INTERVAL 7 DAY');
    expect(() => intervalOf('1 week')).toThrow(ValidationError);
    expect(() => windowAggregation({ partitionBy: ['x;drop'], timeColumn: 't', features: [] })).toThrow(
      ValidationError,
    );
  });

  it('registry lists what is registered when a name is unknown', () => {
    const registry = new TransformationRegistry().register(
      'card_windows',
      rowTransformation((r) => ({ ...r })),
    );
    expect(() => registry.get('nope')).toThrow(
      /not registered on this features worker \(registered: card_windows\)/,
    );
    expect(() =>
      registry.register(
        'card_windows',
        rowTransformation((r) => ({ ...r })),
      ),
    ).toThrow(/already registered/);
  });
});
