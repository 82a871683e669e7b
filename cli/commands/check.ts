import type { Command } from 'commander';
import { loadConfig } from '../../core/config';
import { TASK_QUEUES } from '../../core/pipelines';
import type { PlatformCheckReport } from '../../workflows';
import { emit, table, type OutputOptions } from '../output';
import { connectTemporal, runUrl } from '../temporal-client';

/** `fti check` — run the platformCheck workflow across the three queues and print its report. */
export function registerCheckCommand(program: Command): void {
  program
    .command('check')
    .description(
      'run the platformCheck workflow: an activity on each task queue writes/reads S3 and PostgreSQL',
    )
    .option('--no-wait', 'start the run and print its id and UI link without waiting')
    .option('--timeout <seconds>', 'give up waiting after this many seconds', '120')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      '\nNeeds a worker on each queue (fti stack up --workers).\n\nExamples:\n  $ fti check\n  $ fti check --json\n' +
        "  $ temporal workflow start --namespace fti --task-queue fti-features --type platformCheck --input '{}'",
    )
    .action(async (options: OutputOptions & { wait: boolean; timeout: string }) => {
      const config = loadConfig();
      const client = await connectTemporal(config);
      const workflowId = `platform-check-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      const handle = await client.workflow.start('platformCheck', {
        taskQueue: TASK_QUEUES.features,
        workflowId,
        args: [{}],
      });
      const url = runUrl(config, workflowId, handle.firstExecutionRunId);
      if (!options.wait) {
        emit(
          options,
          { workflowId, runId: handle.firstExecutionRunId, url },
          () => `started ${workflowId}\n${url}`,
        );
        await client.connection.close();
        return;
      }
      if (!options.json) process.stderr.write(`running ${workflowId} — ${url}\n`);
      const timeoutMs = Number(options.timeout) * 1000;
      const report = (await Promise.race([
        handle.result(),
        new Promise((_, reject) =>
          setTimeout(
            () =>
              reject(
                new Error(`no result after ${options.timeout}s; are the workers running? (fti stack status)`),
              ),
            timeoutMs,
          ).unref(),
        ),
      ])) as PlatformCheckReport;
      await client.connection.close();
      emit(options, { ...report, url }, () =>
        [
          table([
            ['QUEUE', 'WORKER', 'S3 OBJECT', 'DB ROW', 'MS'],
            ...report.queues.map((q) => [
              q.taskQueue,
              q.worker,
              q.objectKey,
              String(q.databaseRowId),
              String(q.elapsedMs),
            ]),
          ]),
          `platformCheck ${report.ok ? 'passed' : 'FAILED'} — ${url}`,
        ].join('\n'),
      );
      if (!report.ok) process.exitCode = 1;
    });
}
