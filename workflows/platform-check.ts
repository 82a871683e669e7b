import { proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { PlatformCheckActivities, QueueCheckResult } from '../activities/platform-check';
import { TASK_QUEUES } from '../core/pipelines';

/** Input of {@link platformCheck}. */
export interface PlatformCheckInput {
  /** Queues whose workers must answer. @default features, training, inference */
  readonly taskQueues?: readonly string[];
}

/** The report {@link platformCheck} returns. */
export interface PlatformCheckReport {
  readonly checkId: string;
  readonly ok: boolean;
  readonly queues: readonly QueueCheckResult[];
}

/**
 * Proves the wiring: one activity on each task queue writes and reads an object in S3 and a row in
 * PostgreSQL. Completes only when every queue's worker answered; the report lists what each did.
 */
export async function platformCheck(input: PlatformCheckInput = {}): Promise<PlatformCheckReport> {
  const { workflowId } = workflowInfo();
  upsertSearchAttributes({ FtiPipeline: ['platform'] });
  const queues = input.taskQueues ?? [TASK_QUEUES.features, TASK_QUEUES.training, TASK_QUEUES.inference];
  const results = await Promise.all(
    queues.map((taskQueue) => {
      const { checkQueue } = proxyActivities<PlatformCheckActivities>({
        taskQueue,
        startToCloseTimeout: '30 seconds',
        // A queue with no worker must not hang the check forever.
        scheduleToCloseTimeout: '5 minutes',
        retry: { maximumAttempts: 5, initialInterval: '1 second' },
      });
      return checkQueue({ checkId: workflowId, taskQueue });
    }),
  );
  return { checkId: workflowId, ok: results.length === queues.length, queues: results };
}
