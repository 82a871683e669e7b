import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../../config';
import { openDatabase } from '../../../db';
import { uniqueName } from '../../../../test/support/ids';
import { describeOnlineStoreConformance } from '../online-store.conformance';
import { PostgresOnlineStore } from './postgres-online-store';

// The real PostgreSQL test database.
describeOnlineStoreConformance('PostgresOnlineStore', async () => {
  const handle = await openDatabase({ url: loadConfig().databaseUrl });
  return {
    store: new PostgresOnlineStore({
      pool: handle.pool,
      scratchDir: path.join(os.tmpdir(), 'fti-online-test'),
    }),
    uniqueName: () => uniqueName('online').replace(/-/g, '_'),
    teardown: () => handle.close(),
  };
});
