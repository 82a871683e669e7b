// Materialization: the offline history → the online store, for groups whose rows reached the
// offline table without going online (online enabled later, a backfill written elsewhere, an
// online store rebuilt).
import { sqlString, withDuck } from '../duckdb';
import { quoteIdent } from '../identifiers';
import { ValidationError } from '../errors';
import { getFeatureGroup } from './feature-group-repository';
import type { FeatureGroupRef, IngestionDeps } from './ingestion';
import { OfflineTable } from './offline/offline-table';

/** What a materialization read and wrote. */
export interface MaterializeResult {
  readonly featureGroup: { readonly name: string; readonly version: number };
  /** The snapshot it read (the group's latest commit); null for an empty group. */
  readonly commitId: number | null;
  readonly window: { readonly start: string | null; readonly end: string | null };
  /** Keys offered (the latest row per key in the window) and rows that changed the online store. */
  readonly offered: number;
  readonly applied: number;
}

/**
 * Loads the latest row per primary key among the offline rows whose event time lies in [start, end)
 * (either bound optional) of the group's latest snapshot into the online store, upsert-if-newer:
 * an online row newer than the offline history (a streaming write) is kept, and running it again
 * leaves the same state. Refuses, writing nothing, a group without online serving or an empty window.
 */
export async function materializeOnline(
  deps: IngestionDeps,
  ref: FeatureGroupRef,
  window: { readonly start?: Date; readonly end?: Date } = {},
): Promise<MaterializeResult> {
  const group = await getFeatureGroup(deps.db, ref.name, ref.version);
  const { spec } = group;
  if (!spec.online.enabled)
    throw new ValidationError(
      `feature group ${spec.name} v${spec.version} is not served online; register a version with online: { enabled: true } to materialize it.`,
      { location: 'featureGroup' },
    );
  if (window.start && window.end && !(window.start < window.end))
    throw new ValidationError(
      `the window start ${window.start.toISOString()} is not before its end ${window.end.toISOString()}; give --start earlier than --end.`,
      { location: 'window' },
    );
  const bounds = [
    window.start ? `${quoteIdent(spec.eventTime)} >= ${timestamp(window.start)}` : undefined,
    window.end ? `${quoteIdent(spec.eventTime)} < ${timestamp(window.end)}` : undefined,
  ].filter((b): b is string => b !== undefined);
  const base = {
    featureGroup: { name: spec.name, version: spec.version },
    window: { start: window.start?.toISOString() ?? null, end: window.end?.toISOString() ?? null },
  };
  return withDuck(
    async (duck) => {
      const head = await new OfflineTable(deps, group).registerSnapshot(duck, 'snapshot');
      if (!head) return { ...base, commitId: null, offered: 0, applied: 0 };
      const columns = spec.features.map((f) => quoteIdent(f.name)).join(', ');
      await duck.run(
        `CREATE VIEW materialized AS SELECT ${columns} FROM snapshot${bounds.length ? ` WHERE ${bounds.join(' AND ')}` : ''}`,
      );
      const written = await deps.online.writeFromDuck(duck, 'materialized', spec);
      return { ...base, commitId: head.id, ...written };
    },
    { threads: deps.threads ?? 2, tempDirectory: `${deps.scratchDir}/duck` },
  );
}

// Event times are stored without a zone, in UTC.
const timestamp = (d: Date) => `TIMESTAMP ${sqlString(d.toISOString().replace('T', ' ').replace('Z', ''))}`;
