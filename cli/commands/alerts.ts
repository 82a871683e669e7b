import type { Command } from 'commander';
import { loadConfig } from '../../core/config';
import { ValidationError } from '../../core/errors';
import { testAlertEvent } from '../../core/monitoring/alerts/delivery';
import { acknowledgeAlert, getAlert, listAlerts } from '../../core/monitoring/alerts/lifecycle';
import {
  deleteAlertRule,
  deleteAlertSink,
  listAlertRules,
  listAlertSinks,
  loadAlertSink,
  MONITOR_RULE_KINDS,
  saveAlertRule,
  saveAlertSink,
  type AlertRuleKind,
} from '../../core/monitoring/alerts/rules';
import { deliverWebhook } from '../../core/monitoring/alerts/webhook';
import { getMonitor } from '../../core/monitoring/monitors';
import { getFeatureGroup } from '../../core/featurestore/feature-group-repository';
import { TASK_QUEUES } from '../../core/pipelines';
import { parseEvery, positiveInt, withDatabase } from '../context';
import { emit, table, type OutputOptions } from '../output';
import { ensureAlertSweepSchedule } from '../schedules';
import { connectTemporal } from '../temporal-client';
import { streamWorkflowId } from '../../core/streaming/pipeline-spec';
import { poolOf, type Database } from '../../core/db';

const collect = (value: string, previous: string[]) => [...previous, value];
const list = (value: string | undefined) =>
  value
    ? value
        .split(',')
        .map((v) => v.trim())
        .filter(Boolean)
    : undefined;

function numberOption(value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new ValidationError(`${option} must be a number, got "${value}".`);
  return n;
}

/** `K=V` pairs of `--header`. */
function headers(values: readonly string[]): Record<string, string> {
  return Object.fromEntries(
    values.map((h) => {
      const i = h.indexOf('=');
      if (i <= 0) throw new ValidationError(`--header "${h.split('=')[0]}" must look like Name=value.`);
      return [h.slice(0, i), h.slice(i + 1)];
    }),
  );
}

interface RuleOptions extends OutputOptions {
  kind: string;
  subject: string;
  sink: string[];
  severity: string;
  cooldown: string;
  columns?: string;
  roles?: string;
  minDriftShare?: string;
  problems?: string;
  metric?: string;
  below?: string;
  above?: string;
  minRows?: string;
  maxAge?: string;
  taskQueue: string;
}

function conditionOf(kind: string, o: RuleOptions): Record<string, unknown> {
  const c: Record<string, unknown> = {};
  if (kind === 'drift' || kind === 'data_quality') {
    if (o.columns) c.columns = list(o.columns);
    if (o.roles) c.roles = list(o.roles);
    if (kind === 'drift' && o.minDriftShare !== undefined)
      c.minDriftShare = numberOption(o.minDriftShare, '--min-drift-share');
    if (kind === 'data_quality' && o.problems) c.problems = list(o.problems);
  } else if (kind === 'performance' || kind === 'estimated_performance') {
    if (o.metric) c.metric = o.metric;
    if (o.below !== undefined) c.below = numberOption(o.below, '--below');
    if (o.above !== undefined) c.above = numberOption(o.above, '--above');
    if (o.minRows !== undefined) c.minRows = positiveInt(o.minRows, '--min-rows');
  } else if (kind === 'stale_feature_group' || kind === 'freshness') {
    if (!o.maxAge) throw new ValidationError(`a ${kind} rule needs --max-age (e.g. 2h).`);
    c.maxAgeSeconds = parseEvery(o.maxAge, '--max-age');
  }
  return c;
}

/** `fti alerts …` — alert sinks (webhooks), rules, and the alerts they raised. */
export function registerAlertCommands(program: Command): void {
  const alerts = program
    .command('alerts')
    .description(
      'alerts on drift, performance, failures and staleness, delivered to signed webhooks (JSON or Slack)',
    )
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  $ fti alerts sink create oncall --url https://hooks.example.com/fti --secret-env ONCALL_SECRET',
        '  $ fti alerts sink create team-slack --url https://hooks.slack.com/services/T/B/X --format slack',
        '  $ fti alerts test oncall',
        '  $ fti alerts rule create fraud-drift --kind drift --subject fraud-monitor --sink oncall',
        '  $ fti alerts rule create fraud-auc --kind performance --subject fraud-monitor --metric roc_auc --below 0.85 --sink oncall',
        '  $ fti alerts rule create failures --kind pipeline_failure --subject "*" --sink team-slack',
        '  $ fti alerts list',
        '  $ fti alerts ack <id>',
      ].join('\n'),
    );

  const sink = alerts.command('sink').description('where alerts go: webhooks');
  sink
    .command('create <name>')
    .description(
      'create or replace a webhook sink (POSTs JSON, or a Slack-compatible payload with --format slack)',
    )
    .requiredOption('--url <url>', 'http(s) URL the alert is POSTed to')
    .option('--format <format>', 'json or slack', 'json')
    .option('--secret-env <variable>', 'sign with HMAC-SHA256 using the secret in this environment variable')
    .option(
      '--secret <secret>',
      'sign with this secret (prefer --secret-env: arguments land in shell history)',
    )
    .option(
      '--header <name=value>',
      'extra request header (repeatable), e.g. Authorization=Bearer …',
      collect,
      [] as string[],
    )
    .option('--timeout <interval>', 'per-attempt timeout, such as 5s', '5s')
    .option('--json', 'machine-readable output')
    .action(
      async (
        name: string,
        o: OutputOptions & {
          url: string;
          format: string;
          secretEnv?: string;
          secret?: string;
          header: string[];
          timeout: string;
        },
      ) => {
        let secret = o.secret;
        if (o.secretEnv) {
          secret = process.env[o.secretEnv];
          if (!secret)
            throw new ValidationError(`--secret-env ${o.secretEnv}: that environment variable is not set.`);
        }
        const saved = await withDatabase(({ db }) =>
          saveAlertSink(db, {
            name,
            url: o.url,
            format: o.format as 'json' | 'slack',
            ...(secret ? { secret } : {}),
            headers: headers(o.header),
            timeoutMs: parseEvery(o.timeout, '--timeout') * 1000,
          }),
        );
        emit(
          o,
          saved,
          () => `sink ${saved.name}: ${saved.format} to ${saved.url}${saved.signed ? ', signed' : ''}`,
        );
      },
    );
  sink
    .command('list')
    .description('sinks (URLs redacted, secrets never shown)')
    .option('--json', 'machine-readable output')
    .action(async (o: OutputOptions) => {
      const sinks = await withDatabase(({ db }) => listAlertSinks(db));
      emit(o, sinks, () =>
        table([
          ['NAME', 'FORMAT', 'URL', 'SIGNED'],
          ...sinks.map((s) => [s.name, s.format, s.url, s.signed ? 'yes' : 'no']),
        ]),
      );
    });
  sink
    .command('delete <name>')
    .description('delete a sink no rule uses')
    .option('--json', 'machine-readable output')
    .action(async (name: string, o: OutputOptions) => {
      await withDatabase(({ db }) => deleteAlertSink(db, name));
      emit(o, { sink: name, deleted: true }, () => `sink ${name} deleted`);
    });

  const rule = alerts.command('rule').description('when to alert');
  rule
    .command('create <name>')
    .description('create or replace an alert rule')
    .requiredOption(
      '--kind <kind>',
      'drift | data_quality | performance | estimated_performance (subject: a monitor) | pipeline_failure (a pipeline or *) | validation_failure (a feature group or *) | stale_feature_group (a feature group) | freshness (a streaming pipeline)',
    )
    .requiredOption('--subject <name>', 'what the rule watches (see --kind)')
    .option('--sink <name>', 'sink to notify (repeatable)', collect, [] as string[])
    .option('--severity <level>', 'info, warning or critical', 'warning')
    .option('--cooldown <interval>', 'notify a still-firing alert again at most this often', '1h')
    .option('--columns <a,b>', 'drift/data_quality: only these columns')
    .option('--roles <a,b>', 'drift/data_quality: only these roles (feature, model_input, prediction)')
    .option('--min-drift-share <x>', 'drift: fire only when this share of tested columns drifted')
    .option('--problems <a,b>', 'data_quality: null_rate, out_of_range, unseen_categories, volume')
    .option(
      '--metric <name>',
      'performance: roc_auc, pr_auc, precision, recall, f1, accuracy, log_loss, mae, rmse, r2',
    )
    .option('--below <x>', 'performance: fire when the metric is below this')
    .option('--above <x>', 'performance: fire when the metric is above this (losses, errors)')
    .option('--min-rows <n>', 'performance: labeled (or estimated) rows a window needs to decide', '100')
    .option('--max-age <interval>', 'stale_feature_group/freshness: the longest silence allowed, such as 2h')
    .option(
      '--task-queue <queue>',
      'queue of the inference worker that runs the sweep',
      TASK_QUEUES.inference,
    )
    .option('--json', 'machine-readable output')
    .action(async (name: string, o: RuleOptions) => {
      const saved = await withDatabase(async ({ db }) => {
        if (MONITOR_RULE_KINDS.includes(o.kind as AlertRuleKind)) await getMonitor(db, o.subject);
        // A typo in a group's name would alert at once ("no commit ever"): the group must exist.
        if (o.kind === 'stale_feature_group' || (o.kind === 'validation_failure' && o.subject !== '*'))
          await getFeatureGroup(db, o.subject);
        // Likewise a streaming pipeline that never ran ("no checkpoint ever").
        if (o.kind === 'freshness') await streamingPipelineMustExist(db, o.subject);
        return saveAlertRule(db, {
          name,
          kind: o.kind as AlertRuleKind,
          subject: o.subject,
          condition: conditionOf(o.kind, o),
          severity: o.severity as 'warning',
          sinks: o.sink,
          cooldownSeconds: parseEvery(o.cooldown, '--cooldown'),
        });
      });
      let sweep = '';
      if (!MONITOR_RULE_KINDS.includes(saved.kind)) {
        const client = await connectTemporal(loadConfig());
        try {
          const s = await ensureAlertSweepSchedule(client, { taskQueue: o.taskQueue });
          sweep = `; evaluated every minute by schedule ${s.scheduleId}`;
        } finally {
          await client.connection.close();
        }
      } else sweep = `; evaluated after each window of monitor ${saved.subject}`;
      emit(
        o,
        saved,
        () => `rule ${saved.name}: ${saved.kind} on ${saved.subject} → ${saved.sinks.join(', ')}${sweep}`,
      );
    });
  rule
    .command('list')
    .description('alert rules')
    .option('--json', 'machine-readable output')
    .action(async (o: OutputOptions) => {
      const rules = await withDatabase(({ db }) => listAlertRules(db));
      emit(o, rules, () =>
        table([
          ['NAME', 'KIND', 'SUBJECT', 'CONDITION', 'SEVERITY', 'SINKS', 'COOLDOWN'],
          ...rules.map((r) => [
            r.name,
            r.kind,
            r.subject,
            JSON.stringify(r.condition),
            r.severity,
            r.sinks.join(','),
            `${r.cooldownSeconds}s`,
          ]),
        ]),
      );
    });
  rule
    .command('delete <name>')
    .description('delete a rule and the alerts it raised')
    .option('--json', 'machine-readable output')
    .action(async (name: string, o: OutputOptions) => {
      await withDatabase(({ db }) => deleteAlertRule(db, name));
      emit(o, { rule: name, deleted: true }, () => `rule ${name} deleted`);
    });

  alerts
    .command('list')
    .description('alerts, newest first (open ones by default)')
    .option('--state <state>', 'open, firing, acknowledged, resolved or all', 'open')
    .option('--rule <name>', 'only this rule')
    .option('--limit <n>', 'at most this many', '50')
    .option('--json', 'machine-readable output')
    .action(async (o: OutputOptions & { state: string; rule?: string; limit: string }) => {
      if (!['open', 'firing', 'acknowledged', 'resolved', 'all'].includes(o.state))
        throw new ValidationError(
          `--state "${o.state}" must be open, firing, acknowledged, resolved or all.`,
        );
      const rows = await withDatabase(({ db }) =>
        listAlerts(db, {
          state: o.state as 'open',
          ...(o.rule ? { rule: o.rule } : {}),
          limit: positiveInt(o.limit, '--limit'),
        }),
      );
      emit(o, rows, () =>
        rows.length === 0
          ? `no ${o.state === 'all' ? '' : `${o.state} `}alerts`
          : table([
              ['ID', 'STATE', 'SEVERITY', 'RULE', 'LAST FIRED', 'COUNT', 'TITLE'],
              ...rows.map((a) => [
                a.id,
                a.state,
                a.severity,
                a.rule,
                a.lastFiredAt.toISOString(),
                String(a.count),
                a.title,
              ]),
            ]),
      );
    });
  alerts
    .command('show <id>')
    .description('one alert: evidence and every delivery attempt')
    .option('--json', 'machine-readable output')
    .action(async (id: string, o: OutputOptions) => {
      const found = await withDatabase(({ db }) => getAlert(db, id));
      emit(o, found, () =>
        [
          `${found.alert.title}`,
          `${found.alert.state}, ${found.alert.severity}, rule ${found.alert.rule}, fired ${found.alert.count}× since ${found.alert.firstFiredAt.toISOString()}`,
          found.alert.summary,
          found.alert.ackedAt
            ? `acknowledged by ${found.alert.ackedBy} at ${found.alert.ackedAt.toISOString()}`
            : '',
          'deliveries:',
          found.deliveries.length === 0
            ? '  none yet'
            : table(
                found.deliveries.map((d) => [
                  `  ${d.createdAt.toISOString()}`,
                  d.sink,
                  `notification ${d.notification}`,
                  `attempt ${d.attempt}`,
                  d.ok ? `ok ${d.status}` : `failed${d.status ? ` ${d.status}` : ''}`,
                  d.error ?? '',
                ]),
              ),
        ]
          .filter(Boolean)
          .join('\n'),
      );
    });
  alerts
    .command('ack <id>')
    .description('acknowledge a firing alert: it stays open but notifies no more until it resolves')
    .option('--by <who>', 'who acknowledges', process.env.USER ?? 'cli')
    .option('--json', 'machine-readable output')
    .action(async (id: string, o: OutputOptions & { by: string }) => {
      const alert = await withDatabase(({ db }) => acknowledgeAlert(db, id, o.by));
      emit(o, alert, () => `alert ${alert.id} ${alert.state} by ${alert.ackedBy}`);
    });
  alerts
    .command('test <sink>')
    .description('send a test alert to a sink once and print what the receiver answered')
    .option('--json', 'machine-readable output')
    .action(async (name: string, o: OutputOptions) => {
      const sinkConfig = await withDatabase(({ db }) => loadAlertSink(db, name));
      const event = testAlertEvent(name);
      const result = await deliverWebhook(sinkConfig, event);
      emit(o, { sink: name, eventId: event.id, ...result }, () =>
        result.ok
          ? `sink ${name}: delivered (HTTP ${result.status}, ${Math.round(result.durationMs)} ms), event ${event.id}`
          : `sink ${name}: not delivered (${result.error}; ${result.retryable ? 'a retry may succeed' : 'fix the sink or receiver'})`,
      );
      if (!result.ok) process.exitCode = 1;
    });
}

/**
 * A freshness rule's subject must be a streaming pipeline that has run here: it has checkpoints, or
 * Temporal knows its workflow (`stream-<name>`), even if it has not checkpointed yet.
 */
async function streamingPipelineMustExist(db: Database, name: string): Promise<void> {
  const { rows } = await poolOf(db).query<{ n: string }>(
    'SELECT count(*) AS n FROM stream_checkpoints WHERE pipeline = $1',
    [name],
  );
  if (Number(rows[0]?.n ?? 0) > 0) return;
  const client = await connectTemporal(loadConfig());
  try {
    const known = await client.workflow
      .getHandle(streamWorkflowId(name))
      .describe()
      .then(
        () => true,
        () => false,
      );
    if (!known)
      throw new ValidationError(
        `no streaming pipeline ${name} has run here (no checkpoint, no workflow ${streamWorkflowId(name)}); check the name with \`fti stream status <name>\`, or start it with \`fti stream start <spec.json>\` first.`,
        { location: '--subject' },
      );
  } finally {
    await client.connection.close();
  }
}
