import { and, desc, eq, sql } from 'drizzle-orm';
import type { Database } from '../db';
import { tables } from '../db';
import {
  compareSchemas,
  defineFeatureGroup,
  type FeatureGroupDefinition,
  type FeatureGroupSpec,
} from './feature-group';
import { FeatureGroupNotFoundError, SchemaChangeError } from './errors';
import type { Partitioning } from './offline/partitioning';
import type { ExpectationSuite } from './validation/expectations';

/** A stored feature group version. */
export interface FeatureGroupRecord {
  readonly id: number;
  readonly spec: FeatureGroupSpec;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** What {@link registerFeatureGroup} did. */
export type RegisterOutcome = 'created' | 'unchanged' | 'appended';

type Row = typeof tables.featureGroups.$inferSelect;

/** Maps a `feature_groups` row to a {@link FeatureGroupRecord}. */
export function recordFromRow(row: Row): FeatureGroupRecord {
  return {
    id: row.id,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    spec: {
      name: row.name,
      version: row.version,
      description: row.description,
      primaryKey: row.primaryKey,
      eventTime: row.eventTimeColumn,
      features: row.features as FeatureGroupSpec['features'],
      online: { enabled: row.onlineEnabled, ttlSeconds: row.onlineTtlSeconds },
      expectations: (row.expectationSuite as ExpectationSuite | null) ?? null,
      statistics: row.statisticsConfig as FeatureGroupSpec['statistics'],
      retentionDays: row.retentionDays,
      tags: row.tags as Record<string, string>,
      external: (row.external as FeatureGroupSpec['external']) ?? null,
      ...(row.partitioning !== null && { partitioning: row.partitioning as Partitioning }),
    },
  };
}

/**
 * Creates a feature group version, or reconciles with the stored one: identical → unchanged;
 * nullable features appended → updated in place; anything else → {@link SchemaChangeError} asking
 * for the next version. Settings (description, expectations, online TTL, tags) may change freely.
 * Safe to call on every worker start.
 */
export async function registerFeatureGroup(
  db: Database,
  definition: FeatureGroupDefinition,
): Promise<{ record: FeatureGroupRecord; outcome: RegisterOutcome }> {
  const spec = defineFeatureGroup(definition);
  const values = {
    name: spec.name,
    version: spec.version,
    description: spec.description,
    primaryKey: [...spec.primaryKey],
    eventTimeColumn: spec.eventTime,
    features: spec.features,
    onlineEnabled: spec.online.enabled,
    onlineTtlSeconds: spec.online.ttlSeconds,
    expectationSuite: spec.expectations,
    statisticsConfig: spec.statistics,
    retentionDays: spec.retentionDays,
    tags: spec.tags,
    external: spec.external,
    partitioning: spec.partitioning ?? null,
  };
  return db.transaction(async (tx) => {
    // Serialise concurrent registrations of the same name.
    await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtext(${`fg:${spec.name}`}))`);
    const [existing] = await tx
      .select()
      .from(tables.featureGroups)
      .where(and(eq(tables.featureGroups.name, spec.name), eq(tables.featureGroups.version, spec.version)));
    if (!existing) {
      const [row] = await tx.insert(tables.featureGroups).values(values).returning();
      return { record: recordFromRow(row!), outcome: 'created' as const };
    }
    const stored = recordFromRow(existing);
    const change = compareSchemas(stored.spec, spec);
    if (change.kind === 'breaking') {
      const [latest] = await tx
        .select({ v: tables.featureGroups.version })
        .from(tables.featureGroups)
        .where(eq(tables.featureGroups.name, spec.name))
        .orderBy(desc(tables.featureGroups.version))
        .limit(1);
      throw new SchemaChangeError(spec.name, spec.version, change.reason, (latest?.v ?? spec.version) + 1);
    }
    const [row] = await tx
      .update(tables.featureGroups)
      .set({ ...values, updatedAt: new Date() })
      .where(eq(tables.featureGroups.id, existing.id))
      .returning();
    return {
      record: recordFromRow(row!),
      outcome: change.kind === 'append' ? ('appended' as const) : ('unchanged' as const),
    };
  });
}

/** A feature group version (the latest when `version` is omitted). */
export async function getFeatureGroup(
  db: Database,
  name: string,
  version?: number,
): Promise<FeatureGroupRecord> {
  const rows = await db
    .select()
    .from(tables.featureGroups)
    .where(eq(tables.featureGroups.name, name))
    .orderBy(desc(tables.featureGroups.version));
  const row = version === undefined ? rows[0] : rows.find((r) => r.version === version);
  if (!row)
    throw new FeatureGroupNotFoundError(
      name,
      version,
      rows.map((r) => r.version),
    );
  return recordFromRow(row);
}

/** Every feature group version, by name then version. */
export async function listFeatureGroups(db: Database): Promise<FeatureGroupRecord[]> {
  const rows = await db
    .select()
    .from(tables.featureGroups)
    .orderBy(tables.featureGroups.name, tables.featureGroups.version);
  return rows.map(recordFromRow);
}
