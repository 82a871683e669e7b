import fs from 'node:fs';
import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import type { FeaturePipelineSpec } from '../../core/featurestore';
import { ValidationError } from '../../core/errors';
import { loadConfig } from '../../core/config';
import { DEFAULT_BACKFILL_PARALLELISM, MAX_BACKFILL_PARALLELISM, TASK_QUEUES } from '../../core/pipelines';
import type { FeatureBackfillResult, FeaturePipelineResult } from '../../workflows';
import { isoOption, parseEvery, positiveInt, readJsonFile } from '../context';
import { emit, type OutputOptions } from '../output';
import { backfillSchedule, createFeatureSchedule, emitSchedules, featureScheduleId } from '../schedules';
import { connectTemporal, runUrl, showProgress } from '../temporal-client';

/** `fti pipeline …` — run a feature pipeline window, schedule it, backfill, trigger. */
export function registerPipelineCommands(program: Command): void {
  const pipeline = program
    .command('pipeline')
    .description(
      'feature pipelines: run a window, create/list/delete schedules, backfill a range, trigger now',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  $ fti pipeline run txns.pipeline.json --start 2026-11-24T00:00:00Z --end 2026-11-25T00:00:00Z\n  $ fti pipeline schedule create txns.pipeline.json --every 1h\n  $ fti pipeline backfill txns.pipeline.json --start 2026-11-01T00:00:00Z --end 2026-11-03T00:00:00Z --parallelism 8\n  $ fti pipeline trigger txns\n  $ fti pipeline schedule list\n  $ fti pipeline schedule delete txns',
    );

  pipeline
    .command('run <spec>')
    .description('run one window of a feature pipeline (JSON spec) and wait for its commit')
    .option('--start <iso>', 'window start (inclusive)')
    .option('--end <iso>', 'window end (exclusive)')
    .option(
      '--rerun',
      "write a new commit that supersedes the window's commit (after its source changed); without it a window that has a commit reuses it",
    )
    .option('--no-wait', 'print the run id and UI link, do not wait')
    .option('--json', 'machine-readable output')
    .action(
      async (
        file: string,
        options: OutputOptions & { start?: string; end?: string; wait: boolean; rerun?: boolean },
      ) => {
        const spec = readJsonFile(file, 'pipeline') as FeaturePipelineSpec;
        const start = isoOption(options.start, '--start');
        const end = isoOption(options.end, '--end');
        if ((start === undefined) !== (end === undefined))
          throw new ValidationError('give both --start and --end, or neither.');
        if (options.rerun && !start)
          throw new ValidationError(
            "--rerun supersedes a window's commit: give the window with --start and --end.",
          );
        const config = loadConfig();
        const client = await connectTemporal(config);
        try {
          const workflowId = `features-${spec.name}-${start ?? 'run'}-${Date.now()}`.replace(/[:.]/g, '-');
          const handle = await client.workflow.start('featurePipeline', {
            taskQueue: TASK_QUEUES.features,
            workflowId,
            args: [
              {
                pipeline: spec,
                ...(start && end ? { window: { start, end } } : {}),
                ...(options.rerun ? { rerun: true } : {}),
              },
            ],
          });
          const url = runUrl(config, workflowId, handle.firstExecutionRunId);
          if (!options.wait) return emit(options, { workflowId, url }, () => `started ${workflowId}\n${url}`);
          if (!options.json) process.stderr.write(`running ${workflowId} — ${url}\n`);
          const result = (await showProgress(handle, handle.result(), options.json)) as FeaturePipelineResult;
          emit(options, { ...result, url }, () => describeRun(result, file, url));
        } finally {
          await client.connection.close();
        }
      },
    );

  const schedule = pipeline.command('schedule').description('Temporal Schedules of feature pipelines');
  schedule
    .command('create <spec>')
    .description(
      'register the pipeline as a schedule; each run processes the window ending at its scheduled time',
    )
    .option('--every <interval>', 'interval such as 15m, 1h, 1d')
    .option('--cron <expr>', 'cron expression (needs windowSeconds in the spec)')
    .option('--paused', 'create paused (backfill still works)')
    .option('--json', 'machine-readable output')
    .action(
      async (file: string, options: OutputOptions & { every?: string; cron?: string; paused?: boolean }) => {
        const spec = readJsonFile(file, 'pipeline') as FeaturePipelineSpec;
        if (!options.every === !options.cron)
          throw new ValidationError('give exactly one of --every or --cron.');
        const client = await connectTemporal(loadConfig());
        try {
          const handle = await createFeatureSchedule(client, spec, {
            cadence: options.every ? { everySeconds: parseEvery(options.every) } : { cron: options.cron! },
            paused: options.paused ?? false,
          });
          emit(options, { scheduleId: handle.scheduleId }, () => `schedule ${handle.scheduleId} created`);
        } finally {
          await client.connection.close();
        }
      },
    );

  schedule
    .command('list')
    .description('feature-pipeline schedules')
    .option('--json', 'machine-readable output')
    .action((options: OutputOptions) => emitSchedules(options, 'features-'));

  schedule
    .command('delete <pipeline>')
    .description('delete the schedule of a pipeline (runs and commits stay)')
    .action(async (name: string) => {
      const client = await connectTemporal(loadConfig());
      try {
        await client.schedule.getHandle(featureScheduleId(name)).delete();
        process.stdout.write(`schedule ${featureScheduleId(name)} deleted\n`);
      } finally {
        await client.connection.close();
      }
    });

  pipeline
    .command('backfill <pipeline>')
    .description(
      'run every window in [start, end) as a featureBackfill workflow: one commit per window, at most --parallelism windows at once on any fti-features worker; windows that have a commit are reused. <pipeline>: a JSON spec file, or the name of a scheduled pipeline',
    )
    .requiredOption('--start <iso>', 'range start')
    .requiredOption('--end <iso>', 'range end')
    .option('--window <interval>', "window length such as 1h or 1d (default: the spec's windowSeconds)")
    .option(
      '--parallelism <n>',
      `windows in flight at once, 1-${MAX_BACKFILL_PARALLELISM}`,
      String(DEFAULT_BACKFILL_PARALLELISM),
    )
    .option('--rerun', 'supersede windows that already have a commit')
    .option(
      '--task-queue <name>',
      "the team's feature queue whose workers run the windows",
      TASK_QUEUES.features,
    )
    .option(
      '--via-schedule',
      "ask the pipeline's Temporal Schedule to backfill instead (every window starts at once, no parallelism limit)",
    )
    .option('--no-wait', 'print the workflow id and UI link, do not wait')
    .option('--json', 'machine-readable output')
    .action(
      async (
        target: string,
        options: OutputOptions & {
          start: string;
          end: string;
          window?: string;
          parallelism: string;
          rerun?: boolean;
          viaSchedule?: boolean;
          wait: boolean;
          taskQueue: string;
        },
      ) => {
        const start = isoOption(options.start, '--start')!;
        const end = isoOption(options.end, '--end')!;
        const parallelism = positiveInt(options.parallelism, '--parallelism');
        if (parallelism > MAX_BACKFILL_PARALLELISM)
          throw new ValidationError(
            `--parallelism ${parallelism} is above ${MAX_BACKFILL_PARALLELISM}; use a smaller number.`,
          );
        const config = loadConfig();
        const client = await connectTemporal(config);
        try {
          const fromFile = target.endsWith('.json') || fs.existsSync(target);
          if (options.viaSchedule) {
            if (fromFile)
              throw new ValidationError(
                '--via-schedule needs the name of a scheduled pipeline, not a spec file.',
              );
            await backfillSchedule(
              client.schedule.getHandle(featureScheduleId(target)),
              new Date(start),
              new Date(end),
            );
            process.stdout.write(
              `backfill of ${featureScheduleId(target)} requested for [${start}, ${end}); watch the runs in the Temporal UI\n`,
            );
            return;
          }
          const spec = fromFile
            ? (readJsonFile(target, 'pipeline') as FeaturePipelineSpec)
            : await scheduledSpec(client, target);
          const workflowId = `backfill-${spec.name}-${start}-${end}-${Date.now()}`.replace(/[:.]/g, '-');
          const handle = await client.workflow.start('featureBackfill', {
            taskQueue: options.taskQueue,
            workflowId,
            args: [
              {
                pipeline: spec,
                start,
                end,
                parallelism,
                ...(options.window ? { windowSeconds: parseEvery(options.window) } : {}),
                ...(options.rerun ? { rerun: true } : {}),
              },
            ],
          });
          const url = runUrl(config, workflowId, handle.firstExecutionRunId);
          if (!options.wait) return emit(options, { workflowId, url }, () => `started ${workflowId}\n${url}`);
          if (!options.json) process.stderr.write(`backfilling — ${url}\n`);
          const result = (await handle.result()) as FeatureBackfillResult;
          emit(options, { ...result, url }, () =>
            [
              `backfill of ${result.pipeline}: ${result.windows} windows, ${result.written} written, ${result.reused} reused (already committed), ${result.rowsWritten} rows`,
              url,
            ].join('\n'),
          );
        } finally {
          await client.connection.close();
        }
      },
    );

  pipeline
    .command('trigger <pipeline>')
    .description('start one scheduled run now')
    .action(async (name: string) => {
      const client = await connectTemporal(loadConfig());
      try {
        await client.schedule.getHandle(featureScheduleId(name)).trigger();
        process.stdout.write(`triggered ${featureScheduleId(name)}\n`);
      } finally {
        await client.connection.close();
      }
    });
}

/** The pipeline spec a feature schedule runs (what `fti pipeline schedule create` stored). */
async function scheduledSpec(client: Client, name: string): Promise<FeaturePipelineSpec> {
  const description = await client.schedule
    .getHandle(featureScheduleId(name))
    .describe()
    .catch((error: unknown) => {
      throw new ValidationError(
        `no schedule ${featureScheduleId(name)} (${error instanceof Error ? error.message : String(error)}); pass the pipeline's JSON spec file instead, or create the schedule with fti pipeline schedule create.`,
      );
    });
  const action = description.action;
  const input =
    action.type === 'startWorkflow' ? (action.args?.[0] as { pipeline?: FeaturePipelineSpec }) : undefined;
  if (!input?.pipeline)
    throw new ValidationError(
      `schedule ${featureScheduleId(name)} does not start a feature pipeline; pass the spec file.`,
    );
  return input.pipeline;
}

/** The human summary of a finished run: the commit, what was reused or superseded, and any warnings. */
export function describeRun(result: FeaturePipelineResult, specFile: string, url: string): string {
  const c = result.commit;
  const lines = [
    `commit ${c.commitId}${c.reused ? ' (reused)' : ''}: ${result.rowsWritten} rows (+${c.rowsInserted} ~${c.rowsUpdated} -${c.rowsDeleted}); online ${result.online.skipped ? 'off' : result.online.failed ? 'FAILED' : `${result.online.applied} applied`}; validation: ${result.validation}`,
  ];
  // The workflow names the spec generically; the CLI knows the file the user passed.
  if (result.notice) lines.push(result.notice.replace('<spec>', specFile));
  for (const warning of result.warnings ?? []) lines.push(`warning: ${warning}`);
  lines.push(url);
  return lines.join('\n');
}
