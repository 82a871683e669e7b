import { Context } from '@temporalio/activity';
import { assertWritableGroup, getFeatureGroup } from '../core/featurestore';
import {
  connectJetStream,
  ensureEventStream,
  eventStreamNames,
  parseStreamPipelineSpec,
  runStreamPartition,
  streamOperatorFor,
  type NormalizedStreamPipelineSpec,
  type StreamingDeps,
  type StreamPartitionStatus,
  type StreamPipelineSpec,
} from '../core/streaming';
import { activityBoundary } from './failures';

/** Input of {@link StreamingActivities.consumeStreamPartition}. */
export interface ConsumePartitionInput {
  readonly spec: NormalizedStreamPipelineSpec;
  readonly partition: number;
  /** Return after this long (the workflow then continues as new). */
  readonly runForMs: number;
}

/** The streaming-pipeline activities (queue `<features queue>-streams`, plus `prepare` on the features queue). */
export interface StreamingActivities {
  /**
   * Checks a pipeline before anything runs — groups exist, the transformation is registered on this
   * worker and has a streaming form, its partition columns are in the events — pins the feature
   * group versions and creates the event stream if needed.
   */
  prepareStreamPipeline(spec: StreamPipelineSpec): Promise<NormalizedStreamPipelineSpec>;
  /** Consumes one key partition until stopped or `runForMs` passed; heartbeats its figures. */
  consumeStreamPartition(input: ConsumePartitionInput): Promise<StreamPartitionStatus>;
}

/** Builds the streaming activities over the worker's adapters. */
export function createStreamingActivities(deps: StreamingDeps): StreamingActivities {
  return {
    prepareStreamPipeline: (input) =>
      activityBoundary(async () => {
        const spec = parseStreamPipelineSpec(input);
        const source = await getFeatureGroup(deps.db, spec.source.name, spec.source.version);
        const targetRef = spec.featureGroup ?? spec.source;
        const target = await getFeatureGroup(deps.db, targetRef.name, targetRef.version);
        assertWritableGroup(target.spec, `streaming pipeline ${spec.name}`);
        const transformation = spec.transformation
          ? deps.transformations.get(spec.transformation)
          : undefined;
        streamOperatorFor({
          transformationName: spec.transformation,
          transformation,
          source: source.spec,
          allowedLatenessMs: spec.allowedLatenessSeconds * 1000,
          state: null,
        });
        const nc = await connectJetStream({ url: deps.natsUrl, name: `fti-stream-${spec.name}-prepare` });
        try {
          const names = eventStreamNames(source.spec.name, source.spec.version);
          await ensureEventStream(nc, names.stream, names.subject);
        } finally {
          await nc.close().catch(() => undefined);
        }
        return {
          ...spec,
          source: { name: source.spec.name, version: source.spec.version },
          featureGroup: { name: target.spec.name, version: target.spec.version },
        };
      }),
    consumeStreamPartition: (input) =>
      activityBoundary(async () => {
        const context = Context.current();
        const status = await runStreamPartition(deps, {
          spec: input.spec,
          partition: input.partition,
          runForMs: input.runForMs,
          signal: context.cancellationSignal,
          onStatus: (figures) => context.heartbeat(figures),
        });
        const cancelled = context.cancellationDetails;
        if (cancelled && !cancelled.cancelRequested) {
          // The worker is shutting down (or the attempt timed out), not the pipeline: fail this
          // attempt after the final checkpoint so Temporal starts the partition again elsewhere now,
          // rather than leaving it unconsumed until the other partitions end their period.
          throw new Error(
            `partition ${input.partition} of ${input.spec.name} checkpointed at ${status.position} and stopped because ${cancelled.workerShutdown ? 'its worker is shutting down' : 'its attempt was cancelled'}; it resumes from the checkpoint on the next attempt.`,
          );
        }
        return status;
      }),
  };
}
