/**
 * Alert sinks and rules as stored in Postgres, validated on the way in.
 */
import { asc, eq } from 'drizzle-orm';
import { z } from 'zod';
import { tables, type Database } from '../../db';
import { FtiError, ValidationError } from '../../errors';
import { parseWebhookSink, redactUrl, type WebhookSink } from './webhook';

const NAME = /^[a-z][a-z0-9_-]{0,62}$/;
const nameSchema = z
  .string()
  .regex(NAME, 'must start with a lowercase letter and hold only a-z, 0-9, _ and -');

/** Raised for an unknown sink or rule name. */
export class AlertConfigNotFoundError extends FtiError {
  constructor(what: 'sink' | 'rule' | 'alert', name: string) {
    super(
      `alert ${what} ${name} does not exist; list them with \`fti alerts ${what === 'alert' ? 'list' : `${what} list`}\`.`,
      {
        retryable: false,
      },
    );
  }
}

function problems(error: z.ZodError, what: string): ValidationError {
  const list = error.issues.map((i) => `${i.path.join('.') || what}: ${i.message}`);
  return new ValidationError(`${what} is invalid: ${list.join('; ')}`, {
    location: error.issues[0]?.path.join('.'),
  });
}

/** A stored sink (the secret is never returned; `signed` says whether one is set). */
export interface AlertSinkInfo {
  readonly name: string;
  readonly url: string;
  readonly format: 'json' | 'slack';
  readonly signed: boolean;
  readonly headers: readonly string[];
  readonly timeoutMs: number;
}

/** Creates or replaces a webhook sink; the URL, format, headers and secret are validated first. */
export async function saveAlertSink(db: Database, sink: WebhookSink): Promise<AlertSinkInfo> {
  const name = nameSchema.safeParse(sink.name);
  if (!name.success) throw problems(name.error, 'sink name');
  const parsed = parseWebhookSink(sink, `sink ${sink.name}`);
  const values = {
    name: parsed.name,
    url: parsed.url,
    format: parsed.format,
    secret: parsed.secret ?? null,
    headers: parsed.headers ?? {},
    timeoutMs: parsed.timeoutMs,
  };
  await db
    .insert(tables.alertSinks)
    .values(values)
    .onConflictDoUpdate({ target: tables.alertSinks.name, set: values });
  return sinkInfo(values);
}

function sinkInfo(row: {
  name: string;
  url: string;
  format: string;
  secret: string | null;
  headers: unknown;
  timeoutMs: number;
}): AlertSinkInfo {
  return {
    name: row.name,
    url: redactUrl(row.url),
    format: row.format === 'slack' ? 'slack' : 'json',
    signed: row.secret !== null,
    headers: Object.keys((row.headers as Record<string, string>) ?? {}),
    timeoutMs: row.timeoutMs,
  };
}

/** The sink with its secret, for delivery only. */
export async function loadAlertSink(db: Database, name: string): Promise<WebhookSink> {
  const [row] = await db.select().from(tables.alertSinks).where(eq(tables.alertSinks.name, name));
  if (!row) throw new AlertConfigNotFoundError('sink', name);
  return {
    name: row.name,
    url: row.url,
    format: row.format === 'slack' ? 'slack' : 'json',
    ...(row.secret ? { secret: row.secret } : {}),
    headers: row.headers as Record<string, string>,
    timeoutMs: row.timeoutMs,
  };
}

/** All sinks (without secrets). */
export async function listAlertSinks(db: Database): Promise<AlertSinkInfo[]> {
  return (await db.select().from(tables.alertSinks).orderBy(asc(tables.alertSinks.name))).map(sinkInfo);
}

/** Deletes a sink; rules naming it are refused first (they would alert nowhere). */
export async function deleteAlertSink(db: Database, name: string): Promise<void> {
  const users = (await listAlertRules(db)).filter((r) => r.sinks.includes(name)).map((r) => r.name);
  if (users.length)
    throw new ValidationError(
      `sink ${name} is used by rules ${users.join(', ')}; change or delete them first.`,
    );
  const deleted = await db.delete(tables.alertSinks).where(eq(tables.alertSinks.name, name)).returning();
  if (deleted.length === 0) throw new AlertConfigNotFoundError('sink', name);
}

const ROLES = ['feature', 'model_input', 'prediction'] as const;
const columnFilter = {
  columns: z.array(z.string().min(1)).optional(),
  roles: z.array(z.enum(ROLES)).optional(),
};
const bound = z
  .object({
    metric: z.enum(
      [
        'roc_auc',
        'pr_auc',
        'accuracy',
        'precision',
        'recall',
        'f1',
        'log_loss',
        'mae',
        'rmse',
        'r2',
        'label_coverage',
      ],
      {
        message:
          'must be one of roc_auc, pr_auc, accuracy, precision, recall, f1, log_loss, mae, rmse, r2, label_coverage',
      },
    ),
    below: z.number().optional(),
    above: z.number().optional(),
    minRows: z.number().int().min(1).default(100),
  })
  .strict()
  .refine((c) => c.below !== undefined || c.above !== undefined, 'give below or above (the alerting bound)');

/** Conditions per rule kind; the subject is a monitor, pipeline, stream pipeline or feature group. */
export const alertConditionSchemas = {
  /** Any matching column drifted (or at least `minDriftShare` of the tested ones). Subject: a monitor. */
  drift: z.object({ ...columnFilter, minDriftShare: z.number().min(0).max(1).optional() }).strict(),
  /** A data-quality threshold crossed (missing values, out of range, unseen categories, volume). Subject: a monitor. */
  data_quality: z
    .object({
      ...columnFilter,
      problems: z.array(z.enum(['null_rate', 'out_of_range', 'unseen_categories', 'volume'])).optional(),
    })
    .strict(),
  /** Realized performance from joined labels crossed a bound. Subject: a monitor. */
  performance: bound,
  /** Estimated performance (CBPE) crossed a bound. Subject: a monitor. */
  estimated_performance: bound,
  /** A pipeline run failed. Subject: a pipeline name, or `*` for any. */
  pipeline_failure: z.object({}).strict(),
  /** A validation report failed (rows refused or a policy stopped the commit). Subject: a feature group or `*`. */
  validation_failure: z.object({}).strict(),
  /** A feature group had no completed commit for `maxAgeSeconds`. Subject: a feature group. */
  stale_feature_group: z.object({ maxAgeSeconds: z.number().int().min(1) }).strict(),
  /** A streaming pipeline's checkpoint did not advance for `maxAgeSeconds`. Subject: a stream pipeline. */
  freshness: z.object({ maxAgeSeconds: z.number().int().min(1) }).strict(),
} as const;

/** The kinds of rules. */
export type AlertRuleKind = keyof typeof alertConditionSchemas;
/** Rules evaluated after each monitor window. */
export const MONITOR_RULE_KINDS: readonly AlertRuleKind[] = [
  'drift',
  'data_quality',
  'performance',
  'estimated_performance',
];

const ruleSchema = z
  .object({
    name: nameSchema,
    kind: z.enum(Object.keys(alertConditionSchemas) as [AlertRuleKind, ...AlertRuleKind[]]),
    subject: z.string().min(1),
    condition: z.record(z.string(), z.unknown()).default({}),
    severity: z.enum(['info', 'warning', 'critical']).default('warning'),
    sinks: z.array(nameSchema).min(1, 'name at least one sink'),
    cooldownSeconds: z.number().int().min(0).default(3600),
    enabled: z.boolean().default(true),
  })
  .strict();

/** What `saveAlertRule` takes. */
export type AlertRuleSpec = z.input<typeof ruleSchema>;

/** A stored rule. */
export interface AlertRuleInfo {
  readonly id: number;
  readonly name: string;
  readonly kind: AlertRuleKind;
  readonly subject: string;
  readonly condition: Readonly<Record<string, unknown>>;
  readonly severity: 'info' | 'warning' | 'critical';
  readonly sinks: readonly string[];
  readonly cooldownSeconds: number;
  readonly enabled: boolean;
  readonly checkedUntil: Date | null;
  readonly createdAt: Date;
}

type RuleRow = typeof tables.alertRules.$inferSelect;

function ruleInfo(row: RuleRow): AlertRuleInfo {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind as AlertRuleKind,
    subject: row.subject,
    condition: row.condition as Record<string, unknown>,
    severity: row.severity as AlertRuleInfo['severity'],
    sinks: row.sinks,
    cooldownSeconds: row.cooldownSeconds,
    enabled: row.enabled,
    checkedUntil: row.checkedUntil,
    createdAt: row.createdAt,
  };
}

/**
 * Creates or replaces a rule. The condition is checked against its kind, and every sink must
 * exist; the subject's existence is the caller's check (monitors, pipelines and groups live elsewhere).
 */
export async function saveAlertRule(db: Database, spec: AlertRuleSpec): Promise<AlertRuleInfo> {
  const parsed = ruleSchema.safeParse(spec);
  if (!parsed.success) throw problems(parsed.error, 'alert rule');
  const rule = parsed.data;
  const condition = alertConditionSchemas[rule.kind].safeParse(rule.condition);
  if (!condition.success) throw problems(condition.error, `condition of ${rule.kind} rule ${rule.name}`);
  const known = new Set((await listAlertSinks(db)).map((s) => s.name));
  const missing = rule.sinks.filter((s) => !known.has(s));
  if (missing.length)
    throw new ValidationError(
      `alert rule ${rule.name}: no sink ${missing.join(', ')}; create it with \`fti alerts sink create\`.`,
      { location: 'sinks' },
    );
  const values = { ...rule, condition: condition.data as Record<string, unknown> };
  const [row] = await db
    .insert(tables.alertRules)
    .values(values)
    .onConflictDoUpdate({ target: tables.alertRules.name, set: values })
    .returning();
  return ruleInfo(row!);
}

/** All rules, by name. */
export async function listAlertRules(db: Database): Promise<AlertRuleInfo[]> {
  return (await db.select().from(tables.alertRules).orderBy(asc(tables.alertRules.name))).map(ruleInfo);
}

/** Deletes a rule and its alert history. */
export async function deleteAlertRule(db: Database, name: string): Promise<void> {
  const deleted = await db.delete(tables.alertRules).where(eq(tables.alertRules.name, name)).returning();
  if (deleted.length === 0) throw new AlertConfigNotFoundError('rule', name);
}
