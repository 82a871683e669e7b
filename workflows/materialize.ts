import { proxyActivities, upsertSearchAttributes } from '@temporalio/workflow';
import type { MaterializeActivities, MaterializeInput } from '../activities/materialize';
import type { MaterializeResult } from '../core/featurestore/materialize';

/** Input of {@link featureGroupMaterialization}. */
export type FeatureGroupMaterializationInput = MaterializeInput;

const { materializeFeatureGroup } = proxyActivities<MaterializeActivities>({
  startToCloseTimeout: '2 hours',
  retry: {
    initialInterval: '5 seconds',
    backoffCoefficient: 2,
    maximumInterval: '2 minutes',
    maximumAttempts: 8,
  },
});

/**
 * Loads a feature group's offline history into the online store (`fti fg materialize`, queue
 * `fti-features`): the latest row per key with event time in the window, upsert-if-newer, so a
 * retry or a re-run leaves the same state and streaming writes newer than the history are kept.
 */
export async function featureGroupMaterialization(
  input: FeatureGroupMaterializationInput,
): Promise<MaterializeResult> {
  upsertSearchAttributes({
    FtiPipeline: ['materialize'],
    FtiFeatureGroup: [`${input.featureGroup.name}:${input.featureGroup.version ?? 'latest'}`],
  });
  return materializeFeatureGroup(input);
}
