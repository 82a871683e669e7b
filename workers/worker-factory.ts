import fs from 'node:fs';
import path from 'node:path';
import type { NativeConnection } from '@temporalio/worker';
import { Worker } from '@temporalio/worker';
import { activitiesFor, createStreamingActivities, type ActivityDeps } from '../activities';
import { streamsQueueOf } from '../core/pipelines';
import type { StreamingDeps } from '../core/streaming';
import { projectRoot } from '../core/project-root';

/** Options for {@link createPlatformWorker}. */
export interface PlatformWorkerOptions {
  readonly connection: NativeConnection;
  readonly namespace: string;
  readonly taskQueue: string;
  readonly deps: ActivityDeps;
  /** Concurrent activities; training workers set this per device. @default 8 */
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
    maxConcurrentActivityTaskExecutions: options.maxConcurrentActivities ?? 8,
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
