import Long from 'long';
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import pg from 'pg';
import {
  describeTemporalTarget,
  redactUrl,
  temporalConnectionOptions,
  temporalTlsHint,
  testSettingsFor,
  type FtiConfig,
} from '../../core/config';
import { openDatabase, runMigrations } from '../../core/db';
import { describeError } from '../../core/errors';
import { SEARCH_ATTRIBUTES, type SearchAttributeKind } from '../../core/pipelines';
import { objectStoreFromConfig } from '../../core/storage';
import { StackError } from './errors';

/** What provisioning did, for the `up` summary. */
export interface ProvisionReport {
  readonly databases: readonly string[];
  readonly buckets: readonly string[];
  readonly namespaces: readonly string[];
  readonly searchAttributesAdded: number;
}

/**
 * Makes the running services ready for the platform, idempotently: the platform and test databases
 * exist and are migrated, both buckets exist, both namespaces exist with every custom search
 * attribute registered (also on a Temporal database file created before an attribute was added).
 */
export async function provision(config: FtiConfig): Promise<ProvisionReport> {
  const test = testSettingsFor(config);
  const databases = await provisionDatabases([config.databaseUrl, test.databaseUrl]);
  const buckets = await provisionBuckets(config, [config.s3Bucket, test.s3Bucket]);
  const { namespaces, added } = await provisionTemporal(config, [
    config.temporalNamespace,
    test.temporalNamespace,
  ]);
  return { databases, buckets, namespaces, searchAttributesAdded: added };
}

async function provisionDatabases(urls: readonly string[]): Promise<string[]> {
  const names: string[] = [];
  for (const url of urls) {
    const name = decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) {
      throw new StackError(
        'postgres',
        `database name "${name}" in DATABASE_URL must be lowercase letters, digits and _.`,
      );
    }
    const admin = new URL(url);
    admin.pathname = '/postgres';
    const client = new pg.Client({ connectionString: admin.toString(), connectionTimeoutMillis: 5000 });
    client.on('error', () => undefined); // a lost connection fails the query below instead of crashing
    try {
      await client.connect();
      const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      if (exists.rowCount === 0) {
        // CREATE DATABASE takes no parameters; the name was validated as an identifier above.
        await client.query(`CREATE DATABASE "${name}"`).catch((error: { code?: string }) => {
          if (error.code !== '42P04') throw error; // created concurrently
        });
      }
    } catch (error) {
      throw new StackError(
        'postgres',
        `cannot prepare database ${name} at ${redactUrl(url)}: ${describeError(error)}. Check the user's credentials and CREATEDB right, or create the database yourself.`,
        { cause: error },
      );
    } finally {
      await client.end().catch(() => undefined);
    }
    const handle = await openDatabase({ url, maxConnections: 2 });
    try {
      await runMigrations(handle);
    } catch (error) {
      throw new StackError('postgres', `migrations failed on ${name}: ${describeError(error)}`, {
        cause: error,
      });
    } finally {
      await handle.close();
    }
    names.push(name);
  }
  return names;
}

async function provisionBuckets(config: FtiConfig, buckets: readonly string[]): Promise<string[]> {
  for (const bucket of buckets) {
    const store = objectStoreFromConfig({ ...config, s3Bucket: bucket });
    try {
      await store.ensureBucket();
    } catch (error) {
      throw new StackError(
        's3',
        `cannot create bucket ${bucket} at ${config.s3Endpoint}: ${describeError(error)}`,
        { cause: error },
      );
    } finally {
      store.close();
    }
  }
  return [...buckets];
}

const INDEXED_TYPE: Record<SearchAttributeKind, temporal.api.enums.v1.IndexedValueType> = {
  Keyword: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  Datetime: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  Int: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_INT,
};

async function provisionTemporal(
  config: FtiConfig,
  namespaces: readonly string[],
): Promise<{ namespaces: string[]; added: number }> {
  let connection: Connection;
  const options = temporalConnectionOptions(config);
  try {
    connection = await Connection.connect({ ...options, connectTimeout: 10_000 });
  } catch (error) {
    throw new StackError(
      'temporal',
      `cannot connect to ${describeTemporalTarget(config)}: ${describeError(error)}. Is the server up (infra/stack.sh status)? ${temporalTlsHint(config)}.`,
      { cause: error },
    );
  }
  let added = 0;
  try {
    for (const namespace of namespaces) {
      try {
        await connection.workflowService.describeNamespace({ namespace });
      } catch {
        await connection.workflowService
          .registerNamespace({
            namespace,
            workflowExecutionRetentionPeriod: { seconds: Long.fromNumber(7 * 24 * 3600) },
          })
          .catch((error: { code?: number }) => {
            if (error.code !== 6) throw error; // ALREADY_EXISTS
          });
        await waitForNamespace(connection, namespace);
      }
      const existing = await connection.operatorService.listSearchAttributes({ namespace });
      const missing = Object.entries(SEARCH_ATTRIBUTES).filter(
        ([name]) => !(name in (existing.customAttributes ?? {})),
      );
      if (missing.length > 0) {
        await connection.operatorService.addSearchAttributes({
          namespace,
          searchAttributes: Object.fromEntries(missing.map(([name, kind]) => [name, INDEXED_TYPE[kind]])),
        });
        added += missing.length;
      }
    }
  } catch (error) {
    throw new StackError(
      'temporal',
      `cannot prepare namespaces ${namespaces.join(', ')}: ${describeError(error)}`,
      { cause: error },
    );
  } finally {
    await connection.close();
  }
  return { namespaces: [...namespaces], added };
}

async function waitForNamespace(connection: Connection, namespace: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    try {
      await connection.workflowService.describeNamespace({ namespace });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
