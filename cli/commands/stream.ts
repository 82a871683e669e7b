import type { Command } from 'commander';
import { registerStreamPublishCommand } from './stream-publish';

/** `fti stream …` — streaming feature pipelines; each subcommand registers itself from its own file. */
export function registerStreamCommands(program: Command): void {
  const stream = program
    .command('stream')
    .description('streaming feature pipelines: publish events, start/stop/status/replay pipelines')
    .addHelpText(
      'after',
      '\nExamples:\n  $ fti stream publish transactions.csv --group card_txns --rate 5000 --time-shift now',
    );
  registerStreamPublishCommand(stream);
}
