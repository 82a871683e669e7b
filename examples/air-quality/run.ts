#!/usr/bin/env node
// Runs Example 2 (daily PM2.5 forecasting) on the local stack. The workers need this example's
// feature module: FTI_FEATURE_MODULES=dist/examples/air-quality/features/module.js (several
// modules: comma-separated). Usage: node dist/examples/air-quality/run.js
import { Client, Connection } from '@temporalio/client';
import { loadConfig, openDatabase, projectRoot, temporalConnectionOptions } from '../../core';
import { defaultAirQualityDir, runAirQualityExample } from './end-to-end';

async function main(): Promise<void> {
  const config = loadConfig();
  const connection = await Connection.connect(temporalConnectionOptions(config));
  const client = new Client({ connection, namespace: config.temporalNamespace });
  const database = await openDatabase({ url: config.databaseUrl });
  try {
    const result = await runAirQualityExample({
      client,
      db: database.db,
      dataDir: defaultAirQualityDir(projectRoot()),
      log: (line) => process.stdout.write(`${line}\n`),
    });
    const m = result.model.metrics;
    process.stdout.write(
      [
        '',
        `air_quality v${result.model.version} (${result.model.state}): test RMSE ${m.rmse?.toFixed(2)} µg/m³, MAE ${m.mae?.toFixed(2)}, R² ${m.r2?.toFixed(3)}`,
        `deployment air-quality v${result.deploymentVersion}; predictions: ${result.batches.map((b) => `${b.window} ${b.rows}`).join(', ')} (table predictions)`,
        `schedules (paused): ${result.schedules.join(', ')}`,
      ].join('\n') + '\n',
    );
  } finally {
    await database.close();
    await connection.close();
  }
}

main().catch((error: unknown) => {
  let root: unknown = error;
  while (root instanceof Error && root.cause instanceof Error) root = root.cause;
  process.stderr.write(
    `air-quality example failed: ${root instanceof Error ? root.message : String(root)}\n`,
  );
  process.exit(1);
});
