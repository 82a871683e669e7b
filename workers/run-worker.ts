import { NativeConnection } from '@temporalio/worker';
import { loadConfig, redactConfig } from '../core/config';
import { openDatabase } from '../core/db';
import { describeError } from '../core/errors';
import { createLogger } from '../core/log';
import os from 'node:os';
import path from 'node:path';
import { PostgresOnlineStore } from '../core/featurestore';
import { TASK_QUEUES } from '../core/pipelines';
import { ObjectCache, objectStoreFromConfig } from '../core/storage';
import { loadFeatureModules } from '../core/featurestore';
import { installTemporalLogging } from './logging';
import { createPlatformWorker } from './worker-factory';

/**
 * Main of a worker process for one task queue: wires the concrete adapters (PostgreSQL, S3),
 * connects to Temporal and polls until SIGTERM/SIGINT, then drains in-flight tasks and closes every
 * connection. Exits non-zero with a one-line cause when a dependency is unreachable.
 */
export async function runWorker(taskQueue: string): Promise<void> {
  const logger = createLogger(`worker:${taskQueue}`);
  installTemporalLogging(logger);
  try {
    const config = loadConfig();
    logger.info({ config: redactConfig(config), taskQueue }, 'starting worker');
    const database = await openDatabase({ url: config.databaseUrl });
    const store = objectStoreFromConfig(config);
    const connection = await NativeConnection.connect({ address: config.temporalAddress }).catch(
      (error: unknown) => {
        throw new Error(
          `cannot connect to Temporal at ${config.temporalAddress}: ${describeError(error)}. Start the stack (infra/stack.sh up) or set TEMPORAL_ADDRESS.`,
        );
      },
    );
    const scratchDir = path.join(os.tmpdir(), `fti-scratch-${process.pid}`);
    const modules = await loadFeatureModules(database.db);
    const ingestion =
      taskQueue === TASK_QUEUES.features
        ? {
            db: database.db,
            store,
            cache: new ObjectCache(store, { dir: config.cacheDir }),
            online: new PostgresOnlineStore({ pool: database.pool, scratchDir }),
            transformations: modules.transformations,
            storeFor: (bucket: string) => objectStoreFromConfig({ ...config, s3Bucket: bucket }),
            env: process.env,
            scratchDir,
          }
        : undefined;
    const worker = await createPlatformWorker({
      connection,
      namespace: config.temporalNamespace,
      taskQueue,
      deps: { db: database.db, store, ...(ingestion ? { ingestion } : {}) },
    });
    logger.info({ taskQueue, namespace: config.temporalNamespace }, 'worker polling');
    // worker.run() resolves after SIGTERM/SIGINT once in-flight tasks are done (SDK shutdown signals).
    await worker.run();
    await connection.close();
    await database.close();
    store.close();
    logger.info({ taskQueue }, 'worker stopped');
  } catch (error) {
    logger.error({ taskQueue }, describeError(error));
    process.exitCode = 1;
  }
}
