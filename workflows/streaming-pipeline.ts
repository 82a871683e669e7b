import {
  ActivityCancellationType,
  CancellationScope,
  continueAsNew,
  isCancellation,
  proxyActivities,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { StreamingActivities } from '../activities/streaming';
import { streamsQueueOf } from '../core/pipelines';
import type { NormalizedStreamPipelineSpec, StreamPipelineSpec } from '../core/streaming/pipeline-spec';
import type { StreamPartitionStatus } from '../core/streaming/partition-runner';

/** Input of {@link streamingFeaturePipeline}. */
export interface StreamingPipelineInput {
  readonly spec: StreamPipelineSpec;
  /** Set by the workflow itself when it continues as new: the checked spec with pinned versions. */
  readonly prepared?: NormalizedStreamPipelineSpec;
  /** How many times this pipeline continued as new. */
  readonly iteration?: number;
}

/** What a stopped pipeline returns: each partition's last figures. */
export interface StreamingPipelineResult {
  readonly pipeline: string;
  readonly stopped: true;
  readonly partitions: readonly StreamPartitionStatus[];
}

/**
 * A streaming feature pipeline: one long-running consumer activity per key partition on
 * `<queue>-streams`, each heartbeating its position and figures (visible in the Temporal UI's
 * pending activities). Every `runSeconds` the consumers checkpoint and return and the workflow
 * continues as new, so its history stays short however long it runs. Cancelling the workflow (`fti
 * stream stop`, or the UI) stops the consumers after a last checkpoint. A consumer that dies is
 * retried without limit and resumes from its checkpoint.
 */
export async function streamingFeaturePipeline(
  input: StreamingPipelineInput,
): Promise<StreamingPipelineResult> {
  const { prepareStreamPipeline } = proxyActivities<StreamingActivities>({
    startToCloseTimeout: '2 minutes',
    retry: { maximumAttempts: 10, initialInterval: '1s', maximumInterval: '30s' },
  });
  const spec = input.prepared ?? (await prepareStreamPipeline(input.spec));
  const target = spec.featureGroup ?? spec.source;
  upsertSearchAttributes({
    FtiPipeline: ['streaming'],
    FtiFeatureGroup: [`${target.name}:${target.version ?? ''}`],
  });
  const { consumeStreamPartition } = proxyActivities<StreamingActivities>({
    taskQueue: streamsQueueOf(workflowInfo().taskQueue),
    startToCloseTimeout: `${spec.runSeconds + 600} seconds`,
    heartbeatTimeout: '10 seconds',
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { initialInterval: '1s', maximumInterval: '20s', backoffCoefficient: 2 },
  });
  let partitions: StreamPartitionStatus[] = [];
  try {
    partitions = await Promise.all(
      Array.from({ length: spec.partitions }, (_, partition) =>
        consumeStreamPartition({ spec, partition, runForMs: spec.runSeconds * 1000 }),
      ),
    );
  } catch (error) {
    if (isCancellation(error)) return { pipeline: spec.name, stopped: true, partitions };
    throw error;
  }
  if (CancellationScope.current().consideredCancelled)
    return { pipeline: spec.name, stopped: true, partitions };
  return continueAsNew<typeof streamingFeaturePipeline>({
    spec: input.spec,
    prepared: spec,
    iteration: (input.iteration ?? 0) + 1,
  });
}
