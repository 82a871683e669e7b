import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ValidationError } from '../../../errors';
import { sourceSpecSchema } from '../spec';
import { checkCsvStructure } from './csv-structure';

describe('checkCsvStructure', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-csv-structure-'));
  const write = (text: string) => {
    const file = path.join(dir, `${Math.random().toString(36).slice(2)}.csv`);
    fs.writeFileSync(file, text);
    return file;
  };

  it('returns the header and the number of data records (blank lines are not records)', async () => {
    const file = write('a,"b ""x"""\n1,2\n\n3,"4\n5"\n');
    await expect(checkCsvStructure(file, { displayPath: 'in.csv' })).resolves.toEqual({
      header: ['a', 'b "x"'],
      records: 2,
    });
  });

  it('refuses a record longer than the limit, naming the line it starts on', async () => {
    const file = write('a,b\n1,2\n3,"a very long value"\n');
    const error = await checkCsvStructure(file, { displayPath: 'in.csv', maxRecordChars: 12 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).message).toBe(
      'csv file in.csv, line 3: the record starting here is longer than 12 characters; split the value or check for an unbalanced quote.',
    );
    expect((error as ValidationError).location).toBe('in.csv, line 3');
  });

  it('refuses delimiters that cannot work (a quote or a line break)', () => {
    for (const delimiter of ['"', '\n']) {
      const parsed = sourceSpecSchema.safeParse({ kind: 'csv', path: 'a.csv', delimiter });
      expect(parsed.success).toBe(false);
      expect(parsed.error?.issues[0]?.message).toMatch(/other than a quote or a line break/);
    }
  });
});
