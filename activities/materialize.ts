import { materializeOnline, type IngestionDeps, type MaterializeResult } from '../core/featurestore';
import { activityBoundary } from './failures';

/** Input of a materialization: the group and an optional event-time window (ISO). */
export interface MaterializeInput {
  readonly featureGroup: { readonly name: string; readonly version?: number };
  readonly start?: string;
  readonly end?: string;
}

/** The materialization activity (features queue). */
export interface MaterializeActivities {
  /** Latest offline row per key in the window → online store, upsert-if-newer; a re-run leaves the same state. */
  materializeFeatureGroup(input: MaterializeInput): Promise<MaterializeResult>;
}

/** Builds the materialization activity over the feature-store adapters. */
export function createMaterializeActivities(deps: IngestionDeps): MaterializeActivities {
  return {
    materializeFeatureGroup: (input) =>
      activityBoundary(() =>
        materializeOnline(deps, input.featureGroup, {
          ...(input.start ? { start: new Date(input.start) } : {}),
          ...(input.end ? { end: new Date(input.end) } : {}),
        }),
      ),
  };
}
