import os from 'node:os';
import path from 'node:path';
import { DuckSession } from '../../duckdb';
import { ValidationError } from '../../errors';
import { TransformationRegistry } from './registry';
import {
  durationMs,
  intervalOf,
  rowTransformation,
  sqlTransformation,
  windowAggregation,
} from './transformation';

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

  it('last takes the latest non-null value by (time, input order); ms windows and a time offset apply', async () => {
    await duck.run(`CREATE TABLE ties AS SELECT * FROM (VALUES
      ('k', TIMESTAMP '2026-01-01 10:00:00', 1.0, 1), ('k', TIMESTAMP '2026-01-01 10:00:00.400', NULL, 2),
      ('k', TIMESTAMP '2026-01-01 10:00:00', 3.0, 3), ('k', TIMESTAMP '2026-01-01 10:00:00.900', NULL, 4),
      ('k', TIMESTAMP '2026-01-01 10:00:00.100', 2.0, 5)
    ) v(card_id, ts, amount, _fti_row)`);
    const t = windowAggregation({
      partitionBy: ['card_id'],
      timeColumn: 'ts',
      timeOffset: '1ms',
      features: [
        { name: 'last_amount', fn: 'last', column: 'amount', window: '500ms' },
        { name: 'n_500ms', fn: 'count', column: 'amount', window: '500ms' },
      ],
    });
    await t.apply('ties', 'ties_out', { duck, scratchDir });
    const rows = await duck.all<{ ts: Date; last_amount: number | null; n_500ms: bigint }>(
      'SELECT ts, last_amount, n_500ms FROM ties_out ORDER BY _fti_row',
    );
    expect(rows.map((r) => [r.ts.toISOString(), r.last_amount, Number(r.n_500ms)])).toEqual([
      // Peers at 10:00:00 both see row 3 (same time, later input), whichever of them is asked.
      ['2026-01-01T10:00:00.001Z', 3, 2],
      ['2026-01-01T10:00:00.401Z', 2, 3], // 10:00:00.100 is the latest non-null at or before .400
      ['2026-01-01T10:00:00.001Z', 3, 2],
      ['2026-01-01T10:00:00.901Z', null, 0], // 500 ms back reaches only .400 (null)
      ['2026-01-01T10:00:00.101Z', 2, 3],
    ]);
  });

  it('exposes the incremental form a stream runner needs, and none for SQL', () => {
    const spec = { partitionBy: ['card_id'], timeColumn: 'ts', features: [] };
    const fn = (row: Readonly<Record<string, unknown>>) => ({ ...row });
    expect(windowAggregation(spec).window).toBe(spec);
    expect(rowTransformation(fn).rowFunction).toBe(fn);
    const sql = sqlTransformation((input) => `SELECT * FROM ${input}`);
    expect(sql.window).toBeUndefined();
    expect(sql.rowFunction).toBeUndefined();
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
    expect(intervalOf('500ms')).toBe('INTERVAL 500 MILLISECOND');
    expect([durationMs('500ms'), durationMs('10m'), durationMs('1d')]).toEqual([500, 600_000, 86_400_000]);
    expect(() => intervalOf('1 week')).toThrow(ValidationError);
    expect(() =>
      windowAggregation({
        partitionBy: ['k'],
        timeColumn: 't',
        features: [{ name: 'n', fn: 'count', window: '5w' }],
      }),
    ).toThrow(/window feature n: window "5w" must be a number followed by ms, s, m, h or d/);
    expect(() =>
      windowAggregation({
        partitionBy: ['k'],
        timeColumn: 't',
        features: [{ name: 'm', fn: 'median' as 'max', column: 'x', window: '1m' }],
      }),
    ).toThrow(/window feature m: fn must be one of count, sum, mean, min, max, stddev, last/);
    expect(() =>
      windowAggregation({ partitionBy: ['k'], timeColumn: 't', features: [], timeOffset: '-1ms' }),
    ).toThrow(/timeOffset "-1ms"/);
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
