import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import type { Database } from '../../db';
import { tables } from '../../db';
import { FtiError, ValidationError } from '../../errors';
import type { ObjectStore } from '../../storage';
import { getFeatureGroup, recordFromRow, type FeatureGroupRecord } from '../feature-group-repository';
import {
  parseFeatureViewDefinition,
  type FeatureViewDefinition,
  type FeatureViewDefinitionParsed,
} from './definition';
import { resolveFeatureView, type ResolvedFeatureView } from './resolve';

/** A stored feature view version, resolved against the exact feature-group versions it reads. */
export interface FeatureViewRecord {
  readonly id: number;
  readonly view: ResolvedFeatureView;
  readonly createdAt: Date;
}

/** A named view (or version) does not exist. */
export class FeatureViewNotFoundError extends FtiError {
  constructor(name: string, version: number | undefined, available: readonly number[]) {
    super(
      `feature view ${name}${version === undefined ? '' : ` version ${version}`} does not exist` +
        (available.length ? ` (versions: ${available.join(', ')})` : '; create it first (fti fv create)'),
      { retryable: false },
    );
  }
}

/** Canonical JSON (sorted keys) so stored definitions compare by content. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object')
    return `{${Object.keys(value)
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(value);
}

/** Pins every feature-group reference to the version it resolved to. */
async function pinVersions(
  db: Database,
  parsed: FeatureViewDefinitionParsed,
): Promise<{
  pinned: FeatureViewDefinitionParsed;
  spine?: FeatureGroupRecord;
  groups: FeatureGroupRecord[];
}> {
  const spine =
    'featureGroup' in parsed.spine
      ? await getFeatureGroup(db, parsed.spine.featureGroup.name, parsed.spine.featureGroup.version)
      : undefined;
  const groups: FeatureGroupRecord[] = [];
  for (const join of parsed.joins)
    groups.push(await getFeatureGroup(db, join.featureGroup.name, join.featureGroup.version));
  const pinned: FeatureViewDefinitionParsed = {
    ...parsed,
    spine:
      'featureGroup' in parsed.spine
        ? { ...parsed.spine, featureGroup: { name: spine!.spec.name, version: spine!.spec.version } }
        : parsed.spine,
    joins: parsed.joins.map((j, i) => ({
      ...j,
      featureGroup: { name: groups[i]!.spec.name, version: groups[i]!.spec.version },
    })),
  };
  return { pinned, ...(spine ? { spine } : {}), groups };
}

/**
 * Creates a feature view version. Feature-group references without a version are pinned to the
 * latest version now. With an explicit `version` that exists: identical definition → the stored
 * record (`created: false`); different → an error asking for a new version. Without `version`: an
 * identical latest version is returned, otherwise the next version is created. Validation happens
 * before anything is written.
 */
export async function createFeatureView(
  db: Database,
  definition: FeatureViewDefinition,
): Promise<{ record: FeatureViewRecord; created: boolean }> {
  const parsed = parseFeatureViewDefinition(definition);
  const { pinned, spine, groups } = await pinVersions(db, parsed);
  const body = canonical({ ...pinned, version: undefined });
  return db.transaction(async (tx) => {
    await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtext(${`fv:${pinned.name}`}))`);
    const existing = await tx
      .select()
      .from(tables.featureViews)
      .where(eq(tables.featureViews.name, pinned.name))
      .orderBy(desc(tables.featureViews.version));
    const target = pinned.version ?? undefined;
    const same = existing.find((r) => (target === undefined ? r === existing[0] : r.version === target));
    if (same) {
      if (canonical({ ...(same.query as object), version: undefined }) === body)
        return { record: await recordOf(tx as unknown as Database, same), created: false };
      if (target !== undefined)
        throw new ValidationError(
          `feature view ${pinned.name} version ${target} exists with a different definition; views are immutable — create version ${existing[0]!.version + 1}.`,
          { location: `feature view ${pinned.name}` },
        );
    }
    const version = target ?? (existing[0]?.version ?? 0) + 1;
    const view = resolveFeatureView(pinned, version, spine, groups);
    const [row] = await tx
      .insert(tables.featureViews)
      .values({
        name: pinned.name,
        version,
        description: pinned.description,
        query: { ...pinned, version },
        labels: [...view.labels],
        inferenceHelperColumns: pinned.inferenceHelperColumns,
        trainingHelperColumns: pinned.trainingHelperColumns,
        transformations: pinned.transformations,
        onDemandFeatures: pinned.onDemand,
      })
      .returning();
    const sources = [
      ...(spine ? [{ featureGroupId: spine.id, role: 'spine' }] : []),
      ...groups.map((g) => ({ featureGroupId: g.id, role: 'join' })),
    ];
    if (sources.length)
      await tx
        .insert(tables.featureViewSources)
        .values(sources.map((s, position) => ({ ...s, featureViewId: row!.id, position })));
    return { record: { id: row!.id, view, createdAt: row!.createdAt }, created: true };
  });
}

async function recordOf(
  db: Database,
  row: typeof tables.featureViews.$inferSelect,
): Promise<FeatureViewRecord> {
  const definition = parseFeatureViewDefinition(row.query);
  const sources = await db
    .select({ source: tables.featureViewSources, group: tables.featureGroups })
    .from(tables.featureViewSources)
    .innerJoin(tables.featureGroups, eq(tables.featureGroups.id, tables.featureViewSources.featureGroupId))
    .where(eq(tables.featureViewSources.featureViewId, row.id))
    .orderBy(asc(tables.featureViewSources.position));
  const spine = sources.find((s) => s.source.role === 'spine');
  const joins = sources.filter((s) => s.source.role === 'join').map((s) => recordFromRow(s.group));
  const view = resolveFeatureView(
    definition,
    row.version,
    spine ? recordFromRow(spine.group) : undefined,
    joins,
  );
  return { id: row.id, view, createdAt: row.createdAt };
}

/** A feature view version (the latest when `version` is omitted). */
export async function getFeatureView(
  db: Database,
  name: string,
  version?: number,
): Promise<FeatureViewRecord> {
  const rows = await db
    .select()
    .from(tables.featureViews)
    .where(eq(tables.featureViews.name, name))
    .orderBy(desc(tables.featureViews.version));
  const row = version === undefined ? rows[0] : rows.find((r) => r.version === version);
  if (!row) throw new FeatureViewNotFoundError(name, version, rows.map((r) => r.version).reverse());
  return recordOf(db, row);
}

/** A feature view version by id (for lineage lookups). */
export async function getFeatureViewById(db: Database, id: number): Promise<FeatureViewRecord> {
  const [row] = await db.select().from(tables.featureViews).where(eq(tables.featureViews.id, id));
  if (!row) throw new FeatureViewNotFoundError(`#${id}`, undefined, []);
  return recordOf(db, row);
}

/** Summary rows of every view version, by name then version. */
export async function listFeatureViews(
  db: Database,
): Promise<{ name: string; version: number; description: string; createdAt: Date }[]> {
  return db
    .select({
      name: tables.featureViews.name,
      version: tables.featureViews.version,
      description: tables.featureViews.description,
      createdAt: tables.featureViews.createdAt,
    })
    .from(tables.featureViews)
    .orderBy(tables.featureViews.name, tables.featureViews.version);
}

/**
 * Deletes a view version with its training datasets (rows and files). Refused, with the users
 * named, while a model version or a deployment references the view or one of its datasets.
 */
export async function deleteFeatureView(
  db: Database,
  store: ObjectStore,
  name: string,
  version: number,
): Promise<{ deletedTrainingDatasets: number }> {
  const record = await getFeatureView(db, name, version);
  const datasets = await db
    .select()
    .from(tables.trainingDatasets)
    .where(eq(tables.trainingDatasets.featureViewId, record.id));
  const datasetIds = datasets.map((d) => d.id);
  const models = await db
    .select({ model: tables.models.name, version: tables.modelVersions.version })
    .from(tables.modelVersions)
    .innerJoin(tables.models, eq(tables.models.id, tables.modelVersions.modelId))
    .where(
      datasetIds.length
        ? sql`${tables.modelVersions.featureViewId} = ${record.id} OR ${inArray(tables.modelVersions.trainingDatasetId, datasetIds)}`
        : eq(tables.modelVersions.featureViewId, record.id),
    );
  const deployments = await db
    .select({ name: tables.deployments.name })
    .from(tables.deploymentBindings)
    .innerJoin(
      tables.deploymentVersions,
      eq(tables.deploymentVersions.id, tables.deploymentBindings.deploymentVersionId),
    )
    .innerJoin(tables.deployments, eq(tables.deployments.id, tables.deploymentVersions.deploymentId))
    .where(eq(tables.deploymentBindings.featureViewId, record.id));
  if (models.length || deployments.length) {
    const users = [
      ...models.map((m) => `model ${m.model} v${m.version}`),
      ...[...new Set(deployments.map((d) => d.name))].map((d) => `deployment ${d}`),
    ];
    throw new ValidationError(
      `feature view ${name} v${version} is used by ${users.slice(0, 5).join(', ')}${users.length > 5 ? ', …' : ''}; delete or move those first.`,
      { location: `feature view ${name}` },
    );
  }
  await db.transaction(async (tx) => {
    if (datasetIds.length)
      await tx.delete(tables.trainingDatasets).where(inArray(tables.trainingDatasets.id, datasetIds));
    await tx
      .delete(tables.featureViews)
      .where(and(eq(tables.featureViews.id, record.id), eq(tables.featureViews.version, version)));
  });
  // Files go after the rows: a crash in between leaves orphans, never a dataset without files.
  for (const d of datasets) await store.deletePrefix(`${d.storagePrefix}/`);
  return { deletedTrainingDatasets: datasets.length };
}
