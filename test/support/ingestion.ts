import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../core/config';
import type { DatabaseHandle } from '../../core/db';
import { PostgresOnlineStore, TransformationRegistry, type IngestionDeps } from '../../core/featurestore';
import { ObjectCache, objectStoreFromConfig, type ObjectStore } from '../../core/storage';

/** Feature-store adapters over the real test database and bucket, with a private cache folder. */
export function testIngestionDeps(
  database: DatabaseHandle,
  store: ObjectStore,
  transformations = new TransformationRegistry(),
): IngestionDeps {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-ingest-'));
  const config = loadConfig();
  return {
    db: database.db,
    store,
    cache: new ObjectCache(store, { dir: path.join(dir, 'cache') }),
    online: new PostgresOnlineStore({ pool: database.pool, scratchDir: path.join(dir, 'scratch') }),
    transformations,
    storeFor: (bucket) => objectStoreFromConfig({ ...config, s3Bucket: bucket }),
    env: process.env,
    scratchDir: path.join(dir, 'scratch'),
    threads: 2,
  };
}

/** Writes a CSV file with a header row into a fresh temp folder and returns its path. */
export function writeCsv(header: string, rows: readonly string[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-csv-'));
  const file = path.join(dir, 'input.csv');
  fs.writeFileSync(file, `${header}\n${rows.join('\n')}\n`);
  return file;
}
