import fs from 'node:fs';
import path from 'node:path';
import type { NativeConnection } from '@temporalio/worker';
import { Worker } from '@temporalio/worker';
import { activitiesFor, type ActivityDeps } from '../activities';
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
    ...(options.workflowBundle
      ? { workflowBundle: options.workflowBundle }
      : usePrebuilt
        ? { workflowBundle: { codePath: WORKFLOW_BUNDLE_PATH } }
        : { workflowsPath: require.resolve('../workflows') }),
  });
}
