import type { Command } from 'commander';
import { loadConfig, redactUrl } from '../../core/config';
import { openDatabase, runMigrations } from '../../core/db';
import { emit, type OutputOptions } from '../output';

/** `fti db migrate` — apply committed migrations to DATABASE_URL. */
export function registerDbCommands(program: Command): void {
  const db = program.command('db').description('metadata database maintenance');
  db.command('migrate')
    .description('apply every committed SQL migration not yet applied (idempotent)')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      '\nExamples:\n  $ fti db migrate\n  $ DATABASE_URL=postgres://u:p@db:5432/fti fti db migrate',
    )
    .action(async (options: OutputOptions) => {
      const config = loadConfig();
      const handle = await openDatabase({ url: config.databaseUrl, maxConnections: 2 });
      try {
        await runMigrations(handle);
      } finally {
        await handle.close();
      }
      emit(
        options,
        { migrated: redactUrl(config.databaseUrl) },
        () => `migrated ${redactUrl(config.databaseUrl)}`,
      );
    });
}
