import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { projectRoot } from '../core/project-root';
import { registerCheckCommand } from './commands/check';
import { registerConfigCommand } from './commands/config';
import { registerDbCommands } from './commands/db';
import { registerFeatureGroupCommands } from './commands/feature-groups';
import { registerMaintenanceCommands } from './commands/maintenance';
import { registerFeatureViewCommands } from './commands/feature-views';
import { registerModelCommands } from './commands/models';
import { registerMonitorCommands } from './commands/monitor';
import { registerAlertCommands } from './commands/alerts';
import { registerLabelCommands } from './commands/labels';
import { registerRetrainCommands } from './commands/retrain';
import { registerInferenceCommands } from './commands/deploy';
import { registerTrainingCommands } from './commands/training';
import { registerPipelineCommands } from './commands/pipelines';
import { registerStackCommands } from './commands/stack';
import { registerStreamCommands } from './commands/stream';
import { fail } from './output';

/** Builds the `fti` command tree (exported for tests that check `--help`). */
export function buildProgram(): Command {
  const program = new Command('fti')
    .description(
      'FTI Platform: feature, training and inference pipelines on Temporal, with a feature store and model registry',
    )
    .version(readVersion())
    // Options after a subcommand belong to it: `fti fv describe x --version 2` must not print the CLI version.
    .enablePositionalOptions()
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      '\nExamples:\n  $ fti stack up --workers\n  $ fti check\n  $ fti stack status\n\nConfiguration comes from environment variables or .env (see .env.example and `fti config`).',
    );
  registerStackCommands(program);
  registerDbCommands(program);
  registerCheckCommand(program);
  registerFeatureGroupCommands(program);
  registerMaintenanceCommands(program.commands.find((c) => c.name() === 'fg')!);
  registerFeatureViewCommands(program);
  registerTrainingCommands(program);
  registerModelCommands(program);
  registerInferenceCommands(program);
  registerPipelineCommands(program);
  registerMonitorCommands(program);
  registerAlertCommands(program);
  registerLabelCommands(program);
  registerRetrainCommands(program);
  registerStreamCommands(program);
  registerConfigCommand(program);
  return program;
}

function readVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(projectRoot(), 'package.json'), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

function loadDotEnv(): void {
  const file = path.join(process.cwd(), '.env');
  if (fs.existsSync(file) && typeof process.loadEnvFile === 'function') process.loadEnvFile(file);
}

/** Entry point of the `fti` binary. */
export async function main(argv: readonly string[] = process.argv): Promise<void> {
  loadDotEnv();
  try {
    await buildProgram().parseAsync([...argv]);
  } catch (error) {
    fail(error);
  }
}

if (require.main === module) void main();
