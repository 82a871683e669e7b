import type { Command } from 'commander';
import { ENV, loadConfig, redactConfig } from '../../core/config';
import { emit, table, type OutputOptions } from '../output';

/** `fti config` — print the resolved configuration with secrets redacted. */
export function registerConfigCommand(program: Command): void {
  program
    .command('config')
    .description('print the resolved configuration (secrets redacted) and the variable behind each value')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExamples:\n  $ fti config\n  $ S3_BUCKET=other fti config --json')
    .action((options: OutputOptions) => {
      const shown = redactConfig(loadConfig());
      emit(options, shown, () =>
        table([
          ['VARIABLE', 'VALUE'],
          ...Object.entries(shown).map(([k, v]) => [ENV[k as keyof typeof ENV], String(v)]),
        ]),
      );
    });
}
