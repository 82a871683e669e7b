import type { DuckSession } from '../../core/duckdb';
import type { FeatureGroupDefinition } from '../../core/featurestore/feature-group';
import {
  registerFeatureGroup,
  type FeatureGroupRecord,
} from '../../core/featurestore/feature-group-repository';
import type { Database } from '../../core/db';
import { uniqueName } from './ids';

/** A unique feature-group name (identifier-safe). */
export function uniqueGroupName(prefix = 'fg'): string {
  return uniqueName(prefix).replace(/-/g, '_');
}

/** Registers a small `card_id` / `event_time` / `amount` / `category` group with a unique name. */
export async function createCardGroup(
  db: Database,
  overrides: Partial<FeatureGroupDefinition> = {},
): Promise<FeatureGroupRecord> {
  const { record } = await registerFeatureGroup(db, {
    name: uniqueGroupName(),
    primaryKey: ['card_id'],
    eventTime: 'event_time',
    features: [
      { name: 'card_id', type: 'string' },
      { name: 'event_time', type: 'timestamp' },
      { name: 'amount', type: 'double' },
      { name: 'category', type: 'string' },
    ],
    online: { enabled: true },
    ...overrides,
  });
  return record;
}

/** Rows as tuples (card_id, 'YYYY-MM-DD HH:MM:SS', amount, category). */
export type CardRow = readonly [string, string, number | null, string | null];

/** Loads rows into DuckDB table `name` in the conformed shape (typed columns + 1-based `_fti_row`). */
export async function loadBatch(duck: DuckSession, name: string, rows: readonly CardRow[]): Promise<void> {
  const values = rows
    .map(
      ([card, ts, amount, cat], i) =>
        `('${card}', TIMESTAMP '${ts}', ${amount ?? 'NULL'}::DOUBLE, ${cat === null ? 'NULL' : `'${cat}'`}, ${i + 1})`,
    )
    .join(', ');
  await duck.run(
    `CREATE OR REPLACE TABLE ${name} AS SELECT * FROM (VALUES ${values}) v(card_id, event_time, amount, category, _fti_row)`,
  );
}

/** Sorted rows of a DuckDB view as plain tuples, for equality checks. */
export async function rowsOf(duck: DuckSession, view: string): Promise<unknown[][]> {
  const rows = await duck.all<Record<string, unknown>>(`SELECT * FROM ${view} ORDER BY ALL`);
  return rows.map((r) =>
    Object.values(r).map((v) => (v instanceof Date ? v.toISOString().slice(0, 19).replace('T', ' ') : v)),
  );
}
