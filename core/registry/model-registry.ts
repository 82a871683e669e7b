import { createHash } from 'node:crypto';
import { and, asc, desc, eq, sql } from 'drizzle-orm';
import type { Database } from '../db';
import { tables } from '../db';
import { FtiError, ValidationError } from '../errors';
import { assertIdentifier } from '../identifiers';
import { joinKey, type ObjectStore } from '../storage';

/** The registry's adapters. */
export interface RegistryDeps {
  readonly db: Database;
  readonly store: ObjectStore;
}

/** What a model takes and returns (derived from the feature view and the task). */
export interface ModelSignature {
  readonly task: 'binary' | 'multiclass' | 'regression';
  readonly inputs: readonly {
    readonly name: string;
    readonly type: 'float32';
    readonly shape: readonly number[];
    readonly featureNames: readonly string[];
  }[];
  readonly outputs: readonly {
    readonly name: string;
    readonly type: 'float32' | 'int64';
    readonly shape: readonly number[];
  }[];
  /** Class labels by index (classification). */
  readonly classes?: readonly string[];
}

/** Where a model version came from. */
export interface Lineage {
  readonly featureViewId?: number;
  readonly trainingDatasetId?: number;
  readonly trainingRunId?: number;
  /** Temporal workflow id / run id of the training pipeline. */
  readonly workflowId?: string;
  readonly workflowRunId?: string;
  readonly codeVersion?: string;
  /** Where an imported model came from: framework, converter and their versions, the original file's hash. */
  readonly provenance?: Readonly<Record<string, unknown>>;
}

/** A registration request; `idempotencyKey` makes a retry return the same version. */
export interface RegisterModelRequest {
  readonly model: string;
  readonly idempotencyKey: string;
  readonly trainer: string;
  readonly onnx: Uint8Array;
  readonly signature: ModelSignature;
  readonly inputExample?: unknown;
  readonly metrics?: Readonly<Record<string, number>>;
  readonly params?: Readonly<Record<string, unknown>>;
  readonly tags?: Readonly<Record<string, string>>;
  readonly description?: string;
  readonly lineage?: Lineage;
  /** `rejected` versions failed a validation gate: kept for inspection, never aliased or served. */
  readonly state?: 'registered' | 'rejected';
  /** Monitoring reference: the model's prediction profile on its evaluation split (JSON). */
  readonly referenceProfile?: unknown;
  /** Files kept beside the artifact (e.g. an imported model's original ONNX), by file name. */
  readonly attachments?: Readonly<Record<string, Uint8Array>>;
}

/** A stored model version with its resolved lineage. */
export interface ModelVersionInfo {
  readonly id: number;
  readonly model: string;
  readonly version: number;
  readonly state: 'registered' | 'rejected';
  readonly trainer: string;
  readonly artifactKey: string;
  readonly signature: ModelSignature;
  readonly inputExample: unknown;
  readonly metrics: Readonly<Record<string, number>>;
  readonly params: Readonly<Record<string, unknown>>;
  readonly tags: Readonly<Record<string, string>>;
  readonly description: string;
  readonly aliases: readonly string[];
  readonly lineage: {
    readonly featureView: { readonly id: number; readonly name: string; readonly version: number } | null;
    readonly trainingDataset: {
      readonly id: number;
      readonly version: number;
      readonly featureGroupCommits: Readonly<Record<string, number>>;
    } | null;
    readonly trainingRunId: number | null;
    readonly workflowId: string | null;
    readonly workflowRunId: string | null;
    readonly codeVersion: string | null;
    /** Set for imported models (see {@link Lineage.provenance}). */
    readonly provenance: Readonly<Record<string, unknown>> | null;
  };
  readonly createdAt: Date;
}

/** A model name, version or alias that does not exist. */
export class ModelNotFoundError extends FtiError {
  constructor(what: string) {
    super(`${what} does not exist; list models with \`fti models list\`.`, { retryable: false });
  }
}

const ALIAS = /^[a-z][a-z0-9_-]{0,62}$/;

function assertModelName(name: string): void {
  if (!/^[a-z][a-z0-9_-]{0,62}$/.test(name))
    throw new ValidationError(
      `model name ${JSON.stringify(name)} must be lowercase letters, digits, _ or - (max 63), starting with a letter.`,
      {
        location: 'model',
      },
    );
}

/**
 * Registers a model version: the ONNX artifact and a metadata file go to the object store first
 * (under a key derived from the idempotency key), then one transaction assigns the next version and
 * inserts the row. A retry with the same key returns the existing version; a crash between the two
 * leaves only an unreferenced object, never a version without its artifact.
 */
export async function registerModelVersion(
  deps: RegistryDeps,
  request: RegisterModelRequest,
): Promise<ModelVersionInfo> {
  assertModelName(request.model);
  if (request.onnx.length === 0)
    throw new ValidationError(`model ${request.model}: the ONNX artifact is empty.`);
  const existing = await findByKey(deps.db, request.model, request.idempotencyKey);
  if (existing) return existing;
  const slot = createHash('sha256').update(request.idempotencyKey).digest('hex').slice(0, 16);
  const artifactKey = joinKey('models', request.model, slot, 'model.onnx');
  await deps.store.put(artifactKey, Buffer.from(request.onnx), { contentType: 'application/octet-stream' });
  for (const [file, body] of Object.entries(request.attachments ?? {})) {
    if (!/^[a-z0-9][a-z0-9_.-]{0,62}$/.test(file) || file === 'model.onnx' || file === 'metadata.json')
      throw new ValidationError(`attachment name ${JSON.stringify(file)} is not a plain file name.`);
    await deps.store.put(joinKey('models', request.model, slot, file), Buffer.from(body), {
      contentType: 'application/octet-stream',
    });
  }
  await deps.store.put(
    joinKey('models', request.model, slot, 'metadata.json'),
    Buffer.from(
      JSON.stringify(
        {
          signature: request.signature,
          metrics: request.metrics ?? {},
          params: request.params ?? {},
          lineage: request.lineage ?? {},
          trainer: request.trainer,
          attachments: Object.keys(request.attachments ?? {}),
        },
        null,
        2,
      ),
    ),
    { contentType: 'application/json' },
  );
  const id = await deps.db.transaction(async (tx) => {
    await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtext(${`model:${request.model}`}))`);
    const [raced] = await tx
      .select({ id: tables.modelVersions.id })
      .from(tables.modelVersions)
      .innerJoin(tables.models, eq(tables.models.id, tables.modelVersions.modelId))
      .where(
        and(
          eq(tables.models.name, request.model),
          eq(tables.modelVersions.idempotencyKey, request.idempotencyKey),
        ),
      );
    if (raced) return raced.id;
    await tx.insert(tables.models).values({ name: request.model }).onConflictDoNothing();
    const [model] = await tx.select().from(tables.models).where(eq(tables.models.name, request.model));
    const [latest] = await tx
      .select({ v: tables.modelVersions.version })
      .from(tables.modelVersions)
      .where(eq(tables.modelVersions.modelId, model!.id))
      .orderBy(desc(tables.modelVersions.version))
      .limit(1);
    const lineage = request.lineage ?? {};
    const [row] = await tx
      .insert(tables.modelVersions)
      .values({
        modelId: model!.id,
        version: (latest?.v ?? 0) + 1,
        state: request.state ?? 'registered',
        trainer: request.trainer,
        artifactKey,
        signature: request.signature,
        inputExample: request.inputExample ?? null,
        metrics: request.metrics ?? {},
        params: {
          ...(request.params ?? {}),
          ...(lineage.workflowId
            ? { _workflow: { id: lineage.workflowId, runId: lineage.workflowRunId ?? null } }
            : {}),
        },
        tags: request.tags ?? {},
        description: request.description ?? '',
        featureViewId: lineage.featureViewId ?? null,
        trainingDatasetId: lineage.trainingDatasetId ?? null,
        trainingRunId: lineage.trainingRunId ?? null,
        codeVersion: lineage.codeVersion ?? null,
        referenceProfile: request.referenceProfile ?? null,
        provenance: lineage.provenance ?? null,
        idempotencyKey: request.idempotencyKey,
      })
      .returning({ id: tables.modelVersions.id });
    return row!.id;
  });
  return getModelVersionById(deps.db, id);
}

/** The version a registration with this idempotency key made, if any. */
export async function findModelVersionByKey(
  db: Database,
  model: string,
  key: string,
): Promise<ModelVersionInfo | undefined> {
  return findByKey(db, model, key);
}

async function findByKey(db: Database, model: string, key: string): Promise<ModelVersionInfo | undefined> {
  const [row] = await db
    .select({ id: tables.modelVersions.id })
    .from(tables.modelVersions)
    .innerJoin(tables.models, eq(tables.models.id, tables.modelVersions.modelId))
    .where(and(eq(tables.models.name, model), eq(tables.modelVersions.idempotencyKey, key)));
  return row ? getModelVersionById(db, row.id) : undefined;
}

/** A model version by id, with lineage and aliases. */
export async function getModelVersionById(db: Database, id: number): Promise<ModelVersionInfo> {
  const [row] = await db
    .select({
      v: tables.modelVersions,
      model: tables.models.name,
      fv: tables.featureViews,
      td: tables.trainingDatasets,
    })
    .from(tables.modelVersions)
    .innerJoin(tables.models, eq(tables.models.id, tables.modelVersions.modelId))
    .leftJoin(tables.featureViews, eq(tables.featureViews.id, tables.modelVersions.featureViewId))
    .leftJoin(tables.trainingDatasets, eq(tables.trainingDatasets.id, tables.modelVersions.trainingDatasetId))
    .where(eq(tables.modelVersions.id, id));
  if (!row) throw new ModelNotFoundError(`model version #${id}`);
  const aliases = await db
    .select({ alias: tables.modelAliases.alias })
    .from(tables.modelAliases)
    .where(eq(tables.modelAliases.modelVersionId, id))
    .orderBy(asc(tables.modelAliases.alias));
  const v = row.v;
  const { _workflow: workflow, ...params } = v.params as Record<string, unknown> & {
    _workflow?: { id: string; runId: string | null };
  };
  return {
    id: v.id,
    model: row.model,
    version: v.version,
    state: v.state,
    trainer: v.trainer,
    artifactKey: v.artifactKey,
    signature: v.signature as ModelSignature,
    inputExample: v.inputExample,
    metrics: v.metrics as Record<string, number>,
    params,
    tags: v.tags as Record<string, string>,
    description: v.description,
    aliases: aliases.map((a) => a.alias),
    lineage: {
      featureView: row.fv ? { id: row.fv.id, name: row.fv.name, version: row.fv.version } : null,
      trainingDataset: row.td
        ? {
            id: row.td.id,
            version: row.td.version,
            featureGroupCommits: row.td.featureGroupCommits as Record<string, number>,
          }
        : null,
      trainingRunId: v.trainingRunId,
      workflowId: workflow?.id ?? null,
      workflowRunId: workflow?.runId ?? null,
      codeVersion: v.codeVersion,
      provenance: (v.provenance as Record<string, unknown> | null) ?? null,
    },
    createdAt: v.createdAt,
  };
}

/**
 * A model version by number, by alias (`champion`), or the latest registered one. Errors name
 * what exists.
 */
export async function getModelVersion(
  db: Database,
  model: string,
  ref?: number | string,
): Promise<ModelVersionInfo> {
  const [m] = await db.select().from(tables.models).where(eq(tables.models.name, model));
  if (!m) throw new ModelNotFoundError(`model ${model}`);
  if (typeof ref === 'string') {
    const [alias] = await db
      .select()
      .from(tables.modelAliases)
      .where(and(eq(tables.modelAliases.modelId, m.id), eq(tables.modelAliases.alias, ref)));
    if (!alias) throw new ModelNotFoundError(`alias ${ref} of model ${model}`);
    return getModelVersionById(db, alias.modelVersionId);
  }
  const rows = await db
    .select({
      id: tables.modelVersions.id,
      version: tables.modelVersions.version,
      state: tables.modelVersions.state,
    })
    .from(tables.modelVersions)
    .where(eq(tables.modelVersions.modelId, m.id))
    .orderBy(desc(tables.modelVersions.version));
  const row =
    ref === undefined ? rows.find((r) => r.state === 'registered') : rows.find((r) => r.version === ref);
  if (!row) throw new ModelNotFoundError(`model ${model} version ${ref ?? '(latest registered)'}`);
  return getModelVersionById(db, row.id);
}

/** Every model with its version count, latest version and aliases. */
export async function listModels(
  db: Database,
): Promise<{ name: string; versions: number; latest: number | null; aliases: Record<string, number> }[]> {
  const models = await db.select().from(tables.models).orderBy(asc(tables.models.name));
  const out = [];
  for (const m of models) {
    const versions = await db
      .select({ version: tables.modelVersions.version })
      .from(tables.modelVersions)
      .where(eq(tables.modelVersions.modelId, m.id))
      .orderBy(desc(tables.modelVersions.version));
    const aliases = await db
      .select({ alias: tables.modelAliases.alias, version: tables.modelVersions.version })
      .from(tables.modelAliases)
      .innerJoin(tables.modelVersions, eq(tables.modelVersions.id, tables.modelAliases.modelVersionId))
      .where(eq(tables.modelAliases.modelId, m.id));
    out.push({
      name: m.name,
      versions: versions.length,
      latest: versions[0]?.version ?? null,
      aliases: Object.fromEntries(aliases.map((a) => [a.alias, a.version])),
    });
  }
  return out;
}

/** Every version of a model, newest first. */
export async function listModelVersions(db: Database, model: string): Promise<ModelVersionInfo[]> {
  const [m] = await db.select().from(tables.models).where(eq(tables.models.name, model));
  if (!m) throw new ModelNotFoundError(`model ${model}`);
  const rows = await db
    .select({ id: tables.modelVersions.id })
    .from(tables.modelVersions)
    .where(eq(tables.modelVersions.modelId, m.id))
    .orderBy(desc(tables.modelVersions.version));
  return Promise.all(rows.map((r) => getModelVersionById(db, r.id)));
}

/**
 * Points `alias` of `model` at `version` and appends the move (from, to, by, run) to the alias
 * history, in one transaction. Rejected versions cannot hold an alias.
 */
export async function setModelAlias(
  db: Database,
  model: string,
  alias: string,
  version: number,
  by: { changedBy?: string; pipelineRunId?: number } = {},
): Promise<{ from: number | null; to: number }> {
  if (!ALIAS.test(alias))
    throw new ValidationError(`alias ${JSON.stringify(alias)} must be lowercase letters, digits, _ or -.`);
  const target = await getModelVersion(db, model, version);
  if (target.state === 'rejected')
    throw new ValidationError(
      `model ${model} v${version} was rejected by a validation gate; it cannot become ${alias}.`,
    );
  return db.transaction(async (tx) => {
    const [m] = await tx.select().from(tables.models).where(eq(tables.models.name, model)).for('update');
    const [current] = await tx
      .select({ id: tables.modelAliases.modelVersionId, version: tables.modelVersions.version })
      .from(tables.modelAliases)
      .innerJoin(tables.modelVersions, eq(tables.modelVersions.id, tables.modelAliases.modelVersionId))
      .where(and(eq(tables.modelAliases.modelId, m!.id), eq(tables.modelAliases.alias, alias)));
    if (current?.id === target.id) return { from: current.version, to: version };
    await tx
      .insert(tables.modelAliases)
      .values({ modelId: m!.id, alias, modelVersionId: target.id })
      .onConflictDoUpdate({
        target: [tables.modelAliases.modelId, tables.modelAliases.alias],
        set: { modelVersionId: target.id, updatedAt: new Date() },
      });
    await tx.insert(tables.modelAliasHistory).values({
      modelId: m!.id,
      alias,
      fromModelVersionId: current?.id ?? null,
      toModelVersionId: target.id,
      pipelineRunId: by.pipelineRunId ?? null,
      changedBy: by.changedBy ?? '',
    });
    return { from: current?.version ?? null, to: version };
  });
}

/** The alias history of a model (optionally one alias), oldest first. */
export async function aliasHistory(
  db: Database,
  model: string,
  alias?: string,
): Promise<{ alias: string; from: number | null; to: number | null; changedBy: string; changedAt: Date }[]> {
  const [m] = await db.select().from(tables.models).where(eq(tables.models.name, model));
  if (!m) throw new ModelNotFoundError(`model ${model}`);
  const h = tables.modelAliasHistory;
  const rows = await db
    .select()
    .from(h)
    .where(alias ? and(eq(h.modelId, m.id), eq(h.alias, alias)) : eq(h.modelId, m.id))
    .orderBy(asc(h.changedAt), asc(h.id));
  const versions = new Map(
    (
      await db
        .select({ id: tables.modelVersions.id, v: tables.modelVersions.version })
        .from(tables.modelVersions)
        .where(eq(tables.modelVersions.modelId, m.id))
    ).map((r) => [r.id, r.v]),
  );
  return rows.map((r) => ({
    alias: r.alias,
    from: r.fromModelVersionId === null ? null : (versions.get(r.fromModelVersionId) ?? null),
    to: r.toModelVersionId === null ? null : (versions.get(r.toModelVersionId) ?? null),
    changedBy: r.changedBy,
    changedAt: r.changedAt,
  }));
}

/** The registered version with the best value of `metric` (MLflow's search + order by). */
export async function getBestModel(
  db: Database,
  model: string,
  metric: string,
  direction: 'max' | 'min',
): Promise<ModelVersionInfo> {
  assertIdentifier(metric, 'metric');
  const versions = (await listModelVersions(db, model)).filter(
    (v) => v.state === 'registered' && typeof v.metrics[metric] === 'number',
  );
  if (versions.length === 0)
    throw new ModelNotFoundError(`a registered version of ${model} with metric ${metric}`);
  return versions.reduce((best, v) =>
    direction === 'max'
      ? v.metrics[metric]! > best.metrics[metric]!
        ? v
        : best
      : v.metrics[metric]! < best.metrics[metric]!
        ? v
        : best,
  );
}

/** The ONNX bytes of a model version. */
export async function downloadModel(
  deps: RegistryDeps,
  model: string,
  ref?: number | string,
): Promise<{ info: ModelVersionInfo; onnx: Uint8Array }> {
  const info = await getModelVersion(deps.db, model, ref);
  const body = await deps.store.get(info.artifactKey);
  return { info, onnx: new Uint8Array(body) };
}

/**
 * Deletes a model version (row, aliases pointing at it, artifact). Refused while a deployment binds
 * it or an alias points at it (move the alias first).
 */
export async function deleteModelVersion(deps: RegistryDeps, model: string, version: number): Promise<void> {
  const info = await getModelVersion(deps.db, model, version);
  const deployed = await deps.db
    .select({ name: tables.deployments.name })
    .from(tables.deploymentBindings)
    .innerJoin(
      tables.deploymentVersions,
      eq(tables.deploymentVersions.id, tables.deploymentBindings.deploymentVersionId),
    )
    .innerJoin(tables.deployments, eq(tables.deployments.id, tables.deploymentVersions.deploymentId))
    .where(eq(tables.deploymentBindings.modelVersionId, info.id));
  if (deployed.length)
    throw new ValidationError(
      `model ${model} v${version} is bound by deployment(s) ${[...new Set(deployed.map((d) => d.name))].join(', ')}; upgrade or delete those first.`,
    );
  if (info.aliases.length)
    throw new ValidationError(
      `model ${model} v${version} holds alias(es) ${info.aliases.join(', ')}; move them first (fti models alias set).`,
    );
  await deps.db.transaction(async (tx) => {
    // The history keeps every move; references to the deleted version become null ("deleted").
    await tx
      .update(tables.modelAliasHistory)
      .set({ fromModelVersionId: null })
      .where(eq(tables.modelAliasHistory.fromModelVersionId, info.id));
    await tx
      .update(tables.modelAliasHistory)
      .set({ toModelVersionId: null })
      .where(eq(tables.modelAliasHistory.toModelVersionId, info.id));
    await tx.delete(tables.modelVersions).where(eq(tables.modelVersions.id, info.id));
  });
  const attachments = Array.isArray(info.lineage.provenance?.attachments)
    ? (info.lineage.provenance.attachments as unknown[]).filter((f): f is string => typeof f === 'string')
    : [];
  await deps.store.delete([
    info.artifactKey,
    info.artifactKey.replace(/model\.onnx$/, 'metadata.json'),
    ...attachments.map((f) => info.artifactKey.replace(/model\.onnx$/, f)),
  ]);
}
