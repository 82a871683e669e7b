import fs from 'node:fs';
import path from 'node:path';
import { sqlPath, type DuckSession } from '../../duckdb';
import { ValidationError } from '../../errors';
import type { FeatureViewDeps } from './deps';

/**
 * Spine rows a caller supplies: in-memory rows (dates as `Date` or ISO strings), a local Parquet
 * file, or an object-store key of a Parquet file.
 */
export type SpineInput =
  | { readonly rows: readonly Readonly<Record<string, unknown>>[] }
  | { readonly parquetFile: string }
  | { readonly objectKey: string };

function plain(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString().replace('T', ' ').replace('Z', '');
  if (typeof value === 'bigint') return value.toString();
  return value;
}

/** Loads spine rows into DuckDB table `name` (columns as given; typing is checked by the join). */
export async function loadSpine(
  duck: DuckSession,
  deps: Pick<FeatureViewDeps, 'cache' | 'scratchDir'>,
  input: SpineInput,
  name: string,
): Promise<string> {
  if ('rows' in input) {
    if (!Array.isArray(input.rows) || input.rows.length === 0)
      throw new ValidationError(
        'spine: no rows given; pass at least one row with the key and event-time columns.',
        {
          location: 'spine.rows',
        },
      );
    await fs.promises.mkdir(deps.scratchDir, { recursive: true });
    const file = path.join(
      deps.scratchDir,
      `spine-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.jsonl`,
    );
    const lines = input.rows.map((row, i) => {
      if (row === null || typeof row !== 'object' || Array.isArray(row))
        throw new ValidationError(`spine: row ${i + 1} is not an object.`, { location: `spine.rows[${i}]` });
      return JSON.stringify(Object.fromEntries(Object.entries(row).map(([k, v]) => [k, plain(v)])));
    });
    await fs.promises.writeFile(file, `${lines.join('\n')}\n`);
    try {
      await duck.run(
        `CREATE OR REPLACE TEMP TABLE ${name} AS SELECT * FROM read_json(${sqlPath(file)}, format = 'newline_delimited', sample_size = -1)`,
      );
    } finally {
      await fs.promises.rm(file, { force: true });
    }
    return name;
  }
  const local = 'parquetFile' in input ? input.parquetFile : await deps.cache.localPath(input.objectKey);
  if (!fs.existsSync(local))
    throw new ValidationError(`spine: file ${local} does not exist.`, { location: 'spine.parquetFile' });
  await duck.run(`CREATE OR REPLACE TEMP TABLE ${name} AS SELECT * FROM read_parquet(${sqlPath(local)})`);
  return name;
}
