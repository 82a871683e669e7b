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
  // The source database is the test database here, reached through the source variable: the
  // platform's DATABASE_URL is never used for sources.
  const deps = {
    env: { ...process.env, FTI_SOURCE_DATABASE_URL: config.databaseUrl },
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

  describe('postgres source security', () => {
    const table = uniqueName('src_ro').replace(/-/g, '_');
    let client: pg.Client;
    beforeAll(async () => {
      client = new pg.Client({ connectionString: config.databaseUrl });
      await client.connect();
      await client.query(`CREATE TABLE ${table} (id int, x double precision)`);
      await client.query(`INSERT INTO ${table} VALUES (1, 'NaN'), (2, 'Infinity'), (3, 1.5)`);
    });
    afterAll(async () => {
      await client.query(`DROP TABLE ${table}`);
      await client.end();
    });
    const failure = (spec: Parameters<typeof sourceFromSpec>[0]) =>
      sourceFromSpec(spec, deps)
        .load('pg', { duck, scratchDir })
        .catch((e: unknown) => e);

    it('never defaults to DATABASE_URL: without FTI_SOURCE_DATABASE_URL the source refuses to run', () => {
      const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: config.databaseUrl };
      delete env.FTI_SOURCE_DATABASE_URL;
      expect(() => sourceFromSpec({ kind: 'postgres', query: 'SELECT 1' }, { ...deps, env })).toThrow(
        /environment variable FTI_SOURCE_DATABASE_URL is not set on the features worker\. Set it to the URL of the database to read .*the platform's DATABASE_URL is never used for sources/,
      );
      expect(() =>
        sourceFromSpec({ kind: 'postgres', query: 'SELECT 1', urlEnv: 'DATABASE_URL' }, { ...deps, env }),
      ).toThrow(
        /source: urlEnv must not be DATABASE_URL: source queries never run with the platform's own database credentials/,
      );
    });

    it('runs the query in a READ ONLY transaction: a writing query fails and writes nothing', async () => {
      const error = await failure({
        kind: 'postgres',
        query: `WITH gone AS (DELETE FROM ${table} RETURNING id) SELECT id FROM gone`,
      });
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as Error).message).toMatch(
        /the query failed: cannot execute \w+ in a read-only transaction\. To fix: source queries run in a READ ONLY transaction/,
      );
      const multi = await failure({ kind: 'postgres', query: `SELECT 1; DELETE FROM ${table}` });
      expect((multi as Error).message).toMatch(/cannot insert multiple commands into a prepared statement/);
      expect((await client.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n).toBe(3);
    });

    it('cancels a query that runs past source.statementTimeoutSeconds', async () => {
      const error = await failure({
        kind: 'postgres',
        query: 'SELECT pg_sleep(5) AS slept',
        statementTimeoutSeconds: 1,
      });
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as Error).message).toMatch(
        /canceling statement due to statement timeout\. To fix: the query ran past the statement timeout; .*raise source\.statementTimeoutSeconds/,
      );
    });

    it('keeps NaN and Infinity as such (JSON would have turned them into null)', async () => {
      await sourceFromSpec({ kind: 'postgres', query: `SELECT id, x FROM ${table} ORDER BY id` }, deps).load(
        'pgnan',
        { duck, scratchDir },
      );
      const rows = await duck.all<{ x: number }>(
        'SELECT TRY_CAST(x AS DOUBLE) AS x FROM pgnan ORDER BY _fti_row',
      );
      expect(rows.map((r) => r.x)).toEqual([NaN, Infinity, 1.5]);
    });
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
