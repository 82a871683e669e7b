#!/usr/bin/env node
// The online inference service on its own (without the inference worker): scale it separately.
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../core/config';
import { openDatabase } from '../core/db';
import { describeError } from '../core/errors';
import { loadFeatureModules, PostgresOnlineStore } from '../core/featurestore';
import { createLogger } from '../core/log';
import { objectStoreFromConfig } from '../core/storage';
import { SERVICE_S3_OPTIONS, startInferenceService } from './inference-service';

async function main(): Promise<void> {
  const logger = createLogger('inference-service');
  try {
    const config = loadConfig();
    const database = await openDatabase({ url: config.databaseUrl });
    const store = objectStoreFromConfig(config, '', SERVICE_S3_OPTIONS);
    const scratchDir = path.join(os.tmpdir(), `fti-serve-${process.pid}`);
    const modules = await loadFeatureModules(database.db);
    const server = await startInferenceService(
      {
        db: database.db,
        pool: database.pool,
        store,
        online: new PostgresOnlineStore({ pool: database.pool, scratchDir }),
        onDemand: modules.onDemand,
      },
      config,
      logger,
    );
    const stop = async () => {
      logger.info('stopping inference service');
      await server.close();
      await database.close();
      store.close();
    };
    process.once('SIGTERM', () => void stop());
    process.once('SIGINT', () => void stop());
  } catch (error) {
    logger.error(describeError(error));
    process.exitCode = 1;
  }
}

void main();
