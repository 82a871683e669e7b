import { and, asc, desc, eq, inArray } from 'drizzle-orm';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import type { Database } from '../db';
import { tables } from '../db';
import {
  describeExternalSource,
  ensureModelReadySplit,
  FeatureGroupNotFoundError,
  FeatureViewNotFoundError,
  getFeatureGroup,
  getFeatureView,
  getTrainingDataset,
  listFeatureGroups,
  listFeatureViews,
  listTrainingDatasets,
  OnlineFeatureReader,
  partitioningOf,
  SPLIT_NAMES,
  TrainingDatasetNotFoundError,
  type FeatureViewRecord,
  type OnDemandRegistry,
  type OnlineStore,
  type TrainingDatasetInfo,
} from '../featurestore';
import { joinKey, type ObjectCache, type ObjectStore } from '../storage';
import type {
  datasetListSchema,
  datasetSchema,
  groupListSchema,
  groupSchema,
  onlineResponseSchema,
  splitDownloadSchema,
  viewListSchema,
  viewSchema,
} from './feature-store-schemas';
import {
  datasetParams,
  emptyQuery,
  groupQuery,
  nameParams,
  onlineRequestSchema,
  PRESIGN_SECONDS,
  splitParams,
  splitQuery,
  viewQuery,
} from './feature-store-schemas';

/** What the feature store routes need; the server passes its own adapters. */
export interface FeatureStoreRouteDeps {
  readonly db: Database;
  readonly store: ObjectStore;
  readonly online: OnlineStore;
  readonly onDemand: OnDemandRegistry;
  /** Local cache of object-store files (model-ready splits read the stored split through it). */
  readonly cache: ObjectCache;
  /** Scratch folder of the service. */
  readonly scratchDir: string;
  /** Checks the caller's API key for scope `features` (401/403 otherwise). */
  readonly authenticate: (request: FastifyRequest) => Promise<unknown>;
}

/** An answer with an HTTP status (the server's error handler sends `{ error: message }`). */
export class FeatureStoreApiError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'FeatureStoreApiError';
  }
}

/** Routes this module registers (the OpenAPI test checks each is documented). */
export const FEATURE_STORE_ROUTES = [
  { method: 'GET', url: '/v1/feature-groups' },
  { method: 'GET', url: '/v1/feature-groups/:name' },
  { method: 'GET', url: '/v1/feature-views' },
  { method: 'GET', url: '/v1/feature-views/:name' },
  { method: 'GET', url: '/v1/feature-views/:name/training-datasets' },
  { method: 'GET', url: '/v1/feature-views/:name/training-datasets/:dataset' },
  { method: 'GET', url: '/v1/feature-views/:name/training-datasets/:dataset/splits/:split' },
  { method: 'POST', url: '/v1/feature-views/:name/online' },
] as const;

/** Parses `value` with `schema`, or answers 400 naming each problem (never the values sent). */
function parse<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(value ?? {});
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(whole)'} ${i.message}`);
  throw new FeatureStoreApiError(400, `${what}: ${problems.join('; ')}`);
}

/** Not-found errors of the feature store become 404; everything else goes to the server's handler. */
async function notFoundAs404<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (
      error instanceof FeatureGroupNotFoundError ||
      error instanceof FeatureViewNotFoundError ||
      error instanceof TrainingDatasetNotFoundError
    )
      throw new FeatureStoreApiError(404, error.message);
    throw error;
  }
}

type CommitRow = typeof tables.featureGroupCommits.$inferSelect;

/** The latest completed commit of each group, by group id (one query). */
async function latestCommits(db: Database, groupIds: readonly number[]): Promise<Map<number, CommitRow>> {
  if (groupIds.length === 0) return new Map();
  const t = tables.featureGroupCommits;
  const rows = await db
    .selectDistinctOn([t.featureGroupId])
    .from(t)
    .where(and(eq(t.state, 'completed'), inArray(t.featureGroupId, [...groupIds])))
    .orderBy(t.featureGroupId, desc(t.sequence));
  return new Map(rows.map((r) => [r.featureGroupId, r]));
}

function commitJson(row: CommitRow | undefined) {
  if (!row) return null;
  return {
    id: row.id,
    instant: row.instant,
    operation: row.operation,
    completedAt: row.completedAt?.toISOString() ?? null,
    rowsInserted: row.rowsInserted,
    rowsUpdated: row.rowsUpdated,
    rowsDeleted: row.rowsDeleted,
  };
}

/** JSON-safe feature value: times as ISO strings, big integers as numbers when exact, else text. */
function plain(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : String(value);
  if (typeof value === 'number' && !Number.isFinite(value)) return null;
  return value;
}

function datasetJson(dataset: TrainingDatasetInfo): z.input<typeof datasetSchema> {
  const splits = dataset.splits;
  return {
    featureView: { name: dataset.featureView.name, version: dataset.featureView.version },
    version: dataset.version,
    state: dataset.state,
    description: dataset.description,
    start: dataset.start?.toISOString() ?? null,
    end: dataset.end?.toISOString() ?? null,
    splits:
      splits.kind === 'none'
        ? { kind: 'none' }
        : splits.kind === 'random'
          ? { kind: 'random', fractions: { ...splits.fractions }, seed: splits.seed }
          : {
              kind: 'time',
              ranges: Object.fromEntries(
                Object.entries(splits.ranges).flatMap(([name, r]) =>
                  r ? [[name, { start: r.start.toISOString(), end: r.end.toISOString() }]] : [],
                ),
              ),
            },
    splitKey: dataset.splitKey ? [...dataset.splitKey] : null,
    rowCounts: { ...dataset.rowCounts },
    contentHashes: { ...dataset.contentHashes },
    featureGroupCommits: { ...dataset.featureGroupCommits },
    transformation: {
      features: [...dataset.transformation.features],
      outputs: [...dataset.transformation.outputs],
      steps: Object.fromEntries(
        Object.entries(dataset.transformation.steps).map(([f, steps]) => [f, steps.map((s) => ({ ...s }))]),
      ),
    },
    createdAt: dataset.createdAt.toISOString(),
  };
}

function viewJson(
  record: FeatureViewRecord,
  versions: readonly number[],
  datasets: readonly number[],
): z.input<typeof viewSchema> {
  const view = record.view;
  const groupRef = (i: number) => ({
    name: view.joins[i]!.group.spec.name,
    version: view.joins[i]!.group.spec.version,
  });
  return {
    name: view.name,
    version: view.version,
    versions: [...versions],
    description: view.definition.description ?? '',
    createdAt: record.createdAt.toISOString(),
    entityKeys: [...view.entityKeys],
    eventTime: view.eventTime,
    features: [...view.features],
    labels: [...view.labels],
    spine:
      view.spine.kind === 'group'
        ? {
            kind: 'feature_group',
            featureGroup: { name: view.spine.group.spec.name, version: view.spine.group.spec.version },
          }
        : { kind: 'table' },
    columns: view.columns.map((c) => ({
      name: c.name,
      type: c.type,
      role: c.role,
      origin: c.origin,
      ...(c.join !== undefined ? { featureGroup: groupRef(c.join) } : {}),
    })),
    joins: view.joins.map((j, i) => ({
      featureGroup: groupRef(i),
      on: j.on.map((p) => ({ groupColumn: p.groupColumn, spineColumn: p.spineColumn })),
      features: j.features.map((f) => ({ source: f.source, output: f.output, type: f.type })),
      lookback: j.lookback,
    })),
    onDemand: view.onDemand.map((o) => ({ name: o.name, function: o.function, inputs: { ...o.inputs } })),
    trainingDatasets: [...datasets],
  };
}

/**
 * Online readers per view version and dataset, built once (a view version is immutable) and kept
 * in a small LRU; "the latest version" of a name is re-read at most every 5 s, so a request makes
 * one online-store query and, at most every few seconds, one metadata query.
 */
class OnlineReaders {
  private readonly readers = new Map<string, Promise<OnlineFeatureReader>>();
  private readonly latest = new Map<string, { version: number; until: number }>();

  constructor(
    private readonly deps: FeatureStoreRouteDeps,
    private readonly maxEntries = 256,
  ) {}

  async get(name: string, version: number | undefined, dataset: number | undefined) {
    const resolved = version ?? (await this.latestVersion(name));
    const key = `${name}@${resolved}#${dataset ?? ''}`;
    let reader = this.readers.get(key);
    if (reader) {
      this.readers.delete(key);
    } else {
      reader = this.build(name, resolved, dataset);
      // A failed build (unknown dataset, an outage) is not remembered.
      reader.catch(() => this.readers.delete(key));
    }
    this.readers.set(key, reader);
    while (this.readers.size > this.maxEntries) this.readers.delete(this.readers.keys().next().value!);
    return reader;
  }

  private async latestVersion(name: string): Promise<number> {
    const hit = this.latest.get(name);
    if (hit && hit.until > Date.now()) return hit.version;
    const version = (await getFeatureView(this.deps.db, name)).view.version;
    this.latest.set(name, { version, until: Date.now() + 5_000 });
    if (this.latest.size > this.maxEntries) this.latest.delete(this.latest.keys().next().value!);
    return version;
  }

  private async build(name: string, version: number, dataset: number | undefined) {
    const record = await getFeatureView(this.deps.db, name, version);
    const transformation =
      dataset === undefined
        ? undefined
        : (await getTrainingDataset(this.deps, { name, version }, dataset)).dataset.transformation;
    return new OnlineFeatureReader(this.deps.online, record.view, {
      onDemand: this.deps.onDemand,
      ...(transformation ? { transformation } : {}),
      encode: transformation !== undefined,
    });
  }
}

/**
 * The feature store's read API, under `/v1` beside predict and event push (scope `features`):
 * feature groups and views (metadata), training datasets (metadata and short-lived presigned URLs
 * of their Parquet files, so data goes from the object store to the client directly) and online
 * feature vectors. Every input is checked by the zod schemas of `feature-store-schemas.ts`, which
 * also generate the OpenAPI document.
 */
export function registerFeatureStoreRoutes(app: FastifyInstance, deps: FeatureStoreRouteDeps): void {
  const readers = new OnlineReaders(deps);
  const db = deps.db;
  // Model-ready splits are computed here once per dataset split, then served from the store.
  const viewDeps = { ...deps, cache: deps.cache, scratchDir: deps.scratchDir };

  // Concurrent first requests for one split build its model-ready file once.
  const building = new Map<string, Promise<string>>();
  const modelReady = (dataset: TrainingDatasetInfo, split: (typeof SPLIT_NAMES)[number]) => {
    const id = `${dataset.id}/${split}`;
    let pending = building.get(id);
    if (!pending) {
      pending = ensureModelReadySplit(
        viewDeps,
        { name: dataset.featureView.name, version: dataset.featureView.version },
        dataset.version,
        split,
      )
        .then((r) => r.key)
        .finally(() => building.delete(id));
      building.set(id, pending);
    }
    return pending;
  };

  app.get('/v1/feature-groups', async (request) => {
    await deps.authenticate(request);
    parse(emptyQuery, request.query, 'query');
    const groups = await listFeatureGroups(db);
    const commits = await latestCommits(
      db,
      groups.map((g) => g.id),
    );
    const body: z.input<typeof groupListSchema> = {
      featureGroups: groups.map((g) => ({
        name: g.spec.name,
        version: g.spec.version,
        description: g.spec.description,
        primaryKey: [...g.spec.primaryKey],
        eventTime: g.spec.eventTime,
        onlineEnabled: g.spec.online.enabled,
        latestCommit: commitJson(commits.get(g.id)),
        createdAt: g.createdAt.toISOString(),
      })),
    };
    return body;
  });

  app.get('/v1/feature-groups/:name', async (request) => {
    await deps.authenticate(request);
    const { name } = parse(nameParams, request.params, 'path');
    const { version } = parse(groupQuery, request.query, 'query');
    const group = await notFoundAs404(() => getFeatureGroup(db, name, version));
    const versions = await db
      .select({ version: tables.featureGroups.version })
      .from(tables.featureGroups)
      .where(eq(tables.featureGroups.name, name))
      .orderBy(asc(tables.featureGroups.version));
    const spec = group.spec;
    const body: z.input<typeof groupSchema> = {
      name: spec.name,
      version: spec.version,
      versions: versions.map((v) => v.version),
      description: spec.description,
      primaryKey: [...spec.primaryKey],
      eventTime: spec.eventTime,
      features: spec.features.map((f) => ({
        name: f.name,
        type: f.type,
        nullable: f.nullable,
        ...(f.description ? { description: f.description } : {}),
      })),
      online: { enabled: spec.online.enabled, ttlSeconds: spec.online.ttlSeconds },
      retentionDays: spec.retentionDays,
      tags: { ...spec.tags },
      external: spec.external
        ? { kind: spec.external.kind, source: describeExternalSource(spec.external) }
        : null,
      partitioning: partitioningOf(spec),
      latestCommit: commitJson((await latestCommits(db, [group.id])).get(group.id)),
      createdAt: group.createdAt.toISOString(),
      updatedAt: group.updatedAt.toISOString(),
    };
    return body;
  });

  app.get('/v1/feature-views', async (request) => {
    await deps.authenticate(request);
    parse(emptyQuery, request.query, 'query');
    const views = await listFeatureViews(db);
    const body: z.input<typeof viewListSchema> = {
      featureViews: views.map((v) => ({ ...v, createdAt: v.createdAt.toISOString() })),
    };
    return body;
  });

  app.get('/v1/feature-views/:name', async (request) => {
    await deps.authenticate(request);
    const { name } = parse(nameParams, request.params, 'path');
    const { version } = parse(viewQuery, request.query, 'query');
    const record = await notFoundAs404(() => getFeatureView(db, name, version));
    const t = tables.featureViews;
    const versions = await db
      .select({ version: t.version })
      .from(t)
      .where(eq(t.name, name))
      .orderBy(asc(t.version));
    const td = tables.trainingDatasets;
    const datasets = await db
      .select({ version: td.version })
      .from(td)
      .where(and(eq(td.featureViewId, record.id), eq(td.state, 'ready')))
      .orderBy(asc(td.version));
    return viewJson(
      record,
      versions.map((v) => v.version),
      datasets.map((d) => d.version),
    );
  });

  app.get('/v1/feature-views/:name/training-datasets', async (request) => {
    await deps.authenticate(request);
    const { name } = parse(nameParams, request.params, 'path');
    const { version } = parse(viewQuery, request.query, 'query');
    const datasets = await notFoundAs404(() => listTrainingDatasets(deps, { name, version }));
    const view = datasets[0]?.featureView ?? (await getFeatureView(db, name, version)).view;
    const body: z.input<typeof datasetListSchema> = {
      featureView: { name: view.name, version: view.version },
      trainingDatasets: datasets.map((d) => ({
        version: d.version,
        state: d.state,
        description: d.description,
        splits: d.splits.kind,
        rowCounts: { ...d.rowCounts },
        createdAt: d.createdAt.toISOString(),
      })),
    };
    return body;
  });

  app.get('/v1/feature-views/:name/training-datasets/:dataset', async (request) => {
    await deps.authenticate(request);
    const { name, dataset } = parse(datasetParams, request.params, 'path');
    const { version } = parse(viewQuery, request.query, 'query');
    const found = await notFoundAs404(() => getTrainingDataset(deps, { name, version }, dataset));
    return datasetJson(found.dataset);
  });

  app.get('/v1/feature-views/:name/training-datasets/:dataset/splits/:split', async (request) => {
    await deps.authenticate(request);
    const { name, dataset, split } = parse(splitParams, request.params, 'path');
    const query = parse(splitQuery, request.query, 'query');
    const found = (
      await notFoundAs404(() => getTrainingDataset(deps, { name, version: query.version }, dataset))
    ).dataset;
    const label = `training dataset ${found.featureView.name} v${found.featureView.version} #${found.version}`;
    const rows = found.rowCounts[split];
    if (rows === undefined)
      throw new FeatureStoreApiError(
        404,
        `${label} has no ${split} split (splits: ${SPLIT_NAMES.filter((s) => s in found.rowCounts).join(', ')}).`,
      );
    const transformed = query.transformed === 'true';
    // The stored split is checked first: the model-ready file is built from it.
    const stored = joinKey(found.storagePrefix, `${split}.parquet`);
    const missing = () =>
      new FeatureStoreApiError(
        404,
        `${label}: the ${split} split's file is missing from the object store; rebuild the dataset (fti fv td create).`,
      );
    if (!(await deps.store.exists(stored))) throw missing();
    const key = transformed ? await modelReady(found, split) : stored;
    const info = await deps.store.head(key);
    if (!info) throw missing();
    const seconds = query.expiresIn ?? PRESIGN_SECONDS.default;
    const signedAt = Date.now();
    const url = await deps.store.presignGet(key, seconds);
    const body: z.input<typeof splitDownloadSchema> = {
      featureView: { name: found.featureView.name, version: found.featureView.version },
      trainingDataset: found.version,
      split,
      rows,
      bytes: info.size,
      format: 'parquet',
      transformed,
      featureNames: [...found.transformation.outputs],
      url,
      expiresAt: new Date(signedAt + seconds * 1000).toISOString(),
      expiresInSeconds: seconds,
    };
    return body;
  });

  app.post('/v1/feature-views/:name/online', async (request) => {
    await deps.authenticate(request);
    const { name } = parse(nameParams, request.params, 'path');
    const { version } = parse(viewQuery, request.query, 'query');
    const body = parse(onlineRequestSchema, request.body, 'request body');
    const reader = await notFoundAs404(() => readers.get(name, version, body.trainingDataset));
    const vectors = await reader.get(body.entities, { missing: body.missing ?? 'null' });
    const view = reader.view;
    const answer: z.input<typeof onlineResponseSchema> = {
      featureView: { name: view.name, version: view.version },
      features: [...view.features],
      transformation:
        body.trainingDataset === undefined
          ? null
          : { trainingDataset: body.trainingDataset, outputs: [...reader.outputs] },
      vectors: vectors.map((v) => ({
        keys: Object.fromEntries(Object.entries(v.keys).map(([k, x]) => [k, plain(x)])),
        values: Object.fromEntries(Object.entries(v.values).map(([k, x]) => [k, plain(x)])),
        status: { ...v.status },
        ...(body.trainingDataset === undefined
          ? {}
          : { vector: v.vector.map((x) => (Number.isFinite(x) ? x : null)) }),
      })),
    };
    return answer;
  });
}
