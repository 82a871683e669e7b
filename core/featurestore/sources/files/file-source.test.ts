import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckSession } from '../../../duckdb';
import { ValidationError } from '../../../errors';
import { FileSource } from './file-source';

// DuckDB is embedded (no service); files are real local files.
describe('FileSource: strict CSV', () => {
  let duck: DuckSession;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-csv-strict-'));
  beforeAll(async () => {
    duck = await DuckSession.open({ threads: 1 });
  });
  afterAll(() => duck.close());
  beforeEach(() => duck.run('DROP TABLE IF EXISTS raw'));

  const write = (name: string, text: string) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
  };
  const load = (file: string, delimiter?: string) =>
    new FileSource({ format: 'csv', path: file, ...(delimiter ? { delimiter } : {}) }).load('raw', {
      duck,
      scratchDir: dir,
    });
  const failure = async (file: string) => {
    const error = await load(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    return (error as Error).message;
  };

  it('reads RFC 4180 quoting, CRLF, a BOM, blank lines and a missing final newline', async () => {
    const file = write(
      'good.csv',
      '\ufeffid,note,amount\r\n1,"a, b",1.5\r\n\r\n2,"two\nlines",2\r\n3,"say ""hi""",\r\n4,"",4',
    );
    expect(await load(file)).toEqual({ rows: 4 });
    const rows = await duck.all<{ id: bigint; note: string | null; amount: number | null; _fti_row: bigint }>(
      'SELECT * FROM raw ORDER BY _fti_row',
    );
    expect(rows.map((r) => [Number(r.id), r.note, r.amount, Number(r._fti_row)])).toEqual([
      [1, 'a, b', 1.5, 1],
      [2, 'two\nlines', 2, 2],
      [3, 'say "hi"', null, 3],
      [4, null, 4, 4],
    ]);
  });

  it.each([
    ['empty file', '', /csv file .*empty-file\.csv is empty\. A CSV source needs a header line/],
    ['header only', 'a,b,c\n', /has a header line but no data rows; nothing to ingest/],
    [
      'a short row',
      'a,b,c\n1,2,3\n4,5\n',
      /a-short-row\.csv, line 3: has 2 field\(s\) but the header has 3\. Every line needs exactly one value per header column/,
    ],
    ['a long row', 'a,b,c\n1,2,3\n4,5,6,7\n', /line 3: has 4 field\(s\) but the header has 3/],
    [
      'an unterminated quote in the last field',
      'a,b,c\n1,2,3\n4,5,"never closed\n6,7,8\n',
      /line 3: a quote opened here is never closed \(the file ends inside it\)\. Close the quote/,
    ],
    ['text after a closing quote', 'a,b\n1,"x"y\n', /line 2: unexpected text after a closing quote/],
    ['a quote inside an unquoted value', 'a,b\n1,5" screen\n', /line 2: a quote inside an unquoted value/],
    ['a header with an empty name', 'a,,c\n1,2,3\n', /line 1: column 2 of the header has no name/],
    ['a duplicate header name', 'a,b,a\n1,2,3\n', /line 1: the header names column "a" twice/],
    ['no header line', '1,2,3\n4,5,6\n', /line 1: the first line looks like data, not a header/],
  ])('rejects %s', async (name, text, message) => {
    const file = write(`${name.replace(/\W+/g, '-')}.csv`, text);
    expect(await failure(file)).toMatch(message);
    expect(await duck.all("SELECT * FROM duckdb_tables() WHERE table_name = 'raw'")).toEqual([]);
  });

  it('names the line where a multi-line record starts when its field count is wrong', async () => {
    const file = write('multi.csv', 'a,b\n1,"x\ny\nz"\n2,"p\nq",3\n');
    expect(await failure(file)).toMatch(/multi\.csv, line 5: has 3 field\(s\) but the header has 2/);
  });

  it('uses the configured delimiter', async () => {
    const file = write('semi.csv', 'a;b\n1;"x;y"\n');
    expect(await load(file, ';')).toEqual({ rows: 1 });
  });

  it('checks every file of a glob and requires one header', async () => {
    const sub = fs.mkdtempSync(path.join(dir, 'glob-'));
    fs.writeFileSync(path.join(sub, 'part-1.csv'), 'a,b\n1,2\n');
    fs.writeFileSync(path.join(sub, 'part-2.csv'), 'b,a\n3,4\n');
    expect(await failure(path.join(sub, 'part-*.csv'))).toMatch(
      /part-2\.csv has header \(b, a\) but .*part-1\.csv has \(a, b\)\. Files read together must have the same columns/,
    );
    expect(await failure(path.join(sub, 'none-*.csv'))).toMatch(/no file matches/);
  });
});
