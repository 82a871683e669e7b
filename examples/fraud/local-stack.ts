// What both fraud commands (run.js, run-drift.js) need from the local stack: a Temporal client, the
// metadata database, the data folder the workers read and the online service's URL, closed after
// the run; a failure prints its root cause and exits 1.
import { Client, Connection } from '@temporalio/client';
import { loadConfig, openDatabase, projectRoot, temporalConnectionOptions, type FtiConfig } from '../../core';
import { defaultDataDir, type FraudRunContext } from './end-to-end';

/** Runs `body` with a context on the configured local stack; prints `<what> failed: <root cause>` and exits 1 on error. */
export function runOnLocalStack(
  what: string,
  body: (ctx: FraudRunContext, config: FtiConfig) => Promise<void>,
): void {
  const main = async () => {
    const config = loadConfig();
    const connection = await Connection.connect(temporalConnectionOptions(config));
    const database = await openDatabase({ url: config.databaseUrl });
    try {
      await body(
        {
          client: new Client({ connection, namespace: config.temporalNamespace }),
          db: database.db,
          dataDir: process.env.FTI_FRAUD_DATA_DIR ?? defaultDataDir(projectRoot()),
          serviceUrl: `http://${config.serviceHost}:${config.servicePort}`,
          log: (line) => process.stdout.write(`${line}\n`),
        },
        config,
      );
    } finally {
      await database.close();
      await connection.close();
    }
  };
  main().catch((error: unknown) => {
    let root: unknown = error;
    while (root instanceof Error && root.cause instanceof Error) root = root.cause;
    process.stderr.write(`${what} failed: ${root instanceof Error ? root.message : String(root)}\n`);
    process.exit(1);
  });
}
