import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { loadConfig } from '../../core/config';
import { openDatabase, runMigrations, type DatabaseHandle } from '../../core/db';

/**
 * A new, migrated database on the test server, for tests that use fixed names (like the examples'
 * feature groups) and so must not share state with earlier runs. `drop()` removes it.
 */
export async function createFreshDatabase(): Promise<
  DatabaseHandle & { url: string; drop: () => Promise<void> }
> {
  const base = new URL(loadConfig().databaseUrl);
  const name = `fti_e2e_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base.toString() });
  await admin.connect();
  // CREATE DATABASE takes no parameters; the name is generated above from [a-z0-9_].
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = new URL(base.toString());
  url.pathname = `/${name}`;
  const handle = await openDatabase({ url: url.toString() });
  await runMigrations(handle);
  return {
    ...handle,
    url: url.toString(),
    drop: async () => {
      await handle.close();
      const client = new pg.Client({ connectionString: base.toString() });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await client.end();
    },
  };
}
