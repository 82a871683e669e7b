/**
 * Closed-loop retraining policies and their decisions, and the deployment changes a loop makes.
 */
import { and, asc, desc, eq, inArray } from 'drizzle-orm';
import { z } from 'zod';
import { tables, type Database } from '../db';
import { FtiError, ValidationError } from '../errors';
import { parseTrainingPipelineSpec, type TrainingPipelineSpec } from '../ml/training-pipeline';
import { getDeployment, type VariantRequest } from '../serving/deployments';

/** Raised for an unknown policy. */
export class RetrainingPolicyNotFoundError extends FtiError {
  constructor(name: string) {
    super(`retraining policy ${name} does not exist; list them with \`fti retrain list\`.`, {
      retryable: false,
    });
  }
}

const policySchema = z
  .object({
    name: z
      .string()
      .regex(/^[a-z][a-z0-9_-]{0,62}$/, 'must start with a lowercase letter and hold only a-z, 0-9, _ and -'),
    deployment: z.string().min(1),
    rules: z.array(z.string().min(1)).min(1, 'name at least one alert rule that triggers retraining'),
    training: z.record(z.string(), z.unknown()),
    trainingWindowSeconds: z.number().int().positive().nullable().default(null),
    mode: z.enum(['shadow', 'ab']).default('shadow'),
    weight: z.number().int().min(1).max(50).default(10),
    metric: z.string().min(1).default('roc_auc'),
    minLabels: z.number().int().min(10).default(200),
    confidence: z.number().gt(0.5).lt(1).default(0.95),
    checkEverySeconds: z.number().int().min(1).default(3600),
    maxWaitSeconds: z.number().int().min(1).default(604_800),
  })
  .strict();

/** What `saveRetrainingPolicy` takes. */
export type RetrainingPolicySpec = z.input<typeof policySchema>;
/** A stored policy. */
export type RetrainingPolicy = z.output<typeof policySchema> & { readonly training: TrainingPipelineSpec };

/**
 * Creates or replaces a policy after checking it: the deployment and rules exist, the training
 * spec parses, and its model is the one the deployment serves (a loop promotes versions of it).
 */
export async function saveRetrainingPolicy(
  db: Database,
  spec: RetrainingPolicySpec,
): Promise<RetrainingPolicy> {
  const parsed = policySchema.safeParse(spec);
  if (!parsed.success)
    throw new ValidationError(
      `retraining policy is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'policy'}: ${i.message}`).join('; ')}`,
    );
  const p = parsed.data;
  const training = parseTrainingPipelineSpec(p.training as TrainingPipelineSpec);
  if (training.alias)
    throw new ValidationError(
      `retraining policy ${p.name}: its training spec moves alias "${training.alias}" on registration, before the live comparison; remove "alias" from the spec (the loop moves "champion" itself, on promotion only).`,
      { location: 'training.alias' },
    );
  const knownMetrics =
    training.task === 'regression'
      ? ['mae', 'rmse', 'r2']
      : ['roc_auc', 'pr_auc', 'accuracy', 'precision', 'recall', 'f1', 'log_loss'];
  if (training.task !== undefined && !knownMetrics.includes(p.metric))
    throw new ValidationError(
      `retraining policy ${p.name}: metric "${p.metric}" is not one of ${knownMetrics.join(', ')} (task ${training.task}).`,
      { location: 'metric' },
    );
  if (
    !['roc_auc', 'pr_auc', 'accuracy', 'precision', 'recall', 'f1', 'log_loss', 'mae', 'rmse', 'r2'].includes(
      p.metric,
    )
  )
    throw new ValidationError(
      `retraining policy ${p.name}: metric "${p.metric}" is unknown; use roc_auc, pr_auc, accuracy, precision, recall, f1, log_loss (classification) or mae, rmse, r2 (regression).`,
      { location: 'metric' },
    );
  const deployment = await getDeployment(db, p.deployment);
  const served = deployment.current.bindings.map((b) => b.model.name);
  if (!served.includes(training.model))
    throw new ValidationError(
      `retraining policy ${p.name}: its training pipeline registers model ${training.model}, but deployment ${p.deployment} serves ${[...new Set(served)].join(', ')}.`,
      { location: 'training.model' },
    );
  const known = await db
    .select({ name: tables.alertRules.name })
    .from(tables.alertRules)
    .where(inArray(tables.alertRules.name, p.rules));
  const missing = p.rules.filter((r) => !known.some((k) => k.name === r));
  if (missing.length)
    throw new ValidationError(
      `retraining policy ${p.name}: no alert rule ${missing.join(', ')}; create it with \`fti alerts rule create\`.`,
      {
        location: 'rules',
      },
    );
  const values = { ...p, training: p.training };
  await db
    .insert(tables.retrainingPolicies)
    .values(values)
    .onConflictDoUpdate({ target: tables.retrainingPolicies.name, set: values });
  return p as RetrainingPolicy;
}

type PolicyRow = typeof tables.retrainingPolicies.$inferSelect;
const policyOf = (row: PolicyRow): RetrainingPolicy => ({
  name: row.name,
  deployment: row.deployment,
  rules: row.rules,
  training: row.training as TrainingPipelineSpec,
  trainingWindowSeconds: row.trainingWindowSeconds,
  mode: row.mode as 'shadow' | 'ab',
  weight: row.weight,
  metric: row.metric,
  minLabels: row.minLabels,
  confidence: row.confidence,
  checkEverySeconds: row.checkEverySeconds,
  maxWaitSeconds: row.maxWaitSeconds,
});

/** The policy with this name, or {@link RetrainingPolicyNotFoundError}. */
export async function getRetrainingPolicy(db: Database, name: string): Promise<RetrainingPolicy> {
  const [row] = await db
    .select()
    .from(tables.retrainingPolicies)
    .where(eq(tables.retrainingPolicies.name, name));
  if (!row) throw new RetrainingPolicyNotFoundError(name);
  return policyOf(row);
}

/** All policies, by name. */
export async function listRetrainingPolicies(db: Database): Promise<RetrainingPolicy[]> {
  return (await db.select().from(tables.retrainingPolicies).orderBy(asc(tables.retrainingPolicies.name))).map(
    policyOf,
  );
}

/** Deletes a policy (its decisions stay, as history). */
export async function deleteRetrainingPolicy(db: Database, name: string): Promise<void> {
  const deleted = await db
    .delete(tables.retrainingPolicies)
    .where(eq(tables.retrainingPolicies.name, name))
    .returning();
  if (deleted.length === 0) throw new RetrainingPolicyNotFoundError(name);
}

/** The policies triggered by these alerts (through their rules). */
export async function policiesForAlerts(
  db: Database,
  alertIds: readonly string[],
): Promise<{ policy: string; alertId: string; rule: string }[]> {
  if (alertIds.length === 0) return [];
  const alerts = await db
    .select({ id: tables.alerts.id, rule: tables.alertRules.name })
    .from(tables.alerts)
    .innerJoin(tables.alertRules, eq(tables.alertRules.id, tables.alerts.ruleId))
    .where(inArray(tables.alerts.id, [...alertIds]));
  const policies = await listRetrainingPolicies(db);
  return alerts.flatMap((a) =>
    policies
      .filter((p) => p.rules.includes(a.rule))
      .map((p) => ({ policy: p.name, alertId: a.id, rule: a.rule })),
  );
}

/** One recorded step of a loop. */
export interface RetrainingDecision {
  readonly policy: string;
  readonly cycle: number;
  readonly decision: string;
  readonly model?: string | null;
  readonly modelVersion?: number | null;
  readonly deploymentVersion?: number | null;
  readonly evidence: Readonly<Record<string, unknown>>;
}

/** Records a step (idempotent per policy, cycle and decision: a retried activity writes it once). */
export async function recordRetrainingDecision(db: Database, d: RetrainingDecision): Promise<void> {
  const [existing] = await db
    .select({ id: tables.retrainingDecisions.id })
    .from(tables.retrainingDecisions)
    .where(
      and(
        eq(tables.retrainingDecisions.policy, d.policy),
        eq(tables.retrainingDecisions.cycle, d.cycle),
        eq(tables.retrainingDecisions.decision, d.decision),
      ),
    );
  if (existing && d.decision !== 'waiting') return;
  await db.insert(tables.retrainingDecisions).values({
    policy: d.policy,
    cycle: d.cycle,
    decision: d.decision,
    model: d.model ?? null,
    modelVersion: d.modelVersion ?? null,
    deploymentVersion: d.deploymentVersion ?? null,
    evidence: JSON.parse(
      JSON.stringify(d.evidence, (_k, v: unknown) =>
        typeof v === 'number' && !Number.isFinite(v) ? null : v,
      ),
    ) as Record<string, unknown>,
  });
}

/** A policy's decisions, newest first. */
export async function retrainingHistory(db: Database, policy: string, limit = 50) {
  return db
    .select()
    .from(tables.retrainingDecisions)
    .where(eq(tables.retrainingDecisions.policy, policy))
    .orderBy(desc(tables.retrainingDecisions.at), desc(tables.retrainingDecisions.id))
    .limit(limit);
}

/** Label tolerance of a comparison when no monitor watches the deployment, as a monitor's default. */
export const DEFAULT_COMPARISON_TOLERANCE_SECONDS = 60;

/**
 * How far a label's event time may be from a logged prediction's for the champion/challenger
 * comparison: as the deployment's monitors join them (`--label-tolerance`), the widest when several
 * differ, so the loop judges on the labelled rows the performance reports count.
 */
export function comparisonToleranceSeconds(
  monitors: readonly { subjectType: string; subject: string; labelToleranceSeconds: number }[],
  deployment: string,
): number {
  const own = monitors.filter((m) => m.subjectType === 'deployment' && m.subject === deployment);
  return own.length
    ? Math.max(...own.map((m) => m.labelToleranceSeconds))
    : DEFAULT_COMPARISON_TOLERANCE_SECONDS;
}

/** The variant name a policy's challengers get. */
export const CHALLENGER_VARIANT = 'challenger';

/**
 * The deployment's variants with the challenger (model version `version`) added: as a shadow, or
 * taking `weight` % from the champion (the largest non-shadow variant). Other variants stay.
 */
export async function withChallenger(
  db: Database,
  policy: RetrainingPolicy,
  model: string,
  version: number,
): Promise<{ champion: string; variants: VariantRequest[] }> {
  const deployment = await getDeployment(db, policy.deployment);
  const kept = deployment.current.bindings.filter((b) => b.variant !== CHALLENGER_VARIANT);
  const champion = [...kept].filter((b) => !b.shadow).sort((a, b) => b.weight - a.weight)[0];
  if (!champion)
    throw new ValidationError(`deployment ${policy.deployment} has no serving variant to challenge.`);
  const variants: VariantRequest[] = kept.map((b) => ({
    variant: b.variant,
    model: b.model.name,
    version: b.model.version,
    weight: policy.mode === 'ab' && b.variant === champion.variant ? b.weight - policy.weight : b.weight,
    shadow: b.shadow,
  }));
  variants.push({
    variant: CHALLENGER_VARIANT,
    model,
    version,
    weight: policy.mode === 'ab' ? policy.weight : 0,
    shadow: policy.mode === 'shadow',
  });
  if (policy.mode === 'ab' && champion.weight <= policy.weight)
    throw new ValidationError(
      `deployment ${policy.deployment}: champion ${champion.variant} has ${champion.weight} % of traffic; an A/B share of ${policy.weight} % needs more.`,
    );
  return { champion: champion.variant, variants };
}

/** The variants after the decision: the challenger replaces the champion (promote) or leaves (reject). */
export async function afterDecision(
  db: Database,
  policy: RetrainingPolicy,
  champion: string,
  promote: boolean,
): Promise<VariantRequest[]> {
  const deployment = await getDeployment(db, policy.deployment);
  const challenger = deployment.current.bindings.find((b) => b.variant === CHALLENGER_VARIANT);
  const others = deployment.current.bindings.filter((b) => b.variant !== CHALLENGER_VARIANT);
  const share = challenger && !challenger.shadow ? challenger.weight : 0;
  return others.map((b) => ({
    variant: b.variant,
    model: promote && b.variant === champion && challenger ? challenger.model.name : b.model.name,
    version: promote && b.variant === champion && challenger ? challenger.model.version : b.model.version,
    weight: b.variant === champion ? b.weight + share : b.weight,
    shadow: b.shadow,
  }));
}
