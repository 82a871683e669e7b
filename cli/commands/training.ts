import type { Command } from 'commander';
import { loadConfig } from '../../core/config';
import { ValidationError } from '../../core/errors';
import { parseTrainingPipelineSpec, type TrainingPipelineSpec } from '../../core/ml';
import { TASK_QUEUES } from '../../core/pipelines';
import { compareTrainingRuns, listTrainingRuns, metricHistory } from '../../core/registry';
import type { TrainingPipelineResult } from '../../workflows';
import { parseEvery, positiveInt, readJsonFile, withDatabase } from '../context';
import { emit, table, type OutputOptions } from '../output';
import { createTrainingSchedule, trainingScheduleId } from '../schedules';
import { connectTemporal, runUrl } from '../temporal-client';

function num(value: number | undefined): string {
  return value === undefined || Number.isNaN(value)
    ? '—'
    : Number.isInteger(value)
      ? String(value)
      : value.toFixed(4);
}

/** `fti train …` — training pipelines: run (with progress), schedules, runs, comparison. */
export function registerTrainingCommands(program: Command): void {
  const train = program
    .command('train')
    .description('training pipelines: run with progress, schedule retraining, list and compare runs')
    .addHelpText(
      'after',
      `
Examples:
  $ fti train run examples/fraud/training/pipeline.json
  $ fti train run pipeline.json --no-wait
  $ fti train schedule create pipeline.json --every 7d
  $ fti train list --experiment fraud-gbdt
  $ fti train compare 12 13
  $ fti train show 12

A pipeline spec (JSON):
  { "name": "fraud-gbdt", "model": "fraud", "featureView": { "name": "fraud" },
    "trainingDataset": { "create": { "splits": { "kind": "random", "fractions": { "train": 0.7, "validation": 0.1, "test": 0.2 } } } },
    "trainer": { "name": "gbdt", "params": { "numTrees": 200, "maxDepth": 6 } },
    "gates": { "thresholds": { "pr_auc": { "min": 0.5 } }, "champion": { "metric": "pr_auc", "maxDegradation": 0.01 },
               "slices": { "column": "card_type", "metric": "recall", "maxGap": 0.2 } },
    "alias": "champion", "trainQueue": "fti-training" }
Trainers: gbdt, logistic_regression, linear_regression, mlp, or { "external": { "name": "<registered on the worker: FTI_EXTERNAL_TRAINERS>", "params": {} } }.`,
    );

  train
    .command('run <spec>')
    .description('run a training pipeline through Temporal and show its progress')
    .option('--workflow-id <id>', 'workflow id (default: derived from the pipeline name and time)')
    .option('--no-wait', 'print the run id and UI link, do not wait')
    .option('--json', 'machine-readable output')
    .action(async (file: string, options: OutputOptions & { wait: boolean; workflowId?: string }) => {
      const spec = readJsonFile(file, 'training pipeline') as TrainingPipelineSpec;
      const parsed = parseTrainingPipelineSpec(spec);
      const config = loadConfig();
      const client = await connectTemporal(config);
      try {
        const workflowId = options.workflowId ?? `training-${parsed.name}-${Date.now()}`;
        const handle = await client.workflow.start('trainingPipeline', {
          taskQueue: TASK_QUEUES.training,
          workflowId,
          args: [{ spec }],
        });
        const url = runUrl(config, workflowId, handle.firstExecutionRunId);
        if (!options.wait) return emit(options, { workflowId, url }, () => `started ${workflowId}\n${url}`);
        if (!options.json) process.stderr.write(`running ${workflowId} — ${url}\n`);
        let last = '';
        const progress = setInterval(() => {
          void (async () => {
            try {
              const step = await handle.query<string>('step');
              const described = await handle.describe();
              const pending = (described.raw.pendingActivities ?? [])[0];
              const detail = pending?.heartbeatDetails?.payloads?.[0]?.data
                ? Buffer.from(pending.heartbeatDetails.payloads[0].data)
                    .toString('utf8')
                    .replace(/^"|"$/g, '')
                : '';
              const line = `${step}${detail ? ` — ${detail}` : ''}`;
              if (line !== last && !options.json) process.stderr.write(`  ${line}\n`);
              last = line;
            } catch {
              // the run may be between tasks; try again next tick
            }
          })();
        }, 1000);
        let result: TrainingPipelineResult;
        try {
          result = (await handle.result()) as TrainingPipelineResult;
        } finally {
          clearInterval(progress);
        }
        emit(options, { ...result, url }, () =>
          [
            `${result.state === 'registered' ? 'registered' : 'REJECTED'}: ${result.model} v${result.version}${result.alias ? ` (alias ${result.alias.name}: ${result.alias.from ?? '—'} → ${result.alias.to})` : ''}`,
            `training dataset: ${result.trainingDataset.featureView} v${result.trainingDataset.viewVersion} #${result.trainingDataset.version}; run ${result.trainingRunId}`,
            `metrics: ${Object.entries(result.metrics)
              .map(([k, v]) => `${k}=${num(v)}`)
              .join(' ')}`,
            ...(result.champion
              ? [
                  `vs ${result.champion.alias} v${result.champion.version} (its own transformations; ${result.champion.rows} held-out rows, ${result.champion.excludedRows} it trained on left out${result.champion.overlap === 'unknown' ? ', overlap unknown' : ''}):`,
                  `  ${result.champion.alias}: ${Object.entries(result.champion.metrics)
                    .map(([k, v]) => `${k}=${num(v)}`)
                    .join(' ')}`,
                  `  candidate: ${Object.entries(result.champion.candidateMetrics)
                    .map(([k, v]) => `${k}=${num(v)}`)
                    .join(' ')}`,
                ]
              : result.championNote
                ? [`not compared: ${result.championNote}`]
                : []),
            ...result.gates.results.map(
              (g) => `gate ${g.passed ? 'passed' : 'FAILED'}: ${g.gate} — ${g.detail}`,
            ),
            url,
          ].join('\n'),
        );
        if (result.state === 'rejected') process.exitCode = 2;
      } finally {
        await client.connection.close();
      }
    });

  const schedule = train
    .command('schedule')
    .description('Temporal Schedules of training pipelines (retraining)');
  schedule
    .command('create <spec>')
    .description('retrain on a schedule (each run: fresh training data from the latest commits)')
    .option('--every <interval>', 'interval such as 1d, 7d')
    .option('--cron <expr>', 'cron expression, e.g. "0 3 * * 1"')
    .option('--paused', 'create paused')
    .option('--json', 'machine-readable output')
    .action(
      async (file: string, options: OutputOptions & { every?: string; cron?: string; paused?: boolean }) => {
        const spec = readJsonFile(file, 'training pipeline') as TrainingPipelineSpec;
        if (!options.every === !options.cron)
          throw new ValidationError('give exactly one of --every or --cron.');
        const client = await connectTemporal(loadConfig());
        try {
          const handle = await createTrainingSchedule(client, spec, {
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
    .command('delete <name>')
    .description('delete the schedule of a training pipeline')
    .option('--json', 'machine-readable output')
    .action(async (name: string, options: OutputOptions) => {
      const client = await connectTemporal(loadConfig());
      try {
        await client.schedule.getHandle(trainingScheduleId(name)).delete();
        emit(
          options,
          { deleted: trainingScheduleId(name) },
          () => `schedule ${trainingScheduleId(name)} deleted`,
        );
      } finally {
        await client.connection.close();
      }
    });

  train
    .command('list')
    .description('training runs, newest first, with their final metrics')
    .option('--experiment <name>', 'only runs of this pipeline')
    .option('--limit <n>', 'how many', '20')
    .option('--json', 'machine-readable output')
    .action(async (options: OutputOptions & { experiment?: string; limit: string }) => {
      const runs = await withDatabase(({ db }) =>
        listTrainingRuns(db, options.experiment, positiveInt(options.limit, '--limit')),
      );
      emit(options, runs, () =>
        table([
          ['RUN', 'EXPERIMENT', 'TRAINER', 'STATUS', 'STARTED', 'METRICS'],
          ...runs.map((r) => [
            String(r.id),
            r.experiment,
            r.trainer,
            r.status,
            r.startedAt.toISOString(),
            ['roc_auc', 'pr_auc', 'f1', 'rmse', 'r2']
              .filter((k) => k in r.metrics)
              .map((k) => `${k}=${num(r.metrics[k])}`)
              .join(' '),
          ]),
        ]),
      );
    });

  train
    .command('compare <runs...>')
    .description('params and final metrics of runs side by side')
    .option('--json', 'machine-readable output')
    .action(async (ids: string[], options: OutputOptions) => {
      const runs = await withDatabase(({ db }) =>
        compareTrainingRuns(
          db,
          ids.map((id) => positiveInt(id, 'run id')),
        ),
      );
      emit(options, runs, () => {
        const params = [...new Set(runs.flatMap((r) => Object.keys(r.params)))].sort();
        const metrics = [...new Set(runs.flatMap((r) => Object.keys(r.metrics)))].sort();
        return table([
          ['', ...runs.map((r) => `run ${r.id} (${r.trainer})`)],
          ...params.map((p) => [`param ${p}`, ...runs.map((r) => JSON.stringify(r.params[p] ?? null))]),
          ...metrics.map((m) => [m, ...runs.map((r) => num(r.metrics[m]))]),
        ]);
      });
    });

  train
    .command('show <run>')
    .description("a run's metric series (loss per tree/epoch)")
    .option('--json', 'machine-readable output')
    .action(async (id: string, options: OutputOptions) => {
      const series = await withDatabase(({ db }) => metricHistory(db, positiveInt(id, 'run id')));
      emit(
        options,
        series,
        () =>
          Object.entries(series)
            .map(
              ([key, points]) =>
                `${key}: ${(points.length > 12 ? [...points.slice(0, 6), ...points.slice(-6)] : points).map((p) => `${p.step}:${num(p.value)}`).join(' ')}`,
            )
            .join('\n') || '(no metrics)',
      );
    });
}
