import fs from 'node:fs';
import path from 'node:path';
import type { NativeConnection } from '@temporalio/worker';
import { Worker } from '@temporalio/worker';
import { activitiesFor, createStreamingActivities, type ActivityDeps } from '../activities';
import { processTunables } from '../core/config';
import { streamsQueueOf } from '../core/pipelines';
import type { StreamingDeps } from '../core/streaming';
import { projectRoot } from '../core/project-root';

/** Options for {@link createPlatformWorker}. */
export interface PlatformWorkerOptions {
  readonly connection: NativeConnection;
  readonly namespace: string;
  readonly taskQueue: string;
  readonly deps: ActivityDeps;
  /**
   * The queue's default number of concurrent activities (training workers set it per device);
   * FTI_WORKER_MAX_CONCURRENT_ACTIVITIES replaces it (see {@link platformActivityLimits}). @default 8
   */
  readonly maxConcurrentActivities?: number;
  /**
   * Use the pre-built workflow bundle (`dist/workflow-bundle.js`, built by `npm run build`) when
   * present; otherwise bundle `workflows/` at start (slower, used by tests and development).
   * @default true
   */
  readonly preferPrebuiltBundle?: boolean;
  /** An already-built bundle (tests bundle once per process); wins over both options above. */
  readonly workflowBundle?: { readonly code: string };
}

/** Path of the workflow bundle produced at build time. */
export const WORKFLOW_BUNDLE_PATH = path.join(projectRoot(), 'dist', 'workflow-bundle.js');

/** A Temporal worker for one platform task queue, with that queue's activities and all workflows. */
export async function createPlatformWorker(options: PlatformWorkerOptions): Promise<Worker> {
  const usePrebuilt = (options.preferPrebuiltBundle ?? true) && fs.existsSync(WORKFLOW_BUNDLE_PATH);
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    activities: activitiesFor(options.taskQueue, options.deps),
    ...platformActivityLimits(options.maxConcurrentActivities),
    // Heartbeats carry progress and bring cancellation back: send them within 2 s, not at 80 % of
    // the heartbeat timeout, so a run cancelled in the Temporal UI stops within seconds.
    maxHeartbeatThrottleInterval: '2 seconds',
    ...(options.workflowBundle
      ? { workflowBundle: options.workflowBundle }
      : usePrebuilt
        ? { workflowBundle: { codePath: WORKFLOW_BUNDLE_PATH } }
        : { workflowsPath: require.resolve('../workflows') }),
  });
}

/** The activity limits {@link platformActivityLimits} sets on a platform worker. */
export interface PlatformActivityLimits {
  readonly maxConcurrentActivityTaskExecutions: number;
  readonly maxActivitiesPerSecond?: number;
  readonly maxTaskQueueActivitiesPerSecond?: number;
}

/**
 * A platform worker's activity limits: FTI_WORKER_MAX_CONCURRENT_ACTIVITIES, else the queue's
 * default (`queueDefault`, else 8), activities at once in this process; FTI_WORKER_MAX_ACTIVITIES_PER_SECOND
 * caps the activities this process starts per second; FTI_TASK_QUEUE_MAX_ACTIVITIES_PER_SECOND asks
 * the server to cap the whole task queue (every worker polling it; the last poller's value wins).
 * Unset rate variables set no limit. Throws a ConfigError naming a malformed variable.
 */
export function platformActivityLimits(
  queueDefault: number | undefined,
  env: NodeJS.ProcessEnv = process.env,
): PlatformActivityLimits {
  const tunables = processTunables(env);
  return {
    maxConcurrentActivityTaskExecutions: tunables.workerMaxConcurrentActivities ?? queueDefault ?? 8,
    ...(tunables.workerMaxActivitiesPerSecond !== undefined
      ? { maxActivitiesPerSecond: tunables.workerMaxActivitiesPerSecond }
      : {}),
    ...(tunables.taskQueueMaxActivitiesPerSecond !== undefined
      ? { maxTaskQueueActivitiesPerSecond: tunables.taskQueueMaxActivitiesPerSecond }
      : {}),
  };
}

/** Environment variable: streaming consumers (partitions) one features worker runs at once. */
export const STREAM_SLOTS_ENV = 'FTI_STREAM_SLOTS';

/** Streaming consumer slots per worker: `FTI_STREAM_SLOTS`, default 4. */
export function streamSlots(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[STREAM_SLOTS_ENV];
  if (raw === undefined || raw === '') return 4;
  const slots = Number(raw);
  if (!Number.isInteger(slots) || slots < 1 || slots > 64)
    throw new Error(
      `${STREAM_SLOTS_ENV}=${raw} must be a whole number from 1 to 64 (streaming partitions this worker consumes at once).`,
    );
  return slots;
}

/**
 * An activity-only worker on `<taskQueue>-streams` running streaming consumers, at most `slots` at
 * once: a partition beyond that waits for a worker with a free slot (visible as a scheduled,
 * unstarted activity in the Temporal UI).
 */
export async function createStreamWorker(options: {
  readonly connection: NativeConnection;
  readonly namespace: string;
  readonly taskQueue: string;
  readonly deps: StreamingDeps;
  readonly slots: number;
  /** Worker identity shown in the Temporal UI. @default the SDK's `<pid>@<host>` */
  readonly identity?: string;
}): Promise<Worker> {
  return Worker.create({
    ...(options.identity ? { identity: options.identity } : {}),
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: streamsQueueOf(options.taskQueue),
    activities: { ...createStreamingActivities(options.deps) },
    maxConcurrentActivityTaskExecutions: options.slots,
    // Heartbeats carry the live figures `fti stream status` shows: send them every second rather
    // than at 80 % of the heartbeat timeout.
    maxHeartbeatThrottleInterval: '1 second',
  });
}
