/**
 * Alerts as they fire, repeat, get acknowledged and resolve — deduplicated per (rule, key), with a
 * cooldown between notifications — and their delivery history.
 */
import { createHash, randomUUID } from 'node:crypto';
import { and, desc, eq, inArray, ne, sql } from 'drizzle-orm';
import { tables, type Database } from '../../db';
import { ValidationError } from '../../errors';
import { AlertConfigNotFoundError, type AlertRuleInfo } from './rules';

/** One thing a rule found true in an evaluation. */
export interface Firing {
  /** What makes two firings the same alert (a pipeline name, a feature group, `drift`). */
  readonly dedupKey: string;
  readonly subject: string;
  readonly title: string;
  readonly summary: string;
  readonly details: Readonly<Record<string, unknown>>;
}

/** A notification to send: one durable delivery per sink. */
export interface AlertNotification {
  readonly alertId: string;
  readonly notification: number;
  readonly sinks: readonly string[];
}

/** A stored alert. */
export interface AlertInfo {
  readonly id: string;
  readonly rule: string;
  readonly kind: string;
  readonly severity: string;
  readonly state: 'firing' | 'acknowledged' | 'resolved';
  readonly subject: string;
  readonly title: string;
  readonly summary: string;
  readonly details: Readonly<Record<string, unknown>>;
  readonly count: number;
  readonly notifications: number;
  readonly firstFiredAt: Date;
  readonly lastFiredAt: Date;
  readonly notifiedAt: Date | null;
  readonly ackedAt: Date | null;
  readonly ackedBy: string | null;
  readonly resolvedAt: Date | null;
}

/**
 * Applies one evaluation of `rule`: each firing opens an alert, or counts on the open one with its
 * key (notifying again only when it is still `firing` and the cooldown has passed; acknowledged
 * alerts stay silent); open alerts whose key is in `evaluated` but did not fire are resolved.
 * Returns the notifications to send. Safe under concurrent evaluations: one open alert per key.
 */
export async function applyEvaluation(
  db: Database,
  rule: AlertRuleInfo,
  firings: readonly Firing[],
  evaluated: readonly string[],
  now = new Date(),
  /**
   * Identifies this evaluation (a monitor run, a sweep instant). Applying the same evaluation again
   * (an activity retried after it had committed) changes nothing and returns the notifications it
   * produced the first time, so none is lost and none is sent twice.
   */
  evaluation?: string,
): Promise<AlertNotification[]> {
  const out: AlertNotification[] = [];
  for (const f of firings) {
    const notification = await db.transaction(async (tx) => {
      await tx
        .insert(tables.alerts)
        .values({
          id: randomUUID(),
          ruleId: rule.id,
          dedupKey: f.dedupKey,
          state: 'firing',
          kind: rule.kind,
          severity: rule.severity,
          subject: f.subject,
          title: f.title,
          summary: f.summary,
          details: f.details,
          count: 0,
          notifications: 0,
          firstFiredAt: now,
          lastFiredAt: now,
        })
        .onConflictDoNothing();
      const [open] = await tx
        .select()
        .from(tables.alerts)
        .where(
          and(
            eq(tables.alerts.ruleId, rule.id),
            eq(tables.alerts.dedupKey, f.dedupKey),
            ne(tables.alerts.state, 'resolved'),
          ),
        )
        .for('update');
      if (evaluation !== undefined && open!.lastEvaluation === evaluation)
        return open!.notifiedBy === evaluation
          ? { alertId: open!.id, notification: open!.notifications, sinks: rule.sinks }
          : null;
      const due =
        open!.state === 'firing' &&
        (open!.notifiedAt === null ||
          now.getTime() - open!.notifiedAt.getTime() >= rule.cooldownSeconds * 1000);
      await tx
        .update(tables.alerts)
        .set({
          count: open!.count + 1,
          lastFiredAt: now,
          title: f.title,
          summary: f.summary,
          details: f.details,
          lastEvaluation: evaluation ?? null,
          ...(due
            ? { notifications: open!.notifications + 1, notifiedAt: now, notifiedBy: evaluation ?? null }
            : {}),
        })
        .where(eq(tables.alerts.id, open!.id));
      return due ? { alertId: open!.id, notification: open!.notifications + 1, sinks: rule.sinks } : null;
    });
    if (notification) out.push(notification);
  }
  const quiet = evaluated.filter((k) => !firings.some((f) => f.dedupKey === k));
  if (quiet.length)
    await db
      .update(tables.alerts)
      .set({ state: 'resolved', resolvedAt: now })
      .where(
        and(
          eq(tables.alerts.ruleId, rule.id),
          inArray(tables.alerts.dedupKey, quiet),
          ne(tables.alerts.state, 'resolved'),
        ),
      );
  return out;
}

type AlertRow = typeof tables.alerts.$inferSelect;

function alertInfo(row: AlertRow, rule: string): AlertInfo {
  return {
    id: row.id,
    rule,
    kind: row.kind,
    severity: row.severity,
    state: row.state as AlertInfo['state'],
    subject: row.subject,
    title: row.title,
    summary: row.summary,
    details: row.details as Record<string, unknown>,
    count: row.count,
    notifications: row.notifications,
    firstFiredAt: row.firstFiredAt,
    lastFiredAt: row.lastFiredAt,
    notifiedAt: row.notifiedAt,
    ackedAt: row.ackedAt,
    ackedBy: row.ackedBy,
    resolvedAt: row.resolvedAt,
  };
}

/** Alerts, newest first: `open` (firing or acknowledged, the default), one state, or `all`. */
export async function listAlerts(
  db: Database,
  options: {
    state?: 'open' | 'firing' | 'acknowledged' | 'resolved' | 'all';
    rule?: string;
    limit?: number;
  } = {},
): Promise<AlertInfo[]> {
  const state = options.state ?? 'open';
  const rows = await db
    .select({ alert: tables.alerts, rule: tables.alertRules.name })
    .from(tables.alerts)
    .innerJoin(tables.alertRules, eq(tables.alertRules.id, tables.alerts.ruleId))
    .where(
      and(
        state === 'all'
          ? undefined
          : state === 'open'
            ? ne(tables.alerts.state, 'resolved')
            : eq(tables.alerts.state, state),
        options.rule ? eq(tables.alertRules.name, options.rule) : undefined,
      ),
    )
    .orderBy(desc(tables.alerts.lastFiredAt))
    .limit(options.limit ?? 100);
  return rows.map((r) => alertInfo(r.alert, r.rule));
}

/** One alert with its delivery attempts (oldest first). */
export async function getAlert(
  db: Database,
  id: string,
): Promise<{ alert: AlertInfo; deliveries: (typeof tables.alertDeliveries.$inferSelect)[] }> {
  const [row] = await db
    .select({ alert: tables.alerts, rule: tables.alertRules.name })
    .from(tables.alerts)
    .innerJoin(tables.alertRules, eq(tables.alertRules.id, tables.alerts.ruleId))
    .where(eq(tables.alerts.id, id));
  if (!row) throw new AlertConfigNotFoundError('alert', id);
  const deliveries = await db
    .select()
    .from(tables.alertDeliveries)
    .where(eq(tables.alertDeliveries.alertId, id))
    .orderBy(tables.alertDeliveries.createdAt, tables.alertDeliveries.id);
  return { alert: alertInfo(row.alert, row.rule), deliveries };
}

/**
 * Acknowledges a firing alert: it stays open (and keeps counting) but sends nothing more until it
 * resolves. Acknowledging twice is allowed; a resolved alert cannot be acknowledged.
 */
export async function acknowledgeAlert(db: Database, id: string, by: string): Promise<AlertInfo> {
  const { alert } = await getAlert(db, id);
  if (alert.state === 'resolved')
    throw new ValidationError(
      `alert ${id} resolved at ${alert.resolvedAt?.toISOString()}; nothing to acknowledge.`,
    );
  if (alert.state === 'firing')
    await db
      .update(tables.alerts)
      .set({ state: 'acknowledged', ackedAt: new Date(), ackedBy: by })
      .where(and(eq(tables.alerts.id, id), eq(tables.alerts.state, 'firing')));
  return (await getAlert(db, id)).alert;
}

/** Records one delivery attempt. */
export async function recordDelivery(
  db: Database,
  attempt: {
    alertId: string;
    sink: string;
    notification: number;
    attempt: number;
    ok: boolean;
    status?: number;
    error?: string;
    durationMs: number;
  },
): Promise<void> {
  await db.insert(tables.alertDeliveries).values({
    alertId: attempt.alertId,
    sink: attempt.sink,
    notification: attempt.notification,
    attempt: attempt.attempt,
    ok: attempt.ok,
    status: attempt.status ?? null,
    error: attempt.error ?? null,
    durationMs: attempt.durationMs,
  });
}

/**
 * The event id of a notification: the same for every retry of it (receivers deduplicate on it),
 * new for the next notification of the same alert. UUID-shaped, derived from alert and number.
 */
export function notificationEventId(alertId: string, notification: number): string {
  const h = createHash('sha256').update(`${alertId}/${notification}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Rows of the alerts table counted by state (for `fti alerts list` headers and tests). */
export async function alertCounts(db: Database): Promise<Record<string, number>> {
  const rows = await db.execute<{ state: string; n: string }>(
    sql`SELECT state, count(*) AS n FROM alerts GROUP BY state`,
  );
  return Object.fromEntries(rows.rows.map((r) => [r.state, Number(r.n)]));
}
