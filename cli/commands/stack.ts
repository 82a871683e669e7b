import type { Command } from 'commander';
import { stackDown, stackStatus, stackUp, type ServiceStatus } from '../../infra/stack';
import { startWorkers, stopWorkers, workerStatus } from '../../infra/workers';
import { emit, table, type OutputOptions } from '../output';

function render(services: readonly ServiceStatus[]): string {
  const rows = [
    ['SERVICE', 'STATE', 'MODE', 'URL'],
    ...services.map((s) => [s.service, s.running ? 'up' : 'down', s.mode, s.url]),
  ];
  const links = services.flatMap((s) =>
    Object.entries(s.links ?? {}).map(([name, url]) => `${s.service} ${name}: ${url}`),
  );
  return [table(rows), ...links].join('\n');
}

/** `fti stack up|down|status` — the local stack (Temporal dev server, PostgreSQL, SeaweedFS S3, NATS JetStream). */
export function registerStackCommands(program: Command): void {
  const stack = program
    .command('stack')
    .description(
      'bring the local stack (Temporal + Web UI, PostgreSQL, S3, NATS JetStream) up, down, or show its status',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  $ fti stack up\n  $ fti stack up --workers\n  $ fti stack status --json\n  $ fti stack down',
    );

  stack
    .command('up')
    .description('start what is missing, create databases/buckets/namespaces, run migrations (idempotent)')
    .option(
      '--workers',
      'also start the three workers (fti-features, fti-training, fti-inference) in the background',
    )
    .option(
      '--restart-workers',
      'with --workers: stop running workers first so they pick up the current environment (e.g. FTI_FEATURE_MODULES)',
    )
    .option('--json', 'machine-readable output')
    .action(async (options: OutputOptions & { workers?: boolean; restartWorkers?: boolean }) => {
      const { services, provisioned } = await stackUp();
      if (options.workers && options.restartWorkers) await stopWorkers();
      const workers = options.workers ? await startWorkers() : [];
      emit(options, { services, provisioned, workers }, () =>
        [
          render(services),
          `databases: ${provisioned.databases.join(', ')}; buckets: ${provisioned.buckets.join(', ')}; namespaces: ${provisioned.namespaces.join(', ')}`,
          ...workers.map(
            (w) =>
              `worker ${w.taskQueue}: pid ${w.pid ?? 'starting'}${w.supervisorPid ? ` (supervisor pid ${w.supervisorPid} restarts it on a crash)` : ' (unsupervised: started by an older version; use --restart-workers)'}, log ${w.logFile}`,
          ),
          'stop everything with: infra/stack.sh down',
        ].join('\n'),
      );
    });

  stack
    .command('down')
    .description('stop the workers and services that `up` started (pid files); leave everything else alone')
    .option('--json', 'machine-readable output')
    .action(async (options: OutputOptions) => {
      const workers = await stopWorkers();
      const stopped = await stackDown();
      emit(options, { stopped: [...workers, ...stopped] }, () =>
        stopped.length + workers.length === 0
          ? 'nothing to stop'
          : `stopped: ${[...workers, ...stopped].join(', ')}`,
      );
    });

  stack
    .command('status')
    .description('print each service, how it is provided, and its URL (with the Temporal UI link)')
    .option('--json', 'machine-readable output')
    .action(async (options: OutputOptions) => {
      const services = await stackStatus();
      const workers = workerStatus();
      emit(options, { services, workers }, () =>
        [
          render(services),
          ...workers.map(
            (w) =>
              `worker ${w.taskQueue}: ${
                w.running
                  ? `pid ${w.pid}${w.supervisorPid ? ` (supervisor pid ${w.supervisorPid})` : ' (unsupervised)'}`
                  : w.supervisorPid
                    ? `restarting (supervisor pid ${w.supervisorPid}; see ${w.logFile})`
                    : 'stopped'
              }`,
          ),
        ].join('\n'),
      );
      if (services.some((s) => !s.running)) process.exitCode = 3;
    });
}
