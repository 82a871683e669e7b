import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { loadConfig } from '../../config';
import { DuckSession } from '../../duckdb';
import { ValidationError } from '../../errors';
import { objectStoreFromConfig } from '../../storage';
import { testObjectStore } from '../../../test/support/stores';
import { uniqueName } from '../../../test/support/ids';
import { sourceFromSpec } from './index';

// Real PostgreSQL (as a source database) and real S3.
describe('sources', () => {
  let duck: DuckSession;
  const scratchDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-src-'));
  const config = loadConfig();
  const deps = {
    env: process.env,
    storeFor: (bucket: string) => objectStoreFromConfig({ ...config, s3Bucket: bucket }),
  };
  const window = { start: new Date('2026-01-01T00:00:00Z'), end: new Date('2026-01-02T00:00:00Z') };

  beforeAll(async () => {
    duck = await DuckSession.open({ threads: 1 });
  });
  afterAll(() => duck.close());

  it('reads a windowed SQL query through a cursor, binding the window as parameters', async () => {
    const client = new pg.Client({ connectionString: config.databaseUrl });
    await client.connect();
    const table = uniqueName('src').replace(/-/g, '_');
    await client.query(`CREATE TABLE ${table} (card_id text, ts timestamptz, amount double precision)`);
    await client.query(
      `INSERT INTO ${table} VALUES ('a', '2025-12-31T23:00:00Z', 1), ('b', '2026-01-01T05:00:00Z', 2), ('c', '2026-01-01T23:59:59Z', 3), ('d', '2026-01-02T00:00:00Z', 4)`,
    );
    try {
      const source = sourceFromSpec(
        { kind: 'postgres', query: `SELECT card_id, ts, amount FROM ${table}`, timeColumn: 'ts' },
        deps,
      );
      const { rows } = await source.load('raw', { duck, scratchDir, window });
      expect(rows).toBe(2);
      const got = await duck.all<{ card_id: string; _fti_row: bigint }>(
        'SELECT card_id, _fti_row FROM raw ORDER BY _fti_row',
      );
      expect(got.map((r) => [r.card_id, Number(r._fti_row)])).toEqual([
        ['b', 1],
        ['c', 2],
      ]);
      const bad = sourceFromSpec({ kind: 'postgres', query: `SELECT nope FROM ${table}` }, deps);
      await expect(bad.load('raw2', { duck, scratchDir })).rejects.toThrow(
        /the query failed: column "nope" does not exist/,
      );
    } finally {
      await client.query(`DROP TABLE ${table}`);
      await client.end();
    }
    expect(() =>
      sourceFromSpec({ kind: 'postgres', query: 'SELECT 1', urlEnv: 'FTI_NOT_SET_ANYWHERE' }, deps),
    ).toThrow(/FTI_NOT_SET_ANYWHERE is not set/);
  });

  it('reads CSV, JSON lines and Parquet from S3', async () => {
    const scoped = uniqueName('src');
    const store = testObjectStore({ prefix: scoped });
    await store.put('in/a.csv', 'card_id,event_time\nx,2026-01-01T01:00:00Z\ny,2026-01-03T01:00:00Z\n');
    await store.put('in/a.jsonl', '{"card_id":"x","event_time":"2026-01-01T01:00:00Z"}\n');
    const csv = sourceFromSpec(
      { kind: 'csv', path: `s3://${config.s3Bucket}/${scoped}/in/a.csv`, timeColumn: 'event_time' },
      deps,
    );
    expect((await csv.load('c', { duck, scratchDir, window })).rows).toBe(1);
    const jsonl = sourceFromSpec(
      { kind: 'jsonl', path: `s3://${config.s3Bucket}/${scoped}/in/a.jsonl` },
      deps,
    );
    expect((await jsonl.load('j', { duck, scratchDir })).rows).toBe(1);
    const missing = sourceFromSpec(
      { kind: 'parquet', path: `s3://${config.s3Bucket}/${scoped}/in/none.parquet` },
      deps,
    );
    await expect(missing.load('m', { duck, scratchDir })).rejects.toThrow(/no such object/);
    await store.deletePrefix('');
    store.close();
  });

  it('names a corrupt Parquet file and an unknown time column', async () => {
    const corrupt = path.join(scratchDir, 'corrupt.parquet');
    fs.writeFileSync(corrupt, 'this is not parquet');
    const error = await sourceFromSpec({ kind: 'parquet', path: corrupt }, deps)
      .load('p', { duck, scratchDir })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toMatch(/parquet file .*corrupt\.parquet cannot be read as parquet/);
    const csvFile = path.join(scratchDir, 'ok.csv');
    fs.writeFileSync(csvFile, 'a,b\n1,2\n');
    await expect(
      sourceFromSpec({ kind: 'csv', path: csvFile, timeColumn: 'ts' }, deps).load('q', {
        duck,
        scratchDir,
        window,
      }),
    ).rejects.toThrow(/time column "ts" is not in the file \(columns: a, b\)/);
  });
});
