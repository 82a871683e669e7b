import type { Command } from 'commander';
import { loadConfig } from '../../core/config';
import { ValidationError } from '../../core/errors';
import { getFeatureGroup } from '../../core/featurestore';
import type { MaintenancePolicy, MaintenanceReport } from '../../core/featurestore/maintenance/maintain';
import { TASK_QUEUES } from '../../core/pipelines';
import { parseEvery, positiveInt, withDatabase } from '../context';
import { emit, type OutputOptions } from '../output';
import {
  DEFAULT_MAINTENANCE,
  emitSchedules,
  ensureMaintenanceSchedule,
  maintenanceScheduleId,
} from '../schedules';
import { connectTemporal, runUrl, showProgress } from '../temporal-client';

interface PolicyOptions {
  version?: string;
  taskQueue: string;
  minFiles: string;
  targetRows?: string;
  abandonedAfter: string;
}

/** The feature group version a command means (latest when not given), checked to exist. */
async function resolveTarget(
  name: string,
  version: string | undefined,
): Promise<{ name: string; version: number }> {
  return withDatabase(async ({ db }) => {
    const group = await getFeatureGroup(db, name, version ? positiveInt(version, '--version') : undefined);
    return { name: group.spec.name, version: group.spec.version };
  });
}

function policyOf(options: PolicyOptions): MaintenancePolicy {
  return {
    minFiles: positiveInt(options.minFiles, '--min-files'),
    ...(options.targetRows !== undefined && {
      targetFileRows: positiveInt(options.targetRows, '--target-rows'),
    }),
    abandonedAfterSeconds: parseEvery(options.abandonedAfter),
  };
}

const withPolicyOptions = (command: Command) =>
  command
    .option('--version <n>', 'feature group version (default: latest)')
    .option('--task-queue <queue>', 'queue of the features worker that runs it', TASK_QUEUES.features)
    .option(
      '--min-files <n>',
      'compact a run of small files once it has this many',
      String(DEFAULT_MAINTENANCE.minFiles),
    )
    .option(
      '--target-rows <n>',
      'files with at least this many rows count as large and are left alone (default 1000000)',
    )
    .option(
      '--abandoned-after <interval>',
      'abort unfinished commits silent for this long (fences their writer)',
      '1h',
    );

/**
 * `fti fg maintenance …` — the offline table's automatic compaction, retention and abandoned-commit
 * cleaning, as a Temporal Schedule per feature group version (`maintenance-<name>-v<version>`).
 */
export function registerMaintenanceCommands(fg: Command): void {
  const maintenance = fg
    .command('maintenance')
    .description(
      'automatic compaction, retention and abandoned-commit cleaning: a Temporal Schedule per feature group (created by fg create)',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  $ fti fg maintenance schedule transactions --every 1h --min-files 10\n  $ fti fg maintenance run transactions\n  $ fti fg maintenance list',
    );

  withPolicyOptions(maintenance.command('schedule <name>'))
    .description('create or update the maintenance schedule of a feature group version')
    .option('--every <interval>', 'how often a pass runs, such as 15m, 1h, 1d', '1h')
    .option('--paused', 'create paused')
    .option('--json', 'machine-readable output')
    .action(
      async (name: string, options: PolicyOptions & OutputOptions & { every: string; paused?: boolean }) => {
        const target = await resolveTarget(name, options.version);
        const policy = policyOf(options);
        const client = await connectTemporal(loadConfig());
        try {
          const result = await ensureMaintenanceSchedule(client, target, {
            cadence: { everySeconds: parseEvery(options.every) },
            policy,
            paused: options.paused ?? false,
          });
          emit(
            options,
            { ...result, policy },
            () => `schedule ${result.scheduleId} ${result.created ? 'created' : 'updated'}`,
          );
        } finally {
          await client.connection.close();
        }
      },
    );

  withPolicyOptions(maintenance.command('run <name>'))
    .description('run one maintenance pass now (as a workflow on fti-features) and print what it did')
    .option('--json', 'machine-readable output')
    .action(async (name: string, options: PolicyOptions & OutputOptions) => {
      const target = await resolveTarget(name, options.version);
      const config = loadConfig();
      const client = await connectTemporal(config);
      try {
        const workflowId = `${maintenanceScheduleId(target.name, target.version)}-manual-${Date.now()}`;
        const handle = await client.workflow.start('featureGroupMaintenance', {
          taskQueue: options.taskQueue,
          workflowId,
          args: [{ featureGroup: target, policy: policyOf(options) }],
        });
        const report = await showProgress(
          handle,
          handle.result() as Promise<MaintenanceReport>,
          options.json,
        );
        emit(
          options,
          { ...report, url: runUrl(config, workflowId, handle.firstExecutionRunId) },
          () =>
            `${report.featureGroup}: ${report.liveFilesBefore} → ${report.liveFilesAfter} live files` +
            (report.compactionCommitId
              ? ` (compaction commit ${report.compactionCommitId} merged ${report.filesCompacted})`
              : ' (nothing to compact)') +
            `; retention removed ${report.retentionDeletedFiles} files; ${report.abortedCommits} abandoned commits aborted\n` +
            runUrl(config, workflowId, handle.firstExecutionRunId),
        );
      } finally {
        await client.connection.close();
      }
    });

  maintenance
    .command('list')
    .description('maintenance schedules')
    .option('--json', 'machine-readable output')
    .action((options: OutputOptions) => emitSchedules(options, 'maintenance-'));

  maintenance
    .command('delete <name>')
    .description('delete the maintenance schedule of a feature group version (nothing else changes)')
    .option('--version <n>', 'feature group version (default: latest)')
    .option('--json', 'machine-readable output')
    .action(async (name: string, options: OutputOptions & { version?: string }) => {
      const target = await resolveTarget(name, options.version);
      const client = await connectTemporal(loadConfig());
      try {
        const scheduleId = maintenanceScheduleId(target.name, target.version);
        await client.schedule
          .getHandle(scheduleId)
          .delete()
          .catch((error: unknown) => {
            throw new ValidationError(`no maintenance schedule ${scheduleId}: ${(error as Error).message}`);
          });
        emit(options, { scheduleId, deleted: true }, () => `schedule ${scheduleId} deleted`);
      } finally {
        await client.connection.close();
      }
    });
}
