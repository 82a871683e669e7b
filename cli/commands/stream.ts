import type { Command } from 'commander';
import { registerStreamPipelineCommands } from './stream-pipelines';
import { registerStreamPublishCommand } from './stream-publish';

/** `fti stream …` — streaming feature pipelines; each subcommand registers itself from its own file. */
export function registerStreamCommands(program: Command): void {
  const stream = program
    .command('stream')
    .description('streaming feature pipelines: publish events, start/stop/status/replay pipelines')
    .addHelpText(
      'after',
      '\nExamples:\n  $ fti stream publish transactions.csv --group card_txns --rate 5000 --time-shift now\n  $ fti stream start card-activity.stream.json\n  $ fti stream status card_activity\n  $ fti stream replay card_activity --from-time 2026-11-30T00:00:00Z --warmup 7d\n  $ fti stream stop card_activity',
    );
  registerStreamPublishCommand(stream);
  registerStreamPipelineCommands(stream);
}
