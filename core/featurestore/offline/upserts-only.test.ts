import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sqlPath, withDuck } from '../../duckdb';
import { upsertsOnly } from './upserts-only';

// Real Parquet files written by DuckDB: a snapshot may skip its `_fti_op = 'U'` filter only for a
// file that the footer proves holds upserts alone.
describe('upsertsOnly (Parquet footer statistics)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-upserts-only-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const write = async (name: string, select: string, rowGroupSize = 100_000) =>
    withDuck(async (duck) => {
      const file = path.join(dir, name);
      await duck.run(`COPY (${select}) TO ${sqlPath(file)} (FORMAT parquet, ROW_GROUP_SIZE ${rowGroupSize})`);
      return upsertsOnly(duck, file);
    });

  it('says yes for a file of upserts only, across several row groups', async () => {
    expect(await write('u.parquet', `SELECT i AS id, 'U' AS _fti_op FROM range(5000) t(i)`, 1024)).toBe(true);
  });

  it('says no when any row group holds a delete marker, even the last of many', async () => {
    expect(
      await write(
        'ud.parquet',
        `SELECT i AS id, CASE WHEN i = 4999 THEN 'D' ELSE 'U' END AS _fti_op FROM range(5000) t(i)`,
        1024,
      ),
    ).toBe(false);
  });

  it('says no for a NULL op and for a file without the op column', async () => {
    expect(
      await write(
        'n.parquet',
        `SELECT i AS id, CASE WHEN i = 7 THEN NULL ELSE 'U' END AS _fti_op FROM range(100) t(i)`,
      ),
    ).toBe(false);
    expect(await write('none.parquet', `SELECT i AS id FROM range(100) t(i)`)).toBe(false);
  });
});
