import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  check,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

/**
 * A monitor: which subject it watches (a deployment's served requests and batch inputs, or a
 * feature group's commits), how often (a Temporal Schedule `monitor-<name>` runs it) and with which
 * per-column thresholds.
 */
export const monitors = pgTable(
  'monitors',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    name: text('name').notNull(),
    /** `deployment` or `feature_group`. */
    subjectType: text('subject_type').notNull(),
    subject: text('subject').notNull(),
    everySeconds: integer('every_seconds').notNull(),
    windowSeconds: integer('window_seconds').notNull(),
    /** `{ [column]: { method?, threshold?, nullRateIncrease?, outOfRange?, unseen? } }` */
    thresholds: jsonb('thresholds').notNull().default({}),
    /** Fewer rows than this in a window: no drift verdict, a `volume` problem instead. */
    minRows: integer('min_rows').notNull().default(100),
    /** Realized performance is computed for the window this long before the checked one (labels arrive late). */
    labelDelaySeconds: integer('label_delay_seconds').notNull().default(0),
    /** A label joins a prediction of the same entity whose event time is at most this far from its own. */
    labelToleranceSeconds: integer('label_tolerance_seconds').notNull().default(60),
    /** A logged feature whose values slice performance (its most frequent values). */
    sliceColumn: text('slice_column'),
    /** Feature-group monitors: the reference is the rows of this long before the window (null: all earlier rows). */
    referenceSeconds: integer('reference_seconds'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('monitors_name_uq').on(t.name),
    check('monitors_name_identifier', sql`${t.name} ~ '^[a-z][a-z0-9_-]{0,62}$'`),
    check('monitors_subject_type', sql`${t.subjectType} IN ('deployment', 'feature_group')`),
    check('monitors_window_positive', sql`${t.everySeconds} > 0 AND ${t.windowSeconds} > 0`),
  ],
);

/** One monitoring window of one monitor: what was read and the verdict. Unique per window (idempotent runs). */
export const monitorRuns = pgTable(
  'monitor_runs',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    monitorId: bigint('monitor_id', { mode: 'number' })
      .notNull()
      .references(() => monitors.id, { onDelete: 'cascade' }),
    windowStart: timestamp('window_start', { withTimezone: true }).notNull(),
    windowEnd: timestamp('window_end', { withTimezone: true }).notNull(),
    /** `ok`, `problems` (some threshold crossed), `no_data`. */
    status: text('status').notNull(),
    rows: integer('rows').notNull(),
    driftShare: doublePrecision('drift_share'),
    /** What the window was compared with: model / dataset versions, reference rows. */
    reference: jsonb('reference').notNull().default({}),
    /** Problems found, as `column: problem` strings, and per-source row counts. */
    summary: jsonb('summary').notNull().default({}),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('monitor_runs_window_uq').on(t.monitorId, t.windowStart, t.windowEnd),
    index('monitor_runs_monitor_end_idx').on(t.monitorId, t.windowEnd),
  ],
);

/** Per column (raw features, model inputs, predictions) per window: the time series a report plots. */
export const monitorResults = pgTable(
  'monitor_results',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    runId: bigint('run_id', { mode: 'number' })
      .notNull()
      .references(() => monitorRuns.id, { onDelete: 'cascade' }),
    monitorId: bigint('monitor_id', { mode: 'number' }).notNull(),
    windowEnd: timestamp('window_end', { withTimezone: true }).notNull(),
    /** Which traffic: a served variant's name, or `batch:<variant>` for batch-inference inputs. */
    segment: text('segment').notNull(),
    /** `feature`, `model_input` or `prediction`. */
    role: text('role').notNull(),
    column: text('column').notNull(),
    kind: text('kind').notNull(),
    values: integer('values').notNull(),
    method: text('method'),
    score: doublePrecision('score'),
    threshold: doublePrecision('threshold'),
    drift: boolean('drift').notNull().default(false),
    psi: doublePrecision('psi'),
    nullRate: doublePrecision('null_rate').notNull(),
    outOfRange: doublePrecision('out_of_range'),
    unseen: doublePrecision('unseen'),
    problems: text('problems')
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    /** Every statistic (KS statistic and p-value, Wasserstein, chi-square, JS), unseen examples. */
    details: jsonb('details').notNull().default({}),
  },
  (t) => [
    uniqueIndex('monitor_results_run_column_uq').on(t.runId, t.segment, t.role, t.column),
    index('monitor_results_series_idx').on(t.monitorId, t.column, t.windowEnd),
  ],
);

/** Where alerts go: a webhook (JSON or Slack-compatible), optionally HMAC-signed. */
export const alertSinks = pgTable(
  'alert_sinks',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    name: text('name').notNull(),
    url: text('url').notNull(),
    /** `json` or `slack`. */
    format: text('format').notNull(),
    /** HMAC-SHA256 signing secret; never printed or logged. */
    secret: text('secret'),
    headers: jsonb('headers').notNull().default({}),
    timeoutMs: integer('timeout_ms').notNull().default(5000),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('alert_sinks_name_uq').on(t.name),
    check('alert_sinks_name_identifier', sql`${t.name} ~ '^[a-z][a-z0-9_-]{0,62}$'`),
  ],
);

/** When to alert: a condition on a subject (monitor, pipeline, stream, feature group) and the sinks to tell. */
export const alertRules = pgTable(
  'alert_rules',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    name: text('name').notNull(),
    kind: text('kind').notNull(),
    subject: text('subject').notNull(),
    /** Kind-specific: columns and roles (drift), metric and bound (performance), max age (staleness). */
    condition: jsonb('condition').notNull().default({}),
    severity: text('severity').notNull().default('warning'),
    sinks: text('sinks').array().notNull(),
    /** A firing alert is notified again at most this often; acknowledged alerts stay silent. */
    cooldownSeconds: integer('cooldown_seconds').notNull().default(3600),
    enabled: boolean('enabled').notNull().default(true),
    /** Sweep rules (failures, staleness): events after this were not looked at yet. */
    checkedUntil: timestamp('checked_until', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('alert_rules_name_uq').on(t.name),
    check('alert_rules_name_identifier', sql`${t.name} ~ '^[a-z][a-z0-9_-]{0,62}$'`),
    check('alert_rules_severity', sql`${t.severity} IN ('info', 'warning', 'critical')`),
  ],
);

/**
 * Alerts as they fire: one open alert per (rule, dedup key) — repeats count on it instead of
 * notifying again within the cooldown — until it resolves. History is kept.
 */
export const alerts = pgTable(
  'alerts',
  {
    id: text('id').primaryKey(),
    ruleId: bigint('rule_id', { mode: 'number' })
      .notNull()
      .references(() => alertRules.id, { onDelete: 'cascade' }),
    dedupKey: text('dedup_key').notNull(),
    /** `firing`, `acknowledged` or `resolved`. */
    state: text('state').notNull(),
    kind: text('kind').notNull(),
    severity: text('severity').notNull(),
    subject: text('subject').notNull(),
    title: text('title').notNull(),
    summary: text('summary').notNull(),
    details: jsonb('details').notNull().default({}),
    count: integer('count').notNull().default(1),
    /** Notifications sent so far (each starts one durable delivery per sink). */
    notifications: integer('notifications').notNull().default(0),
    firstFiredAt: timestamp('first_fired_at', { withTimezone: true }).notNull().defaultNow(),
    lastFiredAt: timestamp('last_fired_at', { withTimezone: true }).notNull().defaultNow(),
    notifiedAt: timestamp('notified_at', { withTimezone: true }),
    /** The evaluation (monitor run, sweep instant) that last counted this alert: a retry of it changes nothing. */
    lastEvaluation: text('last_evaluation'),
    /** The evaluation that sent the latest notification: its retry returns that notification again. */
    notifiedBy: text('notified_by'),
    ackedAt: timestamp('acked_at', { withTimezone: true }),
    ackedBy: text('acked_by'),
    resolvedAt: timestamp('resolved_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('alerts_open_uq')
      .on(t.ruleId, t.dedupKey)
      .where(sql`${t.state} <> 'resolved'`),
    index('alerts_fired_idx').on(t.lastFiredAt),
  ],
);

/** Every delivery attempt of an alert to a sink: the retry history a user inspects. */
export const alertDeliveries = pgTable(
  'alert_deliveries',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    alertId: text('alert_id')
      .notNull()
      .references(() => alerts.id, { onDelete: 'cascade' }),
    sink: text('sink').notNull(),
    notification: integer('notification').notNull(),
    attempt: integer('attempt').notNull(),
    ok: boolean('ok').notNull(),
    status: integer('status'),
    error: text('error'),
    durationMs: doublePrecision('duration_ms').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('alert_deliveries_alert_idx').on(t.alertId, t.createdAt)],
);

/**
 * A closed-loop retraining policy: which alert rules trigger it, the training pipeline it runs,
 * how the new version meets live traffic (shadow or an A/B share) and how it must win to be
 * promoted. Its workflow (`retrain-<name>`) runs for as long as the policy exists.
 */
export const retrainingPolicies = pgTable(
  'retraining_policies',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    name: text('name').notNull(),
    deployment: text('deployment').notNull(),
    rules: text('rules').array().notNull(),
    /** The training pipeline spec (JSON), run with its dataset limited to the last `trainingWindowSeconds`. */
    training: jsonb('training').notNull(),
    trainingWindowSeconds: integer('training_window_seconds'),
    /** `shadow` (scores every request, answers none) or `ab` (answers `weight` % of traffic). */
    mode: text('mode').notNull().default('shadow'),
    weight: integer('weight').notNull().default(10),
    metric: text('metric').notNull().default('roc_auc'),
    minLabels: integer('min_labels').notNull().default(200),
    confidence: doublePrecision('confidence').notNull().default(0.95),
    checkEverySeconds: integer('check_every_seconds').notNull().default(3600),
    maxWaitSeconds: integer('max_wait_seconds').notNull().default(604_800),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('retraining_policies_name_uq').on(t.name),
    check('retraining_policies_name_identifier', sql`${t.name} ~ '^[a-z][a-z0-9_-]{0,62}$'`),
    check('retraining_policies_mode', sql`${t.mode} IN ('shadow', 'ab')`),
  ],
);

/** Every step a retraining loop took, with its evidence: the audit trail of a policy. */
export const retrainingDecisions = pgTable(
  'retraining_decisions',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    policy: text('policy').notNull(),
    cycle: integer('cycle').notNull(),
    /** `triggered`, `trained`, `rejected_by_gates`, `challenger_deployed`, `waiting`, `promoted`, `rejected`, `failed`. */
    decision: text('decision').notNull(),
    model: text('model'),
    modelVersion: integer('model_version'),
    deploymentVersion: integer('deployment_version'),
    evidence: jsonb('evidence').notNull().default({}),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('retraining_decisions_policy_idx').on(t.policy, t.at)],
);
