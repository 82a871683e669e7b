import type { DatabaseHandle } from '../../core/db';
import { withDuck } from '../../core/duckdb';
import {
  conformBatch,
  OfflineTable,
  OnDemandRegistry,
  registerFeatureGroup,
  writeCommitOnline,
  type CommitInfo,
  type FeatureGroupDefinition,
  type FeatureGroupRecord,
  type FeatureViewDeps,
  type IngestionDeps,
  type WriteOperation,
} from '../../core/featurestore';
import { loadSpine } from '../../core/featurestore/views/spine-input';
import type { ObjectStore } from '../../core/storage';
import { testIngestionDeps } from './ingestion';
import { uniqueGroupName } from './featurestore';

/** Feature-store adapters for view tests: ingestion deps plus on-demand functions. */
export type ViewTestDeps = IngestionDeps & FeatureViewDeps;

/** Real test database + bucket adapters with the given on-demand registry. */
export function testViewDeps(
  database: DatabaseHandle,
  store: ObjectStore,
  onDemand = new OnDemandRegistry(),
): ViewTestDeps {
  return { ...testIngestionDeps(database, store), onDemand };
}

/** Registers a group under a unique name (prefix + random suffix). */
export async function createGroup(
  deps: ViewTestDeps,
  definition: Omit<FeatureGroupDefinition, 'name'> & { prefix: string },
): Promise<FeatureGroupRecord> {
  const { prefix, ...rest } = definition;
  return (await registerFeatureGroup(deps.db, { ...rest, name: uniqueGroupName(prefix) })).record;
}

/**
 * Writes rows (objects; Dates or 'YYYY-MM-DD HH:MM:SS' strings for times) as one commit through
 * the real offline table, and to the online store when the group is online-enabled.
 */
export async function commitRows(
  deps: ViewTestDeps,
  group: FeatureGroupRecord,
  rows: readonly Record<string, unknown>[],
  operation: WriteOperation = 'upsert',
  /** `online: false` commits offline only, as history written before online serving was enabled. */
  options: { online?: boolean } = {},
): Promise<CommitInfo> {
  const commit = await withDuck(async (duck) => {
    await loadSpine(duck, deps, { rows }, 'raw_rows');
    await duck.run('CREATE TABLE numbered AS SELECT *, row_number() OVER () AS _fti_row FROM raw_rows');
    await conformBatch(duck, 'numbered', 'conformed', group.spec, 'test rows');
    const table = new OfflineTable(deps, group);
    return (
      await table.write(duck, 'conformed', {
        operation,
        idempotencyKey: `test-${Date.now()}-${Math.random()}`,
      })
    ).commit;
  });
  if (group.spec.online.enabled && options.online !== false)
    await writeCommitOnline(deps, {
      featureGroup: { name: group.spec.name, version: group.spec.version },
      commitId: commit.id,
    });
  return commit;
}
