import type { Command } from 'commander';
import { loadConfig } from '../../core/config';
import { ValidationError } from '../../core/errors';
import { getFeatureGroup } from '../../core/featurestore';
import { connectJetStream, FeatureEventProducer } from '../../core/streaming';
import { replayEventFile, type TimeShift } from '../../core/streaming/event-files';
import { positiveInt, withDatabase } from '../context';
import { emit, type OutputOptions } from '../output';

interface PublishOptions extends OutputOptions {
  group: string;
  version?: string;
  rate?: string;
  timeShift: string;
  limit?: string;
}

function rateOption(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const rate = Number(value);
  if (!Number.isFinite(rate) || rate <= 0)
    throw new ValidationError(`--rate must be a positive number of events per second, got "${value}".`);
  return rate;
}

function timeShiftOption(value: string): TimeShift {
  if (value === 'now' || value === 'none') return value;
  throw new ValidationError(`--time-shift must be "now" or "none", got "${value}".`);
}

/** `fti stream publish FILE --group NAME` — replays a CSV/JSONL file into the group's stream. */
export function registerStreamPublishCommand(stream: Command): void {
  stream
    .command('publish <file>')
    .description(
      "replay a CSV (header row) or JSONL file of events into a feature group's stream: every line is validated against the group first (nothing is published if one is bad), then published in file order",
    )
    .requiredOption('--group <name>', 'feature group the events belong to')
    .option('--version <n>', 'feature group version (default: the latest)')
    .option('--rate <n>', 'events per second (default: as fast as JetStream stores them)')
    .option(
      '--time-shift <mode>',
      'now: shift event times so the latest event is now, keeping the gaps (history as live traffic); none: as in the file',
      'none',
    )
    .option('--limit <n>', 'publish only the first N events')
    .option('--json', 'machine-readable summary')
    .addHelpText(
      'after',
      '\nExamples:\n  $ fti stream publish txns.csv --group card_txns\n  $ fti stream publish txns.jsonl --group card_txns --version 2 --rate 2000 --time-shift now --limit 100000',
    )
    .action(async (file: string, options: PublishOptions) => {
      const rate = rateOption(options.rate);
      const timeShift = timeShiftOption(options.timeShift);
      const limit = options.limit === undefined ? undefined : positiveInt(options.limit, '--limit');
      const version = options.version === undefined ? undefined : positiveInt(options.version, '--version');
      const { spec } = await withDatabase(({ db }) => getFeatureGroup(db, options.group, version));
      const nc = await connectJetStream({ url: loadConfig().natsUrl, name: 'fti-cli stream publish' });
      try {
        const producer = new FeatureEventProducer(nc, spec);
        const summary = await replayEventFile({
          file,
          spec,
          producer,
          rate,
          timeShift,
          limit,
          onProgress: ({ published, total, elapsedMs }) => {
            if (published < total)
              process.stderr.write(
                `published ${published}/${total} events (${Math.round((published * 1000) / elapsedMs)} events/s)\n`,
              );
          },
        });
        const result = {
          featureGroup: spec.name,
          version: spec.version,
          ...producer.stream,
          file,
          ...summary,
          elapsedSeconds: summary.elapsedMs / 1000,
        };
        emit(options, result, () =>
          [
            summary.duplicates >= summary.events
              ? `stored nothing new: all ${summary.events} event${summary.events === 1 ? '' : 's'} of ${file} were already in stream ${producer.stream.stream} (sent within its duplicate window, not stored twice)`
              : `published ${summary.events - summary.duplicates} new event${summary.events - summary.duplicates === 1 ? '' : 's'} of ${summary.events} from ${file} to stream ${producer.stream.stream} (sequences ${summary.firstSequence}–${summary.lastSequence}` +
                (summary.duplicates > 0
                  ? `; ${summary.duplicates} were already in the stream, sent again within its duplicate window, and not stored twice)`
                  : ')'),
            `elapsed ${(summary.elapsedMs / 1000).toFixed(2)} s, ${Math.round(summary.eventsPerSecond)} events/s` +
              (timeShift === 'now'
                ? `, event times shifted by ${(summary.timeShiftMs / 1000).toFixed(0)} s`
                : ''),
          ].join('\n'),
        );
      } finally {
        await nc.close();
      }
    });
}
