/**
 * Names shared by workers, workflows, the CLI and the stack: task queues and the custom search
 * attributes registered on the Temporal namespace. Plain constants, so workflow code can import
 * them without pulling anything non-deterministic into the sandbox.
 */
export const TASK_QUEUES = {
  features: 'fti-features',
  training: 'fti-training',
  trainingGpu: 'fti-training-gpu',
  inference: 'fti-inference',
} as const;

/**
 * Task queue of a streaming pipeline's consumers: its workflow's queue with `-streams`. Each
 * features worker polls it with its own slot limit (`FTI_STREAM_SLOTS`), so partitions spread over
 * workers instead of piling onto the first one.
 */
export function streamsQueueOf(taskQueue: string): string {
  return `${taskQueue}-streams`;
}

/** Most windows a feature backfill runs at once, whatever it asks for. */
export const MAX_BACKFILL_PARALLELISM = 64;
/** Windows a feature backfill runs at once by default: a share of its queue, not all of it. */
export const DEFAULT_BACKFILL_PARALLELISM = 4;

/** A task queue the platform's workers poll. */
export type TaskQueueName = (typeof TASK_QUEUES)[keyof typeof TASK_QUEUES];

/** Temporal search-attribute value types the platform uses. */
export type SearchAttributeKind = 'Keyword' | 'Datetime' | 'Int';

/**
 * Custom search attributes every platform workflow may set, so runs can be filtered in the UI and
 * with `temporal workflow list --query "FtiPipeline='features'"`.
 */
export const SEARCH_ATTRIBUTES = {
  /** Which pipeline a run belongs to: features | training | inference | maintenance | platform. */
  FtiPipeline: 'Keyword',
  /** Feature group (name:version) a feature pipeline writes. */
  FtiFeatureGroup: 'Keyword',
  /** Feature view (name:version) a training or inference pipeline reads. */
  FtiFeatureView: 'Keyword',
  /** Registered model name. */
  FtiModel: 'Keyword',
  /** Deployment name. */
  FtiDeployment: 'Keyword',
  /** Start (inclusive) of the data window a run processes. */
  FtiWindowStart: 'Datetime',
  /** End (exclusive) of the data window a run processes. */
  FtiWindowEnd: 'Datetime',
} as const satisfies Record<string, SearchAttributeKind>;

/** Name of one of the platform's custom search attributes. */
export type SearchAttributeName = keyof typeof SEARCH_ATTRIBUTES;

/** Workflow id of a retraining policy's closed loop (one per policy, on the inference queue). */
export function retrainingWorkflowId(policy: string): string {
  return `retrain-${policy}`;
}
