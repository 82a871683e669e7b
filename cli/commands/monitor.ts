import type { Command } from 'commander';
import { loadConfig } from '../../core/config';
import { ValidationError } from '../../core/errors';
import type { MonitorRunSummary } from '../../core/monitoring/deployment-monitor';
import {
  deleteMonitor,
  getMonitor,
  listMonitors,
  monitorHistory,
  saveMonitor,
  type MonitorRunInfo,
} from '../../core/monitoring/monitors';
import { TASK_QUEUES } from '../../core/pipelines';
import { getDeployment } from '../../core/serving/deployments';
import { getFeatureGroup } from '../../core/featurestore/feature-group-repository';
import { isoOption, parseEvery, positiveInt, withDatabase } from '../context';
import { emit, table, type OutputOptions } from '../output';
import { ensureMonitorSchedule, monitorScheduleId } from '../schedules';
import { connectTemporal, runUrl, showProgress } from '../temporal-client';

const THRESHOLD_KEYS = ['method', 'threshold', 'nullRateIncrease', 'outOfRange', 'unseen'] as const;

/** `--threshold amount.threshold=0.2` (repeatable) → `{ amount: { threshold: 0.2 } }`. */
export function parseThresholds(values: readonly string[]): Record<string, Record<string, string | number>> {
  const out: Record<string, Record<string, string | number>> = {};
  for (const value of values) {
    const match = /^([^.=]+)\.([A-Za-z]+)=(.+)$/.exec(value);
    if (!match || !(THRESHOLD_KEYS as readonly string[]).includes(match[2]!))
      throw new ValidationError(
        `--threshold "${value}" must look like <column>.<key>=<value> with key one of ${THRESHOLD_KEYS.join(', ')}, e.g. amount.threshold=0.2 or merchant.method=jensenshannon.`,
        { location: '--threshold' },
      );
    const [, column, key, raw] = match;
    const number = Number(raw);
    if (key !== 'method' && !Number.isFinite(number))
      throw new ValidationError(`--threshold "${value}": ${key} must be a number.`, {
        location: '--threshold',
      });
    (out[column!] ??= {})[key!] = key === 'method' ? raw! : number;
  }
  return out;
}

const fixed = (v: number | null | undefined, digits = 3) =>
  v === null || v === undefined ? '-' : Number.isFinite(v) ? v.toFixed(digits) : String(v);

function renderRun(run: MonitorRunInfo): string {
  const lines = [
    `window ${run.windowStart.toISOString()} → ${run.windowEnd.toISOString()}: ${run.status}, ${run.rows} served rows`,
  ];
  const drift = run.results.filter((r) => r.kind !== 'metric');
  const metrics = run.results.filter((r) => r.kind === 'metric');
  if (drift.length) {
    lines.push(
      table([
        [
          'SEGMENT',
          'ROLE',
          'COLUMN',
          'VALUES',
          'TEST',
          'SCORE',
          'THRESHOLD',
          'DRIFT',
          'PSI',
          'NULLS',
          'OUTSIDE',
        ],
        ...drift.map((r) => [
          r.segment,
          r.role,
          r.column,
          String(r.values),
          r.method ?? '-',
          fixed(r.score, 4),
          fixed(r.threshold, 3),
          r.drift ? 'yes' : 'no',
          fixed(r.psi),
          `${fixed(r.nullRate * 100, 1)}%`,
          r.outOfRange !== null
            ? `${fixed(r.outOfRange * 100, 1)}% out of range`
            : r.unseen !== null
              ? `${fixed(r.unseen * 100, 1)}% unseen`
              : '-',
        ]),
      ]),
    );
  }
  if (metrics.length) {
    const window = run.summary.performanceWindow as { start: string; end: string } | undefined;
    lines.push(
      '',
      `performance (realized: labels joined so far for ${window ? `${window.start} → ${window.end}` : 'the window'}; estimated: CBPE on this window)`,
      table([
        ['SEGMENT', 'KIND', 'METRIC', 'VALUE', 'ROWS', 'NOTE'],
        ...metrics.map((r) => {
          const d = r.details as {
            lower?: number;
            upper?: number;
            estimated?: { value: number };
            coverage?: number;
          };
          return [
            r.segment,
            r.role === 'performance' ? 'realized' : 'estimated',
            r.column,
            fixed(r.score, 4),
            String(r.values),
            r.role === 'estimated_performance'
              ? `band ${fixed(d.lower, 3)}–${fixed(d.upper, 3)}`
              : d.estimated
                ? `estimated ${fixed(d.estimated.value, 4)}`
                : '',
          ];
        }),
      ]),
    );
  }
  if (run.summary.problems.length) lines.push('problems:', ...run.summary.problems.map((p) => `  ${p}`));
  return lines.join('\n');
}

/** `fti monitor …` — drift and data-quality monitoring of deployments on a Temporal Schedule. */
export function registerMonitorCommands(program: Command): void {
  const monitor = program
    .command('monitor')
    .description(
      'watch a deployment: drift and data quality of served requests and batch inputs against the training references, on a schedule',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  $ fti monitor create fraud --every 1h\n  $ fti monitor create fraud --name fraud-daily --every 1d --threshold amount.threshold=0.2\n  $ fti monitor run fraud-monitor\n  $ fti monitor report fraud-monitor --last 24',
    );

  monitor
    .command('create <subject>')
    .description(
      'create (or update) a monitor of a deployment and its schedule; each run checks the window that ends at its scheduled time',
    )
    .option('--name <name>', 'monitor name (default: <subject>-monitor)')
    .option(
      '--feature-group',
      'the subject is a feature group: check each window of new commits against earlier rows',
    )
    .option(
      '--reference <interval>',
      'feature groups: compare with the rows of this long before the window (default: all earlier rows)',
    )
    .option('--every <interval>', 'how often a window is checked, such as 15m, 1h, 1d', '1h')
    .option('--window <interval>', 'window length (default: --every, back-to-back windows)')
    .option('--min-rows <n>', 'fewer served rows in a segment: no drift verdict, a volume problem', '100')
    .option(
      '--label-delay <interval>',
      'labels arrive this late: realized performance is for the window this much earlier',
      '0s',
    )
    .option(
      '--label-tolerance <interval>',
      'a label joins a prediction of the same entity at most this far apart in event time',
      '60s',
    )
    .option('--slice <feature>', 'also report performance per value of this logged feature (its 10 largest)')
    .option(
      '--threshold <column.key=value>',
      'per-column override (repeatable): threshold, method (ks, wasserstein, chisquare, jensenshannon), nullRateIncrease, outOfRange, unseen',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option('--task-queue <queue>', 'queue of the inference worker that runs it', TASK_QUEUES.inference)
    .option('--paused', 'create the schedule paused')
    .option('--json', 'machine-readable output')
    .action(
      async (
        deployment: string,
        options: OutputOptions & {
          name?: string;
          every: string;
          window?: string;
          minRows: string;
          labelDelay: string;
          labelTolerance: string;
          slice?: string;
          featureGroup?: boolean;
          reference?: string;
          threshold: string[];
          taskQueue: string;
          paused?: boolean;
        },
      ) => {
        const everySeconds = parseEvery(options.every);
        const saved = await withDatabase(async ({ db }) => {
          if (options.featureGroup) await getFeatureGroup(db, deployment);
          else await getDeployment(db, deployment);
          return saveMonitor(db, {
            name: options.name ?? `${deployment}-monitor`,
            subjectType: options.featureGroup ? 'feature_group' : 'deployment',
            subject: deployment,
            referenceSeconds: options.reference ? parseEvery(options.reference, '--reference') : null,
            everySeconds,
            windowSeconds: options.window ? parseEvery(options.window, '--window') : everySeconds,
            thresholds: parseThresholds(options.threshold),
            minRows: positiveInt(options.minRows, '--min-rows'),
            labelDelaySeconds:
              options.labelDelay === '0s' ? 0 : parseEvery(options.labelDelay, '--label-delay'),
            labelToleranceSeconds:
              options.labelTolerance === '0s' ? 0 : parseEvery(options.labelTolerance, '--label-tolerance'),
            sliceColumn: options.slice ?? null,
          });
        });
        const client = await connectTemporal(loadConfig());
        try {
          const schedule = await ensureMonitorSchedule(client, saved.name, {
            everySeconds,
            taskQueue: options.taskQueue,
            paused: options.paused ?? false,
          });
          emit(
            options,
            { monitor: saved, ...schedule },
            () =>
              `monitor ${saved.name} watches ${saved.subjectType === 'deployment' ? 'deployment' : 'feature group'} ${deployment}: every ${options.every}, window ${saved.windowSeconds} s; schedule ${schedule.scheduleId} ${schedule.created ? 'created' : 'updated'}`,
          );
        } finally {
          await client.connection.close();
        }
      },
    );

  monitor
    .command('list')
    .description('monitors and their latest window')
    .option('--json', 'machine-readable output')
    .action(async (options: OutputOptions) => {
      const rows = await withDatabase(async ({ db }) =>
        Promise.all(
          (await listMonitors(db)).map(async (m) => ({
            ...m,
            // A list is a summary: the latest window's verdict, not its per-column results.
            latest: (await monitorHistory(db, m.name, { last: 1, results: false })).runs[0] ?? null,
          })),
        ),
      );
      emit(options, rows, () =>
        rows.length === 0
          ? 'no monitors (create one with fti monitor create <deployment>)'
          : table([
              ['NAME', 'SUBJECT', 'EVERY', 'LAST WINDOW END', 'STATUS', 'PROBLEMS'],
              ...rows.map((m) => [
                m.name,
                `${m.subjectType} ${m.subject}`,
                `${m.everySeconds}s`,
                m.latest?.windowEnd.toISOString() ?? '-',
                m.latest?.status ?? '-',
                String(m.latest?.summary.problems.length ?? '-'),
              ]),
            ]),
      );
    });

  monitor
    .command('run <name>')
    .description('check one window now (as a workflow on the inference queue) and print what it found')
    .option('--end <time>', 'window end, ISO-8601 (default: now)')
    .option('--start <time>', "window start, ISO-8601 (default: end minus the monitor's window)")
    .option(
      '--performance-start <time>',
      'realized performance of the requests served from this time (with --performance-end; default: the window minus --label-delay), for replays of history',
    )
    .option('--performance-end <time>', 'end of that served window, ISO-8601')
    .option('--task-queue <queue>', 'queue of the inference worker that runs it', TASK_QUEUES.inference)
    .option('--json', 'machine-readable output')
    .action(
      async (
        name: string,
        options: OutputOptions & {
          end?: string;
          start?: string;
          performanceStart?: string;
          performanceEnd?: string;
          taskQueue: string;
        },
      ) => {
        await withDatabase(({ db }) => getMonitor(db, name));
        const end = isoOption(options.end, '--end') ?? new Date().toISOString();
        const start = isoOption(options.start, '--start');
        const performanceStart = isoOption(options.performanceStart, '--performance-start');
        const performanceEnd = isoOption(options.performanceEnd, '--performance-end');
        if (!performanceStart !== !performanceEnd)
          throw new ValidationError(
            '--performance-start and --performance-end go together: give both or neither.',
            {
              location: performanceStart ? '--performance-end' : '--performance-start',
            },
          );
        const config = loadConfig();
        const client = await connectTemporal(config);
        try {
          const workflowId = `${monitorScheduleId(name)}-manual-${Date.now()}`;
          const handle = await client.workflow.start('monitorWindow', {
            taskQueue: options.taskQueue,
            workflowId,
            args: [
              {
                monitor: name,
                window: { end, ...(start ? { start } : {}) },
                ...(performanceStart && performanceEnd
                  ? { performanceWindow: { start: performanceStart, end: performanceEnd } }
                  : {}),
              },
            ],
          });
          const summary = await showProgress(
            handle,
            handle.result() as Promise<MonitorRunSummary>,
            options.json,
          );
          emit(options, { ...summary, url: runUrl(config, workflowId, handle.firstExecutionRunId) }, () =>
            [
              `${summary.monitor} ${summary.windowStart} → ${summary.windowEnd}: ${summary.status}, ${summary.rows} served rows`,
              ...summary.problems.map((p) => `  ${p}`),
              runUrl(config, workflowId, handle.firstExecutionRunId),
            ].join('\n'),
          );
        } finally {
          await client.connection.close();
        }
      },
    );

  monitor
    .command('report <name>')
    .description('the stored windows of a monitor, newest first, and the per-column results of the latest')
    .option('--last <n>', 'windows to show', '24')
    .option('--column <name>', 'only this column')
    .option('--json', 'machine-readable output')
    .action(async (name: string, options: OutputOptions & { last: string; column?: string }) => {
      const history = await withDatabase(({ db }) =>
        monitorHistory(db, name, {
          last: positiveInt(options.last, '--last'),
          ...(options.column ? { column: options.column } : {}),
        }),
      );
      emit(options, history, () => {
        const m = history.monitor;
        const head = `monitor ${m.name}: ${m.subjectType} ${m.subject}, every ${m.everySeconds} s, window ${m.windowSeconds} s`;
        if (history.runs.length === 0) return `${head}\nno windows yet (fti monitor run ${m.name})`;
        return [
          head,
          table([
            ['WINDOW END', 'STATUS', 'ROWS', 'DRIFTED', 'PROBLEMS'],
            ...history.runs.map((r) => [
              r.windowEnd.toISOString(),
              r.status,
              String(r.rows),
              `${r.results.filter((x) => x.drift).length}/${r.results.filter((x) => x.method && x.kind !== 'metric').length}`,
              String(r.summary.problems.length),
            ]),
          ]),
          '',
          `latest ${renderRun(history.runs[0]!)}`,
        ].join('\n');
      });
    });

  monitor
    .command('delete <name>')
    .description('delete a monitor, its schedule and its stored results')
    .option('--json', 'machine-readable output')
    .action(async (name: string, options: OutputOptions) => {
      await withDatabase(({ db }) => getMonitor(db, name));
      const client = await connectTemporal(loadConfig());
      try {
        await client.schedule
          .getHandle(monitorScheduleId(name))
          .delete()
          .catch(() => undefined);
      } finally {
        await client.connection.close();
      }
      await withDatabase(({ db }) => deleteMonitor(db, name));
      emit(
        options,
        { monitor: name, deleted: true },
        () => `monitor ${name} and schedule ${monitorScheduleId(name)} deleted`,
      );
    });
}
