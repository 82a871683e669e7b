import type { Database } from '../db';
import type { ObjectStore } from '../storage';
import { checkExternalSource } from './external/external-source';
import { defineFeatureGroup, type FeatureGroupDefinition } from './feature-group';
import {
  getFeatureGroup,
  registerFeatureGroup,
  type FeatureGroupRecord,
  type RegisterOutcome,
} from './feature-group-repository';
import { FeatureGroupNotFoundError } from './errors';
import { OfflineTable } from './offline/offline-table';
import type { ObjectCache } from '../storage';
import type { OnlineStore } from './online';

/** What registering a definition did, and whether its history should now go online. */
export interface GroupRegistration {
  readonly record: FeatureGroupRecord;
  readonly outcome: RegisterOutcome;
  /**
   * True when the group is served online and its online store is behind what it holds: an external
   * group just registered or turned online, or a stored group with history whose online serving was
   * just enabled. The caller runs materialization (workflow `featureGroupMaterialization`).
   */
  readonly needsMaterialization: boolean;
}

/**
 * Registers a feature group definition like {@link registerFeatureGroup}, first checking an external
 * group's source (nothing is stored when it cannot be read or lacks a declared column), and tells
 * whether online serving was just switched on over existing history.
 */
export async function registerFeatureGroupChecked(
  deps: {
    readonly db: Database;
    readonly store: ObjectStore;
    readonly cache: ObjectCache;
    readonly scratchDir: string;
    /** With it, an online group whose online store is still empty over existing history also counts. */
    readonly online?: OnlineStore;
  },
  definition: FeatureGroupDefinition,
): Promise<GroupRegistration> {
  const spec = defineFeatureGroup(definition);
  if (spec.external) await checkExternalSource(deps, spec);
  let before: FeatureGroupRecord | undefined;
  try {
    before = await getFeatureGroup(deps.db, spec.name, spec.version);
  } catch (error) {
    if (!(error instanceof FeatureGroupNotFoundError)) throw error;
  }
  const { record, outcome } = await registerFeatureGroup(deps.db, definition);
  if (!record.spec.online.enabled) return { record, outcome, needsMaterialization: false };
  const hasHistory =
    record.spec.external !== null || (await new OfflineTable(deps, record).head()) !== undefined;
  const turnedOnline = !(before?.spec.online.enabled ?? false);
  // Decided from state as well as from the change: a run whose materialization never started (the
  // command failed after registering) starts it when the definition is registered again.
  const emptyOnline = deps.online !== undefined && (await deps.online.count(record.spec)) === 0;
  return { record, outcome, needsMaterialization: hasHistory && (turnedOnline || emptyOnline) };
}
