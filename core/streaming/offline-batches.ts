import fs from 'node:fs';
import path from 'node:path';
import type { DuckSession } from '../duckdb';
import { sqlPath } from '../duckdb';
import { quoteIdent } from '../identifiers';
import { conformBatch, DUCK_TYPES, ROW_COLUMN } from '../featurestore/conform';
import type { FeatureGroupSpec } from '../featurestore/feature-group';
import type { OfflineTable, WriteOptions, WriteResult } from '../featurestore/offline/offline-table';

/**
 * Writes a streaming micro-batch (rows already checked against the group) as one `upsert` commit:
 * the rows go through newline-delimited JSON into DuckDB typed by the group's schema, are conformed
 * like any batch, and are committed with `options` (its idempotency key names the stream range, and
 * `alongside` carries the checkpoint).
 */
export async function commitStreamRows(
  input: {
    readonly table: OfflineTable;
    readonly duck: DuckSession;
    readonly spec: FeatureGroupSpec;
    readonly scratchDir: string;
  },
  rows: readonly Readonly<Record<string, unknown>>[],
  options: Omit<WriteOptions, 'operation'>,
): Promise<WriteResult> {
  await fs.promises.mkdir(input.scratchDir, { recursive: true });
  const file = path.join(
    input.scratchDir,
    `stream-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.jsonl`,
  );
  // Written in chunks, each an await: the consumer loop keeps writing online rows in between
  // instead of stalling for the whole micro-batch.
  const out = await fs.promises.open(file, 'w');
  try {
    for (let start = 0; start < rows.length; start += 2000) {
      const chunk = rows
        .slice(start, start + 2000)
        .map((row, i) => JSON.stringify({ ...row, [ROW_COLUMN]: start + i + 1 }))
        .join('\n');
      await out.write(`${chunk}\n`);
    }
  } finally {
    await out.close();
  }
  try {
    const columns = [
      ...input.spec.features.map((f) => `${quoteIdent(f.name)}: '${DUCK_TYPES[f.type]}'`),
      `${ROW_COLUMN}: 'BIGINT'`,
    ].join(', ');
    await input.duck.run(
      `CREATE OR REPLACE TABLE _fti_stream_raw AS SELECT * FROM read_json(${sqlPath(file)}, format = 'newline_delimited', columns = {${columns}})`,
    );
    await conformBatch(input.duck, '_fti_stream_raw', '_fti_stream_batch', input.spec, 'stream micro-batch');
    return await input.table.write(input.duck, '_fti_stream_batch', { ...options, operation: 'upsert' });
  } finally {
    await input.duck.run('DROP TABLE IF EXISTS _fti_stream_raw; DROP TABLE IF EXISTS _fti_stream_batch');
    await fs.promises.rm(file, { force: true });
  }
}
