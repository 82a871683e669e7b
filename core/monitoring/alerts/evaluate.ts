/**
 * Evaluates alert rules: after each monitor window (drift, data quality, performance), and on a
 * periodic sweep (pipeline and validation failures, stale feature groups, stream freshness).
 */
import { and, eq } from 'drizzle-orm';
import { poolOf, tables, type Database } from '../../db';
import { getMonitor } from '../monitors';
import { applyEvaluation, type AlertNotification, type Firing } from './lifecycle';
import { listAlertRules, MONITOR_RULE_KINDS, type AlertRuleInfo } from './rules';

/** What a monitor window reported, as the rules need it. */
export interface MonitorWindowRef {
  readonly monitor: string;
  readonly runId: number;
  readonly windowStart: string;
  readonly windowEnd: string;
  readonly status: string;
  readonly rows: number;
  readonly problems: readonly string[];
}

type ResultRow = typeof tables.monitorResults.$inferSelect;

const fmt = (v: number | null) =>
  v === null ? 'n/a' : Math.abs(v) < 0.001 && v !== 0 ? v.toExponential(2) : v.toFixed(3);

function matches(rule: AlertRuleInfo, r: ResultRow): boolean {
  const c = rule.condition as { columns?: string[]; roles?: string[] };
  return (!c.columns || c.columns.includes(r.column)) && (!c.roles || c.roles.includes(r.role));
}

function driftFiring(
  rule: AlertRuleInfo,
  window: MonitorWindowRef,
  deployment: string,
  results: ResultRow[],
): Firing | null {
  const tested = results.filter(
    (r) => r.method !== null && matches(rule, r) && ['feature', 'model_input', 'prediction'].includes(r.role),
  );
  const drifted = tested.filter((r) => r.drift);
  const minShare = (rule.condition as { minDriftShare?: number }).minDriftShare;
  const share = tested.length ? drifted.length / tested.length : 0;
  if (drifted.length === 0 || (minShare !== undefined && share < minShare)) return null;
  const columns = drifted
    .sort((a, b) => (b.psi ?? 0) - (a.psi ?? 0))
    .map((r) => ({
      segment: r.segment,
      role: r.role,
      column: r.column,
      method: r.method,
      score: r.score,
      threshold: r.threshold,
      psi: r.psi,
    }));
  return {
    dedupKey: 'drift',
    subject: deployment,
    title: `Drift in ${deployment}: ${drifted.length} of ${tested.length} columns (monitor ${window.monitor})`,
    summary: `Window ${window.windowStart} → ${window.windowEnd}: ${columns
      .slice(0, 5)
      .map(
        (c) =>
          `${c.segment} ${c.role} ${c.column} (${c.method} ${fmt(c.score)}, threshold ${c.threshold}, psi ${fmt(c.psi)})`,
      )
      .join('; ')}${columns.length > 5 ? `; and ${columns.length - 5} more` : ''}.`,
    details: {
      monitor: window.monitor,
      monitorRunId: window.runId,
      window: { start: window.windowStart, end: window.windowEnd },
      driftShare: share,
      columns,
    },
  };
}

function qualityFiring(
  rule: AlertRuleInfo,
  window: MonitorWindowRef,
  deployment: string,
  results: ResultRow[],
): Firing | null {
  const wanted = (rule.condition as { problems?: string[] }).problems ?? [
    'null_rate',
    'out_of_range',
    'unseen_categories',
    'volume',
  ];
  const found = results
    .filter((r) => matches(rule, r))
    .flatMap((r) =>
      r.problems
        .filter((p) => p !== 'drift' && wanted.includes(p))
        .map((p) => ({
          segment: r.segment,
          role: r.role,
          column: r.column,
          problem: p,
          nullRate: r.nullRate,
          outOfRange: r.outOfRange,
          unseen: r.unseen,
        })),
    );
  const volume = wanted.includes('volume') ? window.problems.filter((p) => /(^|: )volume/.test(p)) : [];
  if (found.length === 0 && volume.length === 0) return null;
  return {
    dedupKey: 'data_quality',
    subject: deployment,
    title: `Data quality in ${deployment}: ${found.length + volume.length} problems (monitor ${window.monitor})`,
    summary: `Window ${window.windowStart} → ${window.windowEnd}: ${[...found.slice(0, 5).map((f) => `${f.segment} ${f.role} ${f.column}: ${f.problem}`), ...volume].join('; ')}.`,
    details: {
      monitor: window.monitor,
      monitorRunId: window.runId,
      window: { start: window.windowStart, end: window.windowEnd },
      problems: found,
      volume,
    },
  };
}

function boundFiring(
  rule: AlertRuleInfo,
  window: MonitorWindowRef,
  deployment: string,
  results: ResultRow[],
): Firing | null {
  const c = rule.condition as { metric: string; below?: number; above?: number; minRows: number };
  const role = rule.kind === 'performance' ? 'performance' : 'estimated_performance';
  const crossed = results.filter(
    (r) =>
      r.role === role &&
      r.column === c.metric &&
      r.score !== null &&
      r.values >= c.minRows &&
      ((c.below !== undefined && r.score < c.below) || (c.above !== undefined && r.score > c.above)),
  );
  if (crossed.length === 0) return null;
  const bound = c.below !== undefined ? `below ${c.below}` : `above ${c.above}`;
  return {
    dedupKey: `${role}:${c.metric}`,
    subject: deployment,
    title: `${rule.kind === 'performance' ? 'Realized' : 'Estimated'} ${c.metric} of ${deployment} ${bound} (monitor ${window.monitor})`,
    summary: `Window ${window.windowStart} → ${window.windowEnd}: ${crossed.map((r) => `${r.segment} ${c.metric} = ${fmt(r.score)} on ${r.values} rows`).join('; ')}.`,
    details: {
      monitor: window.monitor,
      monitorRunId: window.runId,
      window: { start: window.windowStart, end: window.windowEnd },
      metric: c.metric,
      ...(c.below !== undefined ? { below: c.below } : { above: c.above }),
      segments: crossed.map((r) => ({
        segment: r.segment,
        value: r.score,
        rows: r.values,
        details: r.details,
      })),
    },
  };
}

/** Whether a window had the data to decide a rule (else an open alert stays open). */
function decidable(rule: AlertRuleInfo, window: MonitorWindowRef, results: readonly ResultRow[]): boolean {
  if (rule.kind === 'drift')
    return results.some((r) => r.method !== null && r.kind !== 'metric' && matches(rule, r));
  if (rule.kind === 'data_quality')
    return results.some((r) => r.kind !== 'metric' && matches(rule, r)) || window.rows > 0;
  const c = rule.condition as { metric: string; minRows: number };
  const role = rule.kind === 'performance' ? 'performance' : 'estimated_performance';
  return results.some(
    (r) => r.role === role && r.column === c.metric && r.score !== null && r.values >= c.minRows,
  );
}

/**
 * Evaluates the monitor rules (drift, data quality, realized and estimated performance) whose
 * subject is this window's monitor; a window without data decides nothing.
 */
export async function evaluateMonitorRules(
  db: Database,
  window: MonitorWindowRef,
  now = new Date(),
): Promise<AlertNotification[]> {
  if (window.status === 'no_data') return [];
  const rules = (await listAlertRules(db)).filter(
    (r) => r.enabled && r.subject === window.monitor && MONITOR_RULE_KINDS.includes(r.kind),
  );
  if (rules.length === 0) return [];
  const monitor = await getMonitor(db, window.monitor);
  const deployment = monitor.subject;
  const results = await db
    .select()
    .from(tables.monitorResults)
    .where(eq(tables.monitorResults.runId, window.runId));
  const out: AlertNotification[] = [];
  for (const rule of rules) {
    const firing =
      rule.kind === 'drift'
        ? driftFiring(rule, window, deployment, results)
        : rule.kind === 'data_quality'
          ? qualityFiring(rule, window, deployment, results)
          : boundFiring(rule, window, deployment, results);
    const key =
      rule.kind === 'drift' || rule.kind === 'data_quality'
        ? rule.kind
        : `${rule.kind === 'performance' ? 'performance' : 'estimated_performance'}:${(rule.condition as { metric: string }).metric}`;
    const tagged = firing
      ? { ...firing, details: { ...firing.details, subjectType: monitor.subjectType } }
      : null;
    // Only a window that could decide may resolve: too few rows to test is not "fine".
    const decided = tagged !== null || decidable(rule, window, results);
    out.push(
      ...(await applyEvaluation(
        db,
        rule,
        tagged ? [tagged] : [],
        decided ? [key] : [],
        now,
        `monitor-run:${window.runId}`,
      )),
    );
  }
  return out;
}

/**
 * The periodic sweep: pipeline failures and failed validations since the rule last looked, feature
 * groups without a recent commit, streaming pipelines whose checkpoint stopped advancing.
 */
export async function sweepAlertRules(db: Database, now = new Date()): Promise<AlertNotification[]> {
  const rules = (await listAlertRules(db)).filter((r) => r.enabled && !MONITOR_RULE_KINDS.includes(r.kind));
  const pool = poolOf(db);
  const out: AlertNotification[] = [];
  for (const rule of rules) {
    const since = rule.checkedUntil ?? rule.createdAt;
    const firings: Firing[] = [];
    let evaluated: string[] = [];
    if (rule.kind === 'pipeline_failure') {
      const { rows } = await pool.query<{
        name: string;
        pipeline: string;
        error: string | null;
        finished_at: Date;
        workflow_id: string;
        run_id: string;
        recovered: boolean;
      }>(
        `SELECT DISTINCT ON (f.name) f.name, f.pipeline::text AS pipeline, f.error, f.finished_at, f.workflow_id, f.run_id,
                EXISTS (SELECT 1 FROM pipeline_runs ok WHERE ok.name = f.name AND ok.status = 'completed' AND ok.started_at > f.finished_at) AS recovered
         FROM pipeline_runs f
         WHERE f.status = 'failed' AND f.finished_at > $1 AND f.finished_at <= $2 AND ($3 = '*' OR f.name = $3)
         ORDER BY f.name, f.finished_at DESC`,
        [since, now, rule.subject],
      );
      for (const r of rows.filter((x) => !x.recovered))
        firings.push({
          dedupKey: r.name,
          subject: r.name,
          title: `${r.pipeline} pipeline ${r.name} failed`,
          summary: `Run ${r.workflow_id} failed at ${r.finished_at.toISOString()}: ${(r.error ?? 'no error recorded').slice(0, 300)}`,
          details: {
            pipeline: r.pipeline,
            name: r.name,
            workflowId: r.workflow_id,
            runId: r.run_id,
            finishedAt: r.finished_at.toISOString(),
          },
        });
      // Failing pipelines that completed a run since are resolved.
      const { rows: recovered } = await pool.query<{ name: string }>(
        `SELECT DISTINCT name FROM pipeline_runs WHERE status = 'completed' AND finished_at > $1 AND finished_at <= $2 AND ($3 = '*' OR name = $3)`,
        [since, now, rule.subject],
      );
      evaluated = [...recovered.map((r) => r.name), ...rows.map((r) => r.name)];
    } else if (rule.kind === 'validation_failure') {
      const { rows } = await pool.query<{
        name: string;
        version: number;
        created_at: Date;
        report: { statistics?: Record<string, unknown> };
        policy: string;
      }>(
        `SELECT DISTINCT ON (g.name) g.name, g.version, v.created_at, v.report, v.ingestion_policy AS policy
         FROM validation_reports v JOIN feature_groups g ON g.id = v.feature_group_id
         WHERE NOT v.success AND v.created_at > $1 AND v.created_at <= $2 AND ($3 = '*' OR g.name = $3)
         ORDER BY g.name, v.created_at DESC`,
        [since, now, rule.subject],
      );
      for (const r of rows)
        firings.push({
          dedupKey: r.name,
          subject: r.name,
          title: `Validation failed for feature group ${r.name} v${r.version}`,
          summary: `A batch failed its expectations at ${r.created_at.toISOString()} (policy ${r.policy}); see fti fg validations ${r.name}.`,
          details: {
            featureGroup: r.name,
            version: r.version,
            at: r.created_at.toISOString(),
            statistics: r.report.statistics ?? {},
          },
        });
      const { rows: passed } = await pool.query<{ name: string }>(
        `SELECT DISTINCT g.name FROM validation_reports v JOIN feature_groups g ON g.id = v.feature_group_id
         WHERE v.success AND v.created_at > $1 AND v.created_at <= $2 AND ($3 = '*' OR g.name = $3)`,
        [since, now, rule.subject],
      );
      evaluated = [...passed.map((r) => r.name).filter((n) => !rows.some((r) => r.name === n))];
    } else if (rule.kind === 'stale_feature_group' || rule.kind === 'freshness') {
      const maxAge = (rule.condition as { maxAgeSeconds: number }).maxAgeSeconds;
      const { rows } =
        rule.kind === 'stale_feature_group'
          ? await pool.query<{ last: Date | null }>(
              `SELECT max(c.completed_at) AS last FROM feature_group_commits c JOIN feature_groups g ON g.id = c.feature_group_id
               WHERE g.name = $1 AND c.state = 'completed'`,
              [rule.subject],
            )
          : await pool.query<{ last: Date | null }>(
              `SELECT max(updated_at) AS last FROM stream_checkpoints WHERE pipeline = $1`,
              [rule.subject],
            );
      const last = rows[0]?.last ?? null;
      const age = last ? (now.getTime() - last.getTime()) / 1000 : Number.POSITIVE_INFINITY;
      evaluated = [rule.subject];
      if (age > maxAge) {
        const what =
          rule.kind === 'stale_feature_group'
            ? `feature group ${rule.subject}`
            : `streaming pipeline ${rule.subject}`;
        const since = last ? `since ${last.toISOString()} (${Math.round(age)} s)` : 'ever';
        firings.push({
          dedupKey: rule.subject,
          subject: rule.subject,
          title:
            rule.kind === 'stale_feature_group'
              ? `Feature group ${rule.subject} is stale`
              : `Streaming pipeline ${rule.subject} is not advancing`,
          summary: `No ${rule.kind === 'stale_feature_group' ? 'completed commit' : 'checkpoint'} of ${what} ${since}; the limit is ${maxAge} s.`,
          details: {
            subject: rule.subject,
            last: last?.toISOString() ?? null,
            ageSeconds: Number.isFinite(age) ? age : null,
            maxAgeSeconds: maxAge,
          },
        });
      }
    }
    out.push(...(await applyEvaluation(db, rule, firings, evaluated, now, `sweep:${now.toISOString()}`)));
    await db
      .update(tables.alertRules)
      .set({ checkedUntil: now })
      .where(and(eq(tables.alertRules.id, rule.id)));
  }
  return out;
}
