import fs from 'node:fs';
import type { Command } from 'commander';
import { ValidationError } from '../../core/errors';
import { sqlPath, withDuck } from '../../core/duckdb';
import { labelContract, MAX_LABELS_PER_PUSH, pushLabels } from '../../core/monitoring/labels';
import { withDatabase } from '../context';
import { emit, type OutputOptions } from '../output';

/** `fti labels …` — delayed ground truth for live performance. */
export function registerLabelCommands(program: Command): void {
  const labels = program
    .command('labels')
    .description(
      'delayed ground truth (chargebacks, outcomes) joined to logged predictions for live performance',
    );
  labels
    .command('push <deployment> <file>')
    .description(
      'store labels from a CSV, JSON or JSON-lines file: entity keys, event time and label per row (all rows valid, or nothing stored)',
    )
    .option('--label-column <name>', 'column holding the label', 'label')
    .option('--time-column <name>', 'column holding the event time the label is about', 'event_time')
    .option('--key-columns <a,b>', "entity key columns (default: the deployment's entity keys)")
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      '\nExample:\n  $ fti labels push fraud chargebacks.csv --label-column is_fraud --time-column event_time',
    )
    .action(
      async (
        deployment: string,
        file: string,
        o: OutputOptions & { labelColumn: string; timeColumn: string; keyColumns?: string },
      ) => {
        if (!fs.existsSync(file))
          throw new ValidationError(`label file ${file} does not exist.`, { location: file });
        const result = await withDatabase(async ({ db }) => {
          const contract = await labelContract(db, deployment);
          const keyColumns = o.keyColumns
            ? o.keyColumns.split(',').map((k) => k.trim())
            : contract.keys.map((k) => k.name);
          const reader = /\.(jsonl|ndjson|json)$/i.test(file) ? 'read_json_auto' : 'read_csv_auto';
          const rows = await withDuck((duck) =>
            duck.all<Record<string, unknown>>(`SELECT * FROM ${reader}(${sqlPath(file)})`),
          );
          if (rows.length > MAX_LABELS_PER_PUSH)
            throw new ValidationError(
              `${file} holds ${rows.length} labels; push at most ${MAX_LABELS_PER_PUSH} per file (split it).`,
            );
          const columns = rows.length ? Object.keys(rows[0]!) : [];
          for (const c of [...keyColumns, o.labelColumn, o.timeColumn])
            if (rows.length && !columns.includes(c))
              throw new ValidationError(`${file} has no column "${c}" (columns: ${columns.join(', ')}).`, {
                location: file,
              });
          const plain = (v: unknown) =>
            typeof v === 'bigint' ? Number(v) : v instanceof Date ? v.toISOString() : v;
          return pushLabels(
            db,
            deployment,
            rows.map((r) => ({
              keys: Object.fromEntries(keyColumns.map((k) => [k, plain(r[k])])),
              eventTime: plain(r[o.timeColumn]) as string,
              label: plain(r[o.labelColumn]),
            })),
          );
        });
        emit(
          o,
          { deployment, file, ...result },
          () => `${result.stored} labels stored for deployment ${deployment}`,
        );
      },
    );
}
