import type { DuckSession } from '../../duckdb';
import type { FeatureGroupSpec } from '../feature-group';

/** Per-feature-group status of an online lookup. */
export type OnlineStatus = 'present' | 'missing' | 'outside_ttl';

/** One looked-up entity: its values (null when missing) and whether they may be served. */
export interface OnlineRow {
  readonly key: Readonly<Record<string, unknown>>;
  readonly status: OnlineStatus;
  /** Every column of the group (primary key, event time, features); null when missing. */
  readonly values: Readonly<Record<string, unknown>> | null;
}

/** Result of a bulk write. */
export interface OnlineWriteResult {
  /** Rows offered (latest per primary key in the batch). */
  readonly offered: number;
  /** Rows that changed the store (new keys, or newer events). */
  readonly applied: number;
}

/**
 * The online-store port: the latest row per primary key of each online-enabled feature group.
 * Writes are upsert-if-newer (an older event never overwrites a newer one), so replays and
 * out-of-order backfills are safe. Reads fetch a batch of keys in one round trip.
 */
export interface OnlineStore {
  /** Creates the group's table if missing (idempotent); adds appended nullable columns. */
  ensureTable(spec: FeatureGroupSpec): Promise<void>;
  /**
   * Writes the latest row per primary key of DuckDB relation `relation` (typed like the group).
   * `onProgress` reports rows sent.
   */
  writeFromDuck(
    duck: DuckSession,
    relation: string,
    spec: FeatureGroupSpec,
    onProgress?: (rows: number) => void,
  ): Promise<OnlineWriteResult>;
  /**
   * Replaces the group's whole online state with the latest row per primary key of `relation`, in
   * one transaction: keys absent from it are removed and its rows win even over newer ones. For an
   * overwrite commit, which rewrites the group's history; readers see the old state until the switch.
   */
  replaceFromDuck(duck: DuckSession, relation: string, spec: FeatureGroupSpec): Promise<OnlineWriteResult>;
  /**
   * Writes rows held in memory (a streaming micro-batch), upsert-if-newer like
   * {@link writeFromDuck}, in one round trip: several rows of a primary key collapse to the one with
   * the latest event time (the last given on a tie). Values are JSON-like: timestamps as ISO strings
   * or Dates, dates as `YYYY-MM-DD`, float arrays as number arrays. Replaying the same rows changes
   * nothing.
   */
  writeRows(
    spec: FeatureGroupSpec,
    rows: readonly Readonly<Record<string, unknown>>[],
  ): Promise<OnlineWriteResult>;
  /**
   * Removes rows whose (primary key, event time) is listed in `deleted`, then restores each affected
   * key's latest surviving row from `survivors` (relation with the group's columns).
   */
  applyDeletes(
    duck: DuckSession,
    deleted: string,
    survivors: string,
    spec: FeatureGroupSpec,
  ): Promise<number>;
  /** Looks up many keys at once; results are in input order. `now` decides TTL. */
  read(
    spec: FeatureGroupSpec,
    keys: readonly Readonly<Record<string, unknown>>[],
    now?: Date,
  ): Promise<OnlineRow[]>;
  /**
   * Looks up keys of several feature groups in one round trip (one statement); `result[i]` holds
   * the rows of `requests[i]` in key order, with the same statuses and value types as {@link read}.
   */
  readMany(
    requests: readonly {
      readonly spec: FeatureGroupSpec;
      readonly keys: readonly Readonly<Record<string, unknown>>[];
    }[],
    now?: Date,
  ): Promise<OnlineRow[][]>;
  /** Number of rows stored for the group (monitoring, tests). */
  count(spec: FeatureGroupSpec): Promise<number>;
}
