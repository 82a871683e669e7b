import { DuckSession } from '../duckdb';
import { ValidationError } from '../errors';
import { conformBatch } from './conform';
import { defineFeatureGroup } from './feature-group';

describe('conformBatch: bad input is named, never half-written', () => {
  let duck: DuckSession;
  const spec = defineFeatureGroup({
    name: 'txns',
    primaryKey: ['card_id'],
    eventTime: 'event_time',
    features: [
      { name: 'card_id', type: 'string' },
      { name: 'event_time', type: 'timestamp' },
      { name: 'amount', type: 'double' },
      { name: 'embedding', type: 'float_array' },
      { name: 'note', type: 'string' },
    ],
  });
  beforeAll(async () => {
    duck = await DuckSession.open({ threads: 1 });
  });
  afterAll(() => duck.close());

  async function table(sql: string) {
    await duck.run(`CREATE OR REPLACE TABLE src AS SELECT *, row_number() OVER () AS _fti_row FROM (${sql})`);
  }
  /** Adds the optional columns the case's SQL does not select, as NULL, so only its defect remains. */
  const optional = (sql: string) =>
    `SELECT * FROM (${sql}) CROSS JOIN (SELECT NULL::DOUBLE AS amount, NULL::FLOAT[] AS embedding, NULL AS note) defaults`;
  const nulls = (sql: string, columns: readonly string[]) =>
    `SELECT *, ${columns.map((c) => `NULL AS ${c}`).join(', ')} FROM (${sql})`;
  const attempt = () => conformBatch(duck, 'src', 'out', spec, 'file txns.csv');

  it('casts to declared types and keeps schema order', async () => {
    await table(
      `SELECT '2026-01-01T10:00:00Z' AS event_time, 'c1' AS card_id, '12.5' AS amount, '[1,2]' AS embedding, NULL AS note`,
    );
    expect(await attempt()).toEqual({ rows: 1 });
    const cols = await duck.describe('SELECT * FROM out');
    expect(cols).toEqual([
      { name: 'card_id', type: 'VARCHAR' },
      { name: 'event_time', type: 'TIMESTAMP' },
      { name: 'amount', type: 'DOUBLE' },
      { name: 'embedding', type: 'FLOAT[]' },
      { name: 'note', type: 'VARCHAR' },
      { name: '_fti_row', type: 'BIGINT' },
    ]);
  });

  it.each([
    [
      'unknown column',
      `SELECT 'c1' AS card_id, TIMESTAMP '2026-01-01' AS event_time, 1 AS surprise`,
      /unknown column\(s\) "surprise"/,
    ],
    [
      'missing key column',
      `SELECT TIMESTAMP '2026-01-01' AS event_time`,
      /missing column\(s\) "card_id", "amount", "embedding", "note" declared by the feature group/,
    ],
    [
      'missing nullable feature (it would silently become NULL)',
      `SELECT 'c1' AS card_id, TIMESTAMP '2026-01-01' AS event_time, 1.5 AS amount, [1.0] AS embedding`,
      /missing column\(s\) "note" declared by the feature group \(the input has: card_id, event_time, amount, embedding\)\. Add them to the source, or produce them in the transformation/,
    ],
    [
      'NaN in a double feature',
      nulls(
        `SELECT * FROM (VALUES ('c1', '2026-01-01', '1.0'), ('c2', '2026-01-01', 'NaN')) v(card_id, event_time, amount)`,
        ['embedding', 'note'],
      ),
      /column "amount" \(double\) has 1 non-finite value\(s\) \(first at row 2: NaN\)\. Clean the source .* or set "allowNonFinite": true on feature "amount"/,
    ],
    [
      '-Infinity in a double feature read as DOUBLE',
      nulls(
        `SELECT * FROM (VALUES ('c1', '2026-01-01', 1.0::DOUBLE), ('c2', '2026-01-01', '-inf'::DOUBLE), ('c3', '2026-01-01', 'inf'::DOUBLE)) v(card_id, event_time, amount)`,
        ['embedding', 'note'],
      ),
      /column "amount" \(double\) has 2 non-finite value\(s\) \(first at row 2: -Infinity\)/,
    ],
    [
      'Infinity inside a float_array',
      nulls(
        `SELECT * FROM (VALUES ('c1', '2026-01-01', [1.0, 'inf'::DOUBLE])) v(card_id, event_time, embedding)`,
        ['amount', 'note'],
      ),
      /column "embedding" \(float_array\) has 1 non-finite value\(s\) \(first at row 1: array element Infinity\)/,
    ],
    [
      'empty input',
      optional(`SELECT 'c1' AS card_id, TIMESTAMP '2026-01-01' AS event_time WHERE false`),
      /has no rows/,
    ],
    [
      'null primary key',
      optional(`SELECT * FROM (VALUES ('c1', '2026-01-01'), (NULL, '2026-01-02')) v(card_id, event_time)`),
      /primary-key column "card_id" is null in 1 row\(s\) \(first at row 2\)/,
    ],
    [
      'unparsable number',
      nulls(
        `SELECT * FROM (VALUES ('c1', '2026-01-01', '1.0'), ('c2', '2026-01-01', 'lots')) v(card_id, event_time, amount)`,
        ['embedding', 'note'],
      ),
      /column "amount" has 1 value\(s\) that are not a valid double \(first at row 2\)/,
    ],
  ])('%s', async (_case, sql, message) => {
    await table(sql);
    await duck.run('DROP TABLE IF EXISTS out');
    const error = await attempt().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toContain('file txns.csv → feature group txns v1');
    expect((error as Error).message).not.toContain('lots');
    expect(await duck.all("SELECT * FROM duckdb_tables() WHERE table_name = 'out'")).toEqual([]);
  });

  it('accepts NaN and Infinity in a feature that opted in with allowNonFinite', async () => {
    const optIn = defineFeatureGroup({
      name: 'txns',
      primaryKey: ['card_id'],
      eventTime: 'event_time',
      features: [
        { name: 'card_id', type: 'string' },
        { name: 'event_time', type: 'timestamp' },
        { name: 'amount', type: 'double', allowNonFinite: true },
      ],
    });
    await table(
      `SELECT * FROM (VALUES ('c1', '2026-01-01', 'NaN'), ('c2', '2026-01-01', 'Infinity')) v(card_id, event_time, amount)`,
    );
    expect(await conformBatch(duck, 'src', 'out', optIn, 'file txns.csv')).toEqual({ rows: 2 });
    const rows = await duck.all<{ amount: number }>('SELECT amount FROM out ORDER BY _fti_row');
    expect(rows.map((r) => r.amount)).toEqual([NaN, Infinity]);
  });

  it('fills missing nullable columns with NULL only when asked to (batches that name keys, e.g. deletes)', async () => {
    await table(`SELECT 'c1' AS card_id, TIMESTAMP '2026-01-01' AS event_time`);
    expect(await conformBatch(duck, 'src', 'out', spec, 'delete keys', { missingNullable: 'null' })).toEqual({
      rows: 1,
    });
    expect(await duck.all('SELECT amount, embedding, note FROM out')).toEqual([
      { amount: null, embedding: null, note: null },
    ]);
    await table(`SELECT TIMESTAMP '2026-01-01' AS event_time`);
    await expect(
      conformBatch(duck, 'src', 'out', spec, 'delete keys', { missingNullable: 'null' }),
    ).rejects.toThrow(/missing column\(s\) "card_id" declared by the feature group/);
  });
});
