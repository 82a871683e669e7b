import { chooseRollbackTarget } from './rollback-target';
import { asc, desc, eq, sql } from 'drizzle-orm';
import type { Database } from '../db';
import { tables } from '../db';
import { FtiError, ValidationError } from '../errors';
import { getFeatureViewById, getTrainingDataset, type FittedTransformations } from '../featurestore';
import { getModelVersion, setModelAlias, type ModelVersionInfo } from '../registry';

/** Postgres channel on which deployment changes are announced (payload: deployment name). */
export const DEPLOYMENT_CHANNEL = 'fti_deployments';

/** A variant to bind: a model version (number or alias) with its traffic weight. */
export interface VariantRequest {
  readonly variant: string;
  readonly model: string;
  /** Version number or alias (`champion`). */
  readonly version: number | string;
  /** Share of traffic 0–100 (the non-shadow weights add to 100). */
  readonly weight: number;
  /** Scores every request, answer logged only. */
  readonly shadow?: boolean;
}

/** A resolved binding: model version + feature view + training dataset moving together. */
export interface Binding {
  readonly variant: string;
  readonly weight: number;
  readonly shadow: boolean;
  readonly model: {
    readonly name: string;
    readonly version: number;
    readonly id: number;
    readonly artifactKey: string;
  };
  readonly featureView: { readonly name: string; readonly version: number; readonly id: number };
  readonly trainingDataset: { readonly version: number; readonly id: number };
}

/** A deployment version: what was bound, when, why. */
export interface DeploymentVersionInfo {
  readonly id: number;
  readonly version: number;
  readonly action: string;
  readonly missingFeaturePolicy: 'error' | 'null';
  readonly bindings: readonly Binding[];
  /** Per-action details, e.g. a rollback's `rolledBackTo` / `rolledBackFrom` versions. */
  readonly settings: Readonly<Record<string, unknown>>;
  readonly createdBy: string;
  readonly createdAt: Date;
  readonly pipelineRunId: number | null;
}

/** A deployment with its current version. */
export interface DeploymentInfo {
  readonly id: number;
  readonly name: string;
  readonly description: string;
  readonly current: DeploymentVersionInfo;
}

/** A deployment that does not exist. */
export class DeploymentNotFoundError extends FtiError {
  constructor(name: string) {
    super(`deployment ${name} does not exist; create it with \`fti deploy create\`.`, { retryable: false });
  }
}

const NAME = /^[a-z][a-z0-9_-]{0,62}$/;

/**
 * Resolves a variant request to a binding and checks that the versions fit together: the model is
 * registered (not rejected), was trained from a dataset of a feature view, and its input signature
 * equals that dataset's transformed features.
 */
export async function resolveBinding(db: Database, request: VariantRequest): Promise<Binding> {
  const model = await getModelVersion(db, request.model, request.version);
  return bindingOf(db, model, request);
}

async function bindingOf(
  db: Database,
  model: ModelVersionInfo,
  request: Omit<VariantRequest, 'model' | 'version'>,
): Promise<Binding> {
  const label = `${model.model} v${model.version}`;
  if (model.state !== 'registered')
    throw new ValidationError(`${label} was rejected by a validation gate; it cannot be deployed.`);
  const fv = model.lineage.featureView;
  const td = model.lineage.trainingDataset;
  if (!fv || !td)
    throw new ValidationError(
      `${label} has no feature view / training dataset lineage; register it through a training pipeline to deploy it.`,
    );
  const view = await getFeatureViewById(db, fv.id);
  const { dataset } = await getTrainingDataset(
    { db },
    { name: view.view.name, version: view.view.version },
    td.version,
  );
  const expected = (dataset.transformation as FittedTransformations).outputs;
  const inputs = model.signature.inputs[0]?.featureNames ?? [];
  if (expected.join('\u0000') !== inputs.join('\u0000'))
    throw new ValidationError(
      `${label} takes [${inputs.join(', ')}] but ${fv.name} v${fv.version} dataset #${td.version} produces [${expected.join(', ')}]; the binding is inconsistent.`,
    );
  if (!NAME.test(request.variant))
    throw new ValidationError(
      `variant name ${JSON.stringify(request.variant)} must be a lowercase identifier.`,
    );
  return {
    variant: request.variant,
    weight: request.weight,
    shadow: request.shadow ?? false,
    model: { name: model.model, version: model.version, id: model.id, artifactKey: model.artifactKey },
    featureView: { name: fv.name, version: fv.version, id: fv.id },
    trainingDataset: { version: td.version, id: td.id },
  };
}

function checkWeights(bindings: readonly Binding[]): void {
  const serving = bindings.filter((b) => !b.shadow);
  if (serving.length === 0) throw new ValidationError('a deployment needs at least one non-shadow variant.');
  const total = serving.reduce((a, b) => a + b.weight, 0);
  if (total !== 100)
    throw new ValidationError(
      `the weights of the non-shadow variants add to ${total}; they must add to 100.`,
    );
  if (new Set(bindings.map((b) => b.variant)).size !== bindings.length)
    throw new ValidationError('variant names must be unique.');
  for (const b of bindings)
    if (b.weight < 0 || b.weight > 100 || !Number.isInteger(b.weight))
      throw new ValidationError(`variant ${b.variant}: weight must be an integer 0–100.`);
}

/** Appends a deployment version, makes it current and announces the change, in one transaction. */
async function appendVersion(
  db: Database,
  deploymentId: number,
  name: string,
  action: string,
  bindings: readonly Binding[],
  options: {
    missing?: 'error' | 'null';
    createdBy?: string;
    pipelineRunId?: number;
    settings?: Record<string, unknown>;
  },
): Promise<DeploymentInfo> {
  checkWeights(bindings);
  await db.transaction(async (tx) => {
    const [d] = await tx
      .select()
      .from(tables.deployments)
      .where(eq(tables.deployments.id, deploymentId))
      .for('update');
    const [latest] = await tx
      .select({
        v: tables.deploymentVersions.version,
        missing: tables.deploymentVersions.missingFeaturePolicy,
      })
      .from(tables.deploymentVersions)
      .where(eq(tables.deploymentVersions.deploymentId, d!.id))
      .orderBy(desc(tables.deploymentVersions.version))
      .limit(1);
    const [dv] = await tx
      .insert(tables.deploymentVersions)
      .values({
        deploymentId: d!.id,
        version: (latest?.v ?? 0) + 1,
        action,
        missingFeaturePolicy: options.missing ?? latest?.missing ?? 'error',
        settings: options.settings ?? {},
        pipelineRunId: options.pipelineRunId ?? null,
        createdBy: options.createdBy ?? '',
      })
      .returning();
    await tx.insert(tables.deploymentBindings).values(
      bindings.map((b) => ({
        deploymentVersionId: dv!.id,
        variant: b.variant,
        modelVersionId: b.model.id,
        featureViewId: b.featureView.id,
        trainingDatasetId: b.trainingDataset.id,
        weight: b.weight,
        shadow: b.shadow,
      })),
    );
    await tx
      .update(tables.deployments)
      .set({ currentVersionId: dv!.id })
      .where(eq(tables.deployments.id, d!.id));
    await tx.execute(sql`SELECT pg_notify(${DEPLOYMENT_CHANNEL}, ${name})`);
  });
  return getDeployment(db, name);
}

/**
 * Creates a deployment bound to one model version (by number or alias) as variant `main`, or to
 * several variants. Refused if the name exists (use upgrade).
 */
export async function createDeployment(
  db: Database,
  request: {
    name: string;
    description?: string;
    variants: readonly VariantRequest[];
    missing?: 'error' | 'null';
    createdBy?: string;
    pipelineRunId?: number;
  },
): Promise<DeploymentInfo> {
  if (!NAME.test(request.name))
    throw new ValidationError(
      `deployment name ${JSON.stringify(request.name)} must be lowercase letters, digits, _ or -, starting with a letter.`,
    );
  const bindings = await Promise.all(request.variants.map((v) => resolveBinding(db, v)));
  checkWeights(bindings);
  const [existing] = await db
    .select()
    .from(tables.deployments)
    .where(eq(tables.deployments.name, request.name));
  if (existing)
    throw new ValidationError(
      `deployment ${request.name} already exists; use \`fti deploy upgrade ${request.name}\`.`,
    );
  const [row] = await db
    .insert(tables.deployments)
    .values({ name: request.name, description: request.description ?? '' })
    .returning();
  return appendVersion(db, row!.id, request.name, 'create', bindings, request);
}

async function deploymentRow(db: Database, name: string) {
  const [row] = await db.select().from(tables.deployments).where(eq(tables.deployments.name, name));
  if (!row) throw new DeploymentNotFoundError(name);
  return row;
}

/** Replaces the bindings (upgrade to a new model version, or a new A/B split) as a new version. */
export async function updateDeployment(
  db: Database,
  name: string,
  action: 'upgrade' | 'split',
  variants: readonly VariantRequest[],
  options: {
    missing?: 'error' | 'null';
    createdBy?: string;
    pipelineRunId?: number;
    /** Why (e.g. a retraining decision and its evidence), kept in the deployment history. */
    settings?: Record<string, unknown>;
  } = {},
): Promise<DeploymentInfo> {
  const row = await deploymentRow(db, name);
  const bindings = await Promise.all(variants.map((v) => resolveBinding(db, v)));
  return appendVersion(db, row.id, name, action, bindings, options);
}

/**
 * The version a rollback of `name` would return to: `to`, or the previous good version (see
 * {@link chooseRollbackTarget}). The smoke test and the switch both use it.
 */
export async function rollbackTarget(
  db: Database,
  name: string,
  to?: number,
): Promise<DeploymentVersionInfo> {
  const row = await deploymentRow(db, name);
  const history = await deploymentHistory(db, name);
  const current = history.find((v) => v.id === row.currentVersionId) ?? history.at(-1);
  if (!current) throw new DeploymentNotFoundError(name);
  return chooseRollbackTarget(name, history, current.version, to);
}

/** Returns to the bindings of {@link rollbackTarget} (`to`, or the previous good version) as a new version. */
export async function rollbackDeployment(
  db: Database,
  name: string,
  options: { to?: number; createdBy?: string; pipelineRunId?: number } = {},
): Promise<DeploymentInfo> {
  const row = await deploymentRow(db, name);
  const { current } = await getDeployment(db, name);
  const target = await rollbackTarget(db, name, options.to);
  const { to: _to, ...rest } = options;
  const aliasRestored = await restoreChampionAlias(db, current, options.createdBy);
  return appendVersion(db, row.id, name, 'rollback', target.bindings, {
    ...rest,
    missing: target.missingFeaturePolicy,
    settings: {
      rolledBackTo: target.version,
      rolledBackFrom: current.version,
      ...(aliasRestored ? { aliasRestored } : {}),
    },
  });
}

/**
 * Undoing a promotion by a retraining loop also undoes its alias move: when the version rolled back
 * from recorded where the model's alias pointed before (`championAliasBefore`), and the alias still
 * names a version that version serves, it points back. An alias moved since by someone else stays.
 */
async function restoreChampionAlias(
  db: Database,
  from: DeploymentVersionInfo,
  changedBy = 'rollback',
): Promise<{ model: string; alias: string; from: number; to: number } | null> {
  const before = from.settings.championAliasBefore as
    { model?: unknown; alias?: unknown; version?: unknown } | undefined;
  if (!before || typeof before.model !== 'string' || typeof before.alias !== 'string') return null;
  if (typeof before.version !== 'number') return null;
  const now = await getModelVersion(db, before.model, before.alias).catch(() => undefined);
  if (!now || now.version === before.version) return null;
  const served = from.bindings.some((b) => b.model.name === before.model && b.model.version === now.version);
  if (!served) return null;
  await setModelAlias(db, before.model, before.alias, before.version, {
    changedBy: `${changedBy} (deployment rollback)`,
  });
  return { model: before.model, alias: before.alias, from: now.version, to: before.version };
}

/** The deployment with its current version and bindings (servers poll this: it reads one version). */
export async function getDeployment(db: Database, name: string): Promise<DeploymentInfo> {
  const row = await deploymentRow(db, name);
  const [current] = row.currentVersionId
    ? await db
        .select()
        .from(tables.deploymentVersions)
        .where(eq(tables.deploymentVersions.id, row.currentVersionId))
    : await db
        .select()
        .from(tables.deploymentVersions)
        .where(eq(tables.deploymentVersions.deploymentId, row.id))
        .orderBy(desc(tables.deploymentVersions.version))
        .limit(1);
  if (!current) throw new DeploymentNotFoundError(name);
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    current: await versionInfo(db, current),
  };
}

/** Bindings (with model, view and dataset names) of deployment versions. */
async function versionInfo(
  db: Database,
  v: typeof tables.deploymentVersions.$inferSelect,
): Promise<DeploymentVersionInfo> {
  const bindings = await db
    .select({
      b: tables.deploymentBindings,
      model: tables.models.name,
      modelVersion: tables.modelVersions.version,
      artifactKey: tables.modelVersions.artifactKey,
      fvName: tables.featureViews.name,
      fvVersion: tables.featureViews.version,
      tdVersion: tables.trainingDatasets.version,
    })
    .from(tables.deploymentBindings)
    .innerJoin(tables.modelVersions, eq(tables.modelVersions.id, tables.deploymentBindings.modelVersionId))
    .innerJoin(tables.models, eq(tables.models.id, tables.modelVersions.modelId))
    .innerJoin(tables.featureViews, eq(tables.featureViews.id, tables.deploymentBindings.featureViewId))
    .innerJoin(
      tables.trainingDatasets,
      eq(tables.trainingDatasets.id, tables.deploymentBindings.trainingDatasetId),
    )
    .where(eq(tables.deploymentBindings.deploymentVersionId, v.id))
    .orderBy(asc(tables.deploymentBindings.variant));
  return {
    id: v.id,
    version: v.version,
    action: v.action,
    settings: (v.settings ?? {}) as Record<string, unknown>,
    missingFeaturePolicy: v.missingFeaturePolicy === 'null' ? 'null' : 'error',
    createdBy: v.createdBy,
    createdAt: v.createdAt,
    pipelineRunId: v.pipelineRunId,
    bindings: bindings.map((r) => ({
      variant: r.b.variant,
      weight: r.b.weight,
      shadow: r.b.shadow,
      model: { name: r.model, version: r.modelVersion, id: r.b.modelVersionId, artifactKey: r.artifactKey },
      featureView: { name: r.fvName, version: r.fvVersion, id: r.b.featureViewId },
      trainingDataset: { version: r.tdVersion, id: r.b.trainingDatasetId },
    })),
  };
}

/** Every version of a deployment, oldest first. */
export async function deploymentHistory(db: Database, name: string): Promise<DeploymentVersionInfo[]> {
  const row = await deploymentRow(db, name);
  const versions = await db
    .select()
    .from(tables.deploymentVersions)
    .where(eq(tables.deploymentVersions.deploymentId, row.id))
    .orderBy(asc(tables.deploymentVersions.version));
  return Promise.all(versions.map((v) => versionInfo(db, v)));
}

/** Every deployment with its current version. */
export async function listDeployments(db: Database): Promise<DeploymentInfo[]> {
  const rows = await db.select().from(tables.deployments).orderBy(asc(tables.deployments.name));
  return Promise.all(rows.map((r) => getDeployment(db, r.name)));
}
