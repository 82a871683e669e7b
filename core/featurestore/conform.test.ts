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
  const attempt = () => conformBatch(duck, 'src', 'out', spec, 'file txns.csv');

  it('casts to declared types, fills missing nullable features with NULL, keeps schema order', async () => {
    await table(
      `SELECT '2026-01-01T10:00:00Z' AS event_time, 'c1' AS card_id, '12.5' AS amount, '[1,2]' AS embedding`,
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
      /missing required column\(s\) "card_id"/,
    ],
    [
      'empty input',
      `SELECT 'c1' AS card_id, TIMESTAMP '2026-01-01' AS event_time WHERE false`,
      /has no rows/,
    ],
    [
      'null primary key',
      `SELECT * FROM (VALUES ('c1', '2026-01-01'), (NULL, '2026-01-02')) v(card_id, event_time)`,
      /primary-key column "card_id" is null in 1 row\(s\) \(first at row 2\)/,
    ],
    [
      'unparsable number',
      `SELECT * FROM (VALUES ('c1', '2026-01-01', '1.0'), ('c2', '2026-01-01', 'lots')) v(card_id, event_time, amount)`,
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
});
