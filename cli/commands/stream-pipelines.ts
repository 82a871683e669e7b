import {
  WorkflowExecutionAlreadyStartedError,
  type Client,
  type WorkflowHandleWithFirstExecutionRunId,
} from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { Command } from 'commander';
import { loadConfig, type FtiConfig } from '../../core/config';
import { openDatabase } from '../../core/db';
import { ValidationError } from '../../core/errors';
import { TASK_QUEUES } from '../../core/pipelines';
import {
  CheckpointStore,
  connectJetStream,
  parseStreamPipelineSpec,
  streamWorkflowId,
  type StreamCheckpoint,
  type StreamPartitionStatus,
  type StreamPipelineSpec,
} from '../../core/streaming';
import { sequenceAtTime } from '../../core/streaming/jetstream/jetstream';
import { eventStreamNames } from '../../core/streaming/subjects';
import type { StreamingPipelineInput, StreamingPipelineResult } from '../../workflows';
import { isoOption, parseEvery, positiveInt, readJsonFile } from '../context';
import { emit, table, type OutputOptions } from '../output';
import { connectTemporal, runUrl } from '../temporal-client';

/** `fti stream start|stop|status|replay` — run streaming feature pipelines as Temporal workflows. */
export function registerStreamPipelineCommands(stream: Command): void {
  stream
    .command('start <spec>')
    .description(
      'start a streaming feature pipeline (JSON spec) as a long-running workflow stream-<name>; it runs until stopped',
    )
    .option(
      '--task-queue <queue>',
      "the features team's queue (consumers run on <queue>-streams)",
      TASK_QUEUES.features,
    )
    .option('--json', 'machine-readable output')
    .action(async (file: string, options: OutputOptions & { taskQueue: string }) => {
      const spec = parseStreamPipelineSpec(readJsonFile(file, 'streaming pipeline'));
      await withTemporal(async (client, config) => {
        const started = await startPipeline(client, spec, options.taskQueue);
        const url = runUrl(config, started.workflowId, started.firstExecutionRunId);
        emit(
          options,
          { workflowId: started.workflowId, runId: started.firstExecutionRunId, url },
          () =>
            `started streaming pipeline ${spec.name} (${spec.partitions} partition${spec.partitions > 1 ? 's' : ''}) — ${url}\nwatch it with: fti stream status ${spec.name}`,
        );
      });
    });

  stream
    .command('stop <name>')
    .description(
      'stop a streaming pipeline: each consumer commits and checkpoints what it has, then the workflow ends',
    )
    .option('--json', 'machine-readable output')
    .action(async (name: string, options: OutputOptions) => {
      await withTemporal(async (client) => {
        const result = await stopPipeline(client, name);
        emit(options, result, () =>
          [`stopped ${name}`, renderPartitions(result.partitions.map((p) => ({ live: p })))].join('\n'),
        );
      });
    });

  stream
    .command('status [name]')
    .description(
      'a pipeline per partition: position, lag, events/s, freshness p50/p99, dead letters, last offline commit (all running pipelines without a name)',
    )
    .option('--json', 'machine-readable output')
    .action(async (name: string | undefined, options: OutputOptions) => {
      await withTemporal(async (client, config) => {
        const names = name ? [name] : await runningPipelines(client);
        const statuses: PipelineStatus[] = [];
        for (const n of names) statuses.push(await pipelineStatus(client, config, n));
        if (name && statuses[0]!.workflow === 'not started' && statuses[0]!.partitions.length === 0)
          throw new ValidationError(
            `no streaming pipeline named ${name} has run here; \`fti stream status\` lists the running ones.`,
          );
        emit(options, name ? statuses[0] : statuses, () =>
          statuses.length === 0
            ? 'no streaming pipeline is running'
            : statuses.map((s) => renderStatus(s)).join('\n\n'),
        );
      });
    });

  stream
    .command('replay <name>')
    .description(
      "re-run a pipeline over its stream: stops it, forgets its checkpoints and window state, and starts it again from the stream's first event (or --from-sequence / --from-time); rows are rewritten by upsert",
    )
    .option('--from-sequence <n>', 'start at this stream sequence')
    .option('--from-time <iso>', 'start at the first event stored at or after this time')
    .option(
      '--warmup <duration>',
      'with --from-time: read this much earlier (e.g. 1h, your longest window) to rebuild window state, writing rows only from --from-time on',
    )
    .option('--partitions <n>', 'change the number of key partitions (the state is rebuilt anyway)')
    .option(
      '--task-queue <queue>',
      `queue to run it on (default: the queue it last ran on, else ${TASK_QUEUES.features})`,
    )
    .option('--json', 'machine-readable output')
    .action(
      async (
        name: string,
        options: OutputOptions & {
          fromSequence?: string;
          fromTime?: string;
          warmup?: string;
          partitions?: string;
          taskQueue?: string;
        },
      ) => {
        if (options.fromSequence && options.fromTime)
          throw new ValidationError('give --from-sequence or --from-time, not both.');
        if (options.warmup && !options.fromTime)
          throw new ValidationError('--warmup goes with --from-time (it reads that much before it).');
        const fromTime = isoOption(options.fromTime, '--from-time');
        const warmupSeconds = options.warmup ? parseEvery(options.warmup, '--warmup') : 0;
        const fromSequence = options.fromSequence
          ? positiveInt(options.fromSequence, '--from-sequence')
          : undefined;
        const partitions = options.partitions ? positiveInt(options.partitions, '--partitions') : undefined;
        await withTemporal(async (client, config) => {
          const last = await lastRun(client, name);
          const previous = last?.input;
          if (!previous)
            throw new ValidationError(
              `streaming pipeline ${name} has never run here; start it with \`fti stream start <spec.json>\`.`,
            );
          const base = previous.prepared ?? parseStreamPipelineSpec(previous.spec);
          let startSequence = fromSequence;
          if (fromTime) {
            const nc = await connectJetStream({ url: config.natsUrl, name: 'fti-cli' });
            try {
              const names = eventStreamNames(base.source.name, base.source.version ?? 1);
              startSequence = await sequenceAtTime(
                nc,
                names.stream,
                new Date(Date.parse(fromTime) - warmupSeconds * 1000),
              );
            } finally {
              await nc.close();
            }
          }
          const running = await isRunning(client, name);
          if (running) await stopPipeline(client, name);
          const db = await openDatabase({ url: config.databaseUrl, maxConnections: 1 });
          try {
            await new CheckpointStore(db.db).reset(name);
          } finally {
            await db.close();
          }
          const { emitFrom: _previousEmitFrom, ...rest } = previous.spec;
          const spec = parseStreamPipelineSpec({
            ...rest,
            ...(partitions ? { partitions } : {}),
            startFrom: startSequence ? { sequence: startSequence } : 'earliest',
            ...(fromTime && warmupSeconds > 0 ? { emitFrom: fromTime } : {}),
          });
          const taskQueue = options.taskQueue ?? last.taskQueue ?? TASK_QUEUES.features;
          const started = await startPipeline(client, spec, taskQueue);
          const url = runUrl(config, started.workflowId, started.firstExecutionRunId);
          emit(
            options,
            { workflowId: started.workflowId, startSequence: startSequence ?? 1, taskQueue, url },
            () =>
              `replaying ${name} from stream sequence ${startSequence ?? 1}${running ? ' (stopped the running pipeline first)' : ''} — ${url}`,
          );
        });
      },
    );
}

async function withTemporal<T>(fn: (client: Client, config: FtiConfig) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const client = await connectTemporal(config);
  try {
    return await fn(client, config);
  } finally {
    await client.connection.close();
  }
}

async function startPipeline(
  client: Client,
  spec: StreamPipelineSpec,
  taskQueue: string,
): Promise<WorkflowHandleWithFirstExecutionRunId> {
  const workflowId = streamWorkflowId(spec.name);
  try {
    return await client.workflow.start('streamingFeaturePipeline', {
      taskQueue,
      workflowId,
      args: [{ spec } satisfies StreamingPipelineInput],
    });
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError)
      throw new ValidationError(
        `streaming pipeline ${spec.name} is already running (workflow ${workflowId}); stop it with \`fti stream stop ${spec.name}\` first, or \`fti stream replay ${spec.name}\` to re-run it.`,
      );
    throw error;
  }
}

async function isRunning(client: Client, name: string): Promise<boolean> {
  try {
    const description = await client.workflow.getHandle(streamWorkflowId(name)).describe();
    return description.status.name === 'RUNNING';
  } catch {
    return false;
  }
}

async function stopPipeline(client: Client, name: string): Promise<StreamingPipelineResult> {
  if (!(await isRunning(client, name)))
    throw new ValidationError(
      `streaming pipeline ${name} is not running (no running workflow ${streamWorkflowId(name)}); see \`fti stream status\`.`,
    );
  const handle = client.workflow.getHandle(streamWorkflowId(name));
  await handle.cancel();
  return (await handle.result()) as StreamingPipelineResult;
}

/** The input of the pipeline's latest run (it carries the checked spec after a continue-as-new). */
/** The input and task queue of the pipeline's latest run (a replay keeps both unless told otherwise). */
async function lastRun(
  client: Client,
  name: string,
): Promise<{ input: StreamingPipelineInput; taskQueue: string | undefined } | undefined> {
  try {
    const handle = client.workflow.getHandle(streamWorkflowId(name));
    const history = await handle.fetchHistory();
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    const payload = started?.input?.payloads?.[0];
    if (!payload?.data) return undefined;
    return {
      input: JSON.parse(Buffer.from(payload.data).toString('utf8')) as StreamingPipelineInput,
      taskQueue: started?.taskQueue?.name ?? undefined,
    };
  } catch {
    return undefined;
  }
}

async function runningPipelines(client: Client): Promise<string[]> {
  const names: string[] = [];
  for await (const w of client.workflow.list({
    query: `WorkflowType = 'streamingFeaturePipeline' AND ExecutionStatus = 'Running'`,
  }))
    names.push(w.workflowId.replace(/^stream-/, ''));
  return names.sort();
}

/** One partition: its consumer's live heartbeat figures and/or its durable checkpoint. */
interface PartitionView {
  readonly live?: StreamPartitionStatus;
  readonly checkpoint?: Omit<StreamCheckpoint, 'state'>;
  /** Temporal's view of the consumer activity: running, scheduled (no free worker slot), attempt. */
  readonly activity?: { readonly state: string; readonly attempt: number; readonly worker: string };
}

interface PipelineStatus {
  readonly pipeline: string;
  readonly workflow: string;
  readonly url: string;
  readonly partitions: PartitionView[];
}

async function pipelineStatus(client: Client, config: FtiConfig, name: string): Promise<PipelineStatus> {
  const handle = client.workflow.getHandle(streamWorkflowId(name));
  let workflow = 'not started';
  const live = new Map<number, PartitionView['live']>();
  const activities = new Map<number, PartitionView['activity']>();
  try {
    const description = await handle.describe();
    workflow = description.status.name.toLowerCase();
    for (const pending of description.raw.pendingActivities ?? []) {
      if (pending.activityType?.name !== 'consumeStreamPartition') continue;
      const payload = pending.heartbeatDetails?.payloads?.[0]?.data;
      const figures = payload
        ? (JSON.parse(Buffer.from(payload).toString('utf8')) as StreamPartitionStatus)
        : undefined;
      const partition = figures?.partition ?? activities.size;
      if (figures) live.set(partition, figures);
      activities.set(partition, {
        state: activityState(pending.state),
        attempt: pending.attempt ?? 1,
        worker: pending.lastWorkerIdentity ?? '',
      });
    }
  } catch {
    // never started here: checkpoints may still exist (stopped pipeline)
  }
  const db = await openDatabase({ url: config.databaseUrl, maxConnections: 1 });
  let checkpoints: Omit<StreamCheckpoint, 'state'>[];
  try {
    checkpoints = await new CheckpointStore(db.db).list(name);
  } finally {
    await db.close();
  }
  const partitions = [
    ...new Set([...checkpoints.map((c) => c.partition), ...live.keys(), ...activities.keys()]),
  ]
    .sort((a, b) => a - b)
    .map((partition) => {
      const view: PartitionView = {
        ...(live.get(partition) ? { live: live.get(partition)! } : {}),
        ...(checkpoints.find((c) => c.partition === partition)
          ? { checkpoint: checkpoints.find((c) => c.partition === partition)! }
          : {}),
        ...(activities.get(partition) ? { activity: activities.get(partition)! } : {}),
      };
      return view;
    });
  return { pipeline: name, workflow, url: runUrl(config, streamWorkflowId(name)), partitions };
}

/** Temporal's pending-activity state as a word: started, scheduled (waiting for a free slot), … */
function activityState(state: number | null | undefined): string {
  const name =
    state === null || state === undefined ? undefined : temporal.api.enums.v1.PendingActivityState[state];
  return name ? name.replace('PENDING_ACTIVITY_STATE_', '').toLowerCase() : 'unknown';
}

/** A latency for people: ms below 10 s, then s, min, h, d (replayed history is days old). */
function ms(value: number | null | undefined): string {
  if (value === null || value === undefined) return '—';
  if (value < 10_000) return `${Math.round(value)} ms`;
  if (value < 600_000) return `${(value / 1000).toFixed(1)} s`;
  if (value < 36_000_000) return `${(value / 60_000).toFixed(1)} min`;
  if (value < 864_000_000) return `${(value / 3_600_000).toFixed(1)} h`;
  return `${(value / 86_400_000).toFixed(1)} d`;
}

function renderPartitions(partitions: readonly PartitionView[]): string {
  const rows = [
    [
      'PARTITION',
      'STATE',
      'POSITION',
      'LAG',
      'EVENTS/S',
      'FRESHNESS P50/P99',
      'EVENTS',
      'LATE',
      'DEAD',
      'COMMITS',
      'LAST COMMIT',
    ],
  ];
  for (const [i, p] of partitions.entries()) {
    const counters = p.live?.counters ?? p.checkpoint?.counters;
    rows.push([
      String(p.live?.partition ?? p.checkpoint?.partition ?? i),
      p.activity
        ? `${p.activity.state}${p.activity.attempt > 1 ? ` (attempt ${p.activity.attempt})` : ''}`
        : 'stopped',
      String(p.live?.position ?? p.checkpoint?.position ?? 0),
      p.live ? String(p.live.lag) : '—',
      p.live ? String(p.live.eventsPerSecond) : '—',
      p.live ? `${ms(p.live.freshnessP50Ms)} / ${ms(p.live.freshnessP99Ms)}` : '—',
      String(counters?.events ?? 0),
      String(counters?.late ?? 0),
      String(counters?.deadLetters ?? 0),
      String(counters?.commits ?? 0),
      counters?.lastCommitAt ?? '—',
    ]);
  }
  return table(rows);
}

function renderStatus(status: PipelineStatus): string {
  return [`${status.pipeline}: ${status.workflow} — ${status.url}`, renderPartitions(status.partitions)].join(
    '\n',
  );
}
