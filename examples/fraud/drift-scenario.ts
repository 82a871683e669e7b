// Example 1 with drift: the fraud system of Example 1, watched and retrained by the platform while
// the fraudsters change tactics. A baseline model serves; then the days after the baseline are
// replayed through the online service, one monitoring window per day, with chargebacks arriving
// days later: drift is found on the first day of the new tactics, a signed webhook receives it, the
// delayed labels show the drop, the retraining loop trains a challenger, runs it in shadow, and
// promotes it when it wins on live labels. Runs on its own feature groups, view, model and
// deployment (`fraud_drift*`), so it never touches the main job's.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import {
  createApiKey,
  createFeatureView,
  getDeployment,
  registerFeatureGroup,
  sqlPath,
  verifyWebhookSignature,
  withDuck,
  type Database,
  type FeatureGroupDefinition,
  type FeaturePipelineSpec,
  type FeatureViewDefinition,
  type MonitorRunSummary,
} from '../../core';
import { listAlerts } from '../../core/monitoring/alerts/lifecycle';
import { saveAlertRule, saveAlertSink } from '../../core/monitoring/alerts/rules';
import { monitorHistory, saveMonitor } from '../../core/monitoring/monitors';
import { retrainingHistory, saveRetrainingPolicy } from '../../core/monitoring/retraining';
import { retrainingWorkflowId } from '../../core/pipelines';
import { DRIFT_CATEGORY, generateFraudData, type FraudData } from './data/generator';
import {
  DRIFT_REPORTED_CHARGEBACKS,
  fraudAccounts,
  fraudCardActivity,
  fraudLabels,
  fraudMerchants,
  fraudView,
} from './features/module';
import { fraudQueues, type FraudRunContext } from './end-to-end';
import { smokeRequest } from './inference/client';
import { championParams, fraudTrainingPipeline } from './training/pipelines';

const DAY = 86_400_000;

/**
 * Columns the drift rule watches: what the transaction itself says. Card activity is served a day
 * old in the replay, and a day's card types follow the few cards that happen to shop that day
 * (clustered samples), so both differ from training without any change in the world.
 */
const WATCHED_COLUMNS = ['amount', 'category', 'distance_from_home_km'] as const;

/** The scenario's own names: a copy of Example 1's system beside it. */
export const DRIFT_NAMES = {
  labels: 'fraud_drift_labels',
  cardActivity: 'fraud_drift_card_activity',
  accounts: 'fraud_drift_accounts',
  merchants: 'fraud_drift_merchants',
  view: 'fraud_drift',
  model: 'fraud_drift',
  deployment: 'fraud_drift',
  monitor: 'fraud-drift-monitor',
  sink: 'fraud-drift-oncall',
  driftRule: 'fraud-drift-features',
  performanceRule: 'fraud-drift-performance',
  policy: 'fraud-drift-loop',
} as const;

const renamed = (group: FeatureGroupDefinition, name: string): FeatureGroupDefinition => ({
  ...group,
  name,
  description: `${group.description ?? group.name} (drift scenario)`,
});

/** Example 1's feature groups under the scenario's names. */
export const driftGroups: readonly FeatureGroupDefinition[] = [
  renamed(fraudLabels, DRIFT_NAMES.labels),
  renamed(fraudCardActivity, DRIFT_NAMES.cardActivity),
  renamed(fraudAccounts, DRIFT_NAMES.accounts),
  renamed(fraudMerchants, DRIFT_NAMES.merchants),
];

const groupRename: Record<string, string> = {
  [fraudLabels.name]: DRIFT_NAMES.labels,
  [fraudCardActivity.name]: DRIFT_NAMES.cardActivity,
  [fraudAccounts.name]: DRIFT_NAMES.accounts,
  [fraudMerchants.name]: DRIFT_NAMES.merchants,
};

/** Example 1's feature view over the scenario's groups. */
export const driftView: FeatureViewDefinition = {
  ...fraudView,
  name: DRIFT_NAMES.view,
  description: 'card-fraud detection, drift scenario',
  spine: { ...fraudView.spine, featureGroup: DRIFT_NAMES.labels },
  joins: (fraudView.joins ?? []).map((j) => {
    const name = typeof j.featureGroup === 'string' ? j.featureGroup : j.featureGroup.name;
    return { ...j, featureGroup: groupRename[name] ?? name };
  }),
};

/** Where the scenario runs. */
export interface DriftScenarioContext extends FraudRunContext {
  // Scale as the main job's by default; the scenario writes its data under `dataDir/drift/`.
  /** Days after the baseline that are replayed, and how many of them come before the drift. @default 12, 2 */
  readonly replayDays?: number;
  readonly quietDays?: number;
  /** Days after a transaction whose labels realized performance waits for. @default 4 */
  readonly labelDelayDays?: number;
  /** The baseline model's trainer parameters. @default Example 1's champion */
  readonly championParams?: Readonly<Record<string, unknown>>;
  /** Retraining: the challenger's parameters and minimum labelled requests per variant. */
  readonly challengerParams?: Readonly<Record<string, unknown>>;
  readonly minLabels?: number;
  /**
   * The performance rule: realized `metric` below `below` alerts and starts retraining. @default
   * recall below 0.5. Recall at the serving threshold is what the business loses: the old champion
   * may still rank the new fraud above most sales (ROC AUC stays high), but it flags none of it.
   */
  readonly performanceRule?: { readonly metric: string; readonly below: number };
  /** Metric of the live champion/challenger comparison. @default pr_auc (fraud is rare: ROC AUC saturates) */
  readonly promotionMetric?: string;
  /** The new tactics (share of cards hit per day, fraudulent amounts); see the generator's defaults. */
  readonly drift?: {
    readonly dailyCompromisedShare?: number;
    readonly fraudAmount?: readonly [number, number];
  };
  /** How long to wait for the loop's steps (training, its decision). @default 600 s */
  readonly stepTimeoutMs?: number;
}

/** One replayed day. */
export interface ReplayedDay {
  readonly day: string;
  readonly drifted: boolean;
  readonly transactions: number;
  readonly fraud: number;
  readonly crypto: number;
  readonly window: { readonly start: string; readonly end: string };
  readonly monitorStatus: string;
  /** Columns whose drift test fired (`segment role column`). */
  readonly driftedColumns: readonly string[];
  /** Realized recall (at the serving threshold) and ROC AUC of the day `labelDelayDays` earlier, per segment. */
  readonly realized: readonly {
    segment: string;
    recall: number | null;
    rocAuc: number | null;
    labelled: number;
    day: string;
  }[];
  /** Alerts opened or notified again by this day's window. */
  readonly alerts: readonly string[];
  readonly servingModels: readonly string[];
}

/** What the webhook receiver got. */
export interface ReceivedAlert {
  readonly receivedAt: string;
  readonly signatureValid: boolean;
  readonly rule: string;
  readonly kind: string;
  readonly title: string;
}

/** What the scenario produced; `timeline` is what the summary prints. */
export interface DriftScenarioResult {
  readonly data: FraudData;
  readonly baseline: { readonly start: string; readonly end: string; readonly version: number };
  readonly driftStart: string;
  readonly days: readonly ReplayedDay[];
  readonly received: readonly ReceivedAlert[];
  readonly retraining: readonly {
    readonly cycle: number;
    readonly decision: string;
    readonly modelVersion: number | null;
    readonly reason: string;
    readonly at: string;
  }[];
  readonly decision: 'promoted' | 'rejected' | 'undecided';
  readonly comparison?: {
    readonly metric: string;
    readonly champion: number;
    readonly challenger: number;
    readonly interval: readonly number[];
    readonly labelled: number;
  };
  readonly servingAtEnd: readonly string[];
  readonly timeline: readonly string[];
  readonly workflowIds: readonly string[];
}

interface Txn {
  txn_id: string;
  event_time: Date;
  card_id: string;
  account_id: string;
  merchant_id: string;
  amount: number;
  category: string;
  card_type: string;
  lat: number;
  lon: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const iso = (d: Date | number) => new Date(d).toISOString();
const dayOf = (d: Date | number) => iso(d).slice(0, 10);

/**
 * Runs the drift scenario end to end (see the file comment); safe to run again: it rewrites its
 * groups' history, keeps every model version and deployment version, and starts a new loop cycle.
 */
export async function runDriftScenario(ctx: DriftScenarioContext): Promise<DriftScenarioResult> {
  const queues = fraudQueues(ctx);
  const log = ctx.log ?? (() => undefined);
  const ids: string[] = [];
  const timeline: string[] = [];
  const note = (when: string, what: string) => {
    timeline.push(`${when.padEnd(12)}${what}`);
  };
  const run = Date.now().toString(36);
  const replayDays = ctx.replayDays ?? 12;
  const quietDays = ctx.quietDays ?? 2;
  const labelDelay = ctx.labelDelayDays ?? 4;
  const stepTimeout = ctx.stepTimeoutMs ?? 600_000;
  const end = new Date(Math.floor(Date.now() / DAY) * DAY);
  const replayStart = new Date(end.getTime() - replayDays * DAY);
  const driftStart = new Date(replayStart.getTime() + quietDays * DAY);
  const execute = async <T>(workflow: string, taskQueue: string, workflowId: string, args: unknown[]) => {
    ids.push(workflowId);
    return (await ctx.client.workflow.execute(workflow, { taskQueue, workflowId, args })) as T;
  };

  log(`1/6 generating transactions: baseline, then new tactics from ${dayOf(driftStart)}`);
  const dir = path.join(ctx.dataDir, 'drift');
  const data = await generateFraudData(dir, {
    end,
    cards: ctx.cards ?? 800,
    days: ctx.days ?? 90,
    seed: 7,
    drift: { start: driftStart, ...ctx.drift },
  });
  const reportedFile = path.join(ctx.dataDir, DRIFT_REPORTED_CHARGEBACKS);
  const chargebacksKnownAt = (at: Date) => writeReportedChargebacks(data.chargebacks, reportedFile, at);
  await chargebacksKnownAt(replayStart);
  log(
    `    ${data.counts.transactions} transactions; from ${dayOf(driftStart)}: ${data.drift!.newFraudTransactions} fraudulent crypto purchases, ${data.drift!.legitCryptoTransactions} ordinary ones`,
  );

  log('2/6 baseline: feature backfill up to the replay, a model trained on it, deployed alone');
  for (const group of driftGroups) await registerFeatureGroup(ctx.db, group);
  await createFeatureView(ctx.db, driftView);
  const cardPipeline: FeaturePipelineSpec = {
    name: 'fraud-drift-card-activity',
    featureGroup: { name: DRIFT_NAMES.cardActivity },
    source: { kind: 'parquet', path: data.transactions, timeColumn: 'event_time' },
    transformation: 'fraud_card_activity',
    lookbackSeconds: 7 * 86_400,
  };
  const labelPipeline: FeaturePipelineSpec = {
    name: 'fraud-drift-labels',
    featureGroup: { name: DRIFT_NAMES.labels },
    source: { kind: 'parquet', path: data.transactions, timeColumn: 'event_time' },
    transformation: 'fraud_label_reported',
  };
  const feature = (spec: FeaturePipelineSpec, window: { start: Date; end: Date } | undefined, tag: string) =>
    execute('featurePipeline', queues.features, `drift-${spec.name}-${tag}-${run}`, [
      { pipeline: spec, ...(window ? { window: { start: iso(window.start), end: iso(window.end) } } : {}) },
    ]);
  const baselineWindow = { start: data.start, end: replayStart };
  // Reference data (accounts, merchants): whole files, one commit each.
  for (const [name, group, file, transformation] of [
    ['fraud-drift-accounts', DRIFT_NAMES.accounts, data.accounts, 'fraud_account'],
    ['fraud-drift-merchants', DRIFT_NAMES.merchants, data.merchants, 'fraud_merchant'],
  ] as const)
    await feature(
      {
        name,
        featureGroup: { name: group },
        source: { kind: 'parquet', path: file },
        transformation,
        operation: 'overwrite',
      },
      undefined,
      'baseline',
    );
  // A re-run rewrites the whole history: the groups (and their online rows) hold only the baseline.
  await feature({ ...cardPipeline, operation: 'overwrite' }, baselineWindow, 'baseline');
  await feature({ ...labelPipeline, operation: 'overwrite' }, baselineWindow, 'baseline');
  const trainingSpec = (name: string, params: Readonly<Record<string, unknown>>) => ({
    ...fraudTrainingPipeline(name, params, 'champion', queues.training),
    model: DRIFT_NAMES.model,
    featureView: { name: DRIFT_NAMES.view },
    description: 'card-fraud GBDT (drift scenario)',
  });
  const champion = await execute<{ version: number; state: string; metrics: Record<string, number> }>(
    'trainingPipeline',
    queues.training,
    `drift-train-baseline-${run}`,
    [{ spec: trainingSpec('fraud-drift-gbdt', ctx.championParams ?? championParams) }],
  );
  if (champion.state !== 'registered')
    throw new Error(`the baseline model did not pass its gates (${champion.state}); nothing to monitor`);
  const existing = await getDeployment(ctx.db, DRIFT_NAMES.deployment).catch(() => undefined);
  await execute('deploymentRollout', queues.inference, `drift-deploy-${run}`, [
    {
      deployment: DRIFT_NAMES.deployment,
      action: existing ? 'upgrade' : 'create',
      variants: [{ variant: 'main', model: DRIFT_NAMES.model, version: champion.version, weight: 100 }],
      missing: 'null',
      smoke: smokeRequest,
      by: 'fraud drift scenario',
    },
  ]);
  note(
    dayOf(replayStart),
    `baseline: ${DRIFT_NAMES.model} v${champion.version} trained on ${dayOf(data.start)} → ${dayOf(replayStart)} (test ROC AUC ${champion.metrics.roc_auc?.toFixed(3)}) serves ${DRIFT_NAMES.deployment} alone`,
  );

  log('3/6 monitor, signed webhook receiver, alert rules and the retraining policy');
  const secret = `drift-${run}-${Math.random().toString(36).slice(2)}`;
  const received: ReceivedAlert[] = [];
  const receiver = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const verified = verifyWebhookSignature({ secret, headers: request.headers, body });
      try {
        const alert = (JSON.parse(body) as { alert?: { rule?: string; kind?: string; title?: string } })
          .alert;
        if (alert)
          received.push({
            receivedAt: iso(Date.now()),
            signatureValid: verified.ok,
            rule: String(alert.rule),
            kind: String(alert.kind),
            title: String(alert.title),
          });
      } catch {
        // not JSON: the receiver answers 400 below
      }
      response.writeHead(verified.ok ? 204 : 401).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', () => resolve()));
  try {
    const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/fti-alerts`;
    await saveAlertSink(ctx.db, { name: DRIFT_NAMES.sink, url: receiverUrl, format: 'json', secret });
    await saveMonitor(ctx.db, {
      name: DRIFT_NAMES.monitor,
      subjectType: 'deployment',
      subject: DRIFT_NAMES.deployment,
      everySeconds: 86_400,
      labelDelaySeconds: labelDelay * 86_400,
    });
    await saveAlertRule(ctx.db, {
      name: DRIFT_NAMES.driftRule,
      kind: 'drift',
      subject: DRIFT_NAMES.monitor,
      sinks: [DRIFT_NAMES.sink],
      // The transaction's own fields: the replay serves card activity a day old (see the guide), so
      // card_* and distance_from_prev_km differ from training by construction, drift or not.
      condition: { roles: ['feature'], columns: [...WATCHED_COLUMNS] },
    });
    await saveAlertRule(ctx.db, {
      name: DRIFT_NAMES.performanceRule,
      kind: 'performance',
      subject: DRIFT_NAMES.monitor,
      sinks: [DRIFT_NAMES.sink],
      condition: ctx.performanceRule ?? { metric: 'recall', below: 0.5 },
    });
    const training = trainingSpec('fraud-drift-retrain', ctx.challengerParams ?? championParams);
    delete (training as { alias?: string }).alias;
    await saveRetrainingPolicy(ctx.db, {
      name: DRIFT_NAMES.policy,
      deployment: DRIFT_NAMES.deployment,
      rules: [DRIFT_NAMES.performanceRule],
      training: training as unknown as Record<string, unknown>,
      // The last 30 days: the store holds only what the replay has reached.
      trainingWindowSeconds: 30 * 86_400,
      mode: 'shadow',
      metric: ctx.promotionMetric ?? 'pr_auc',
      minLabels: ctx.minLabels ?? 1000,
      confidence: 0.95,
      checkEverySeconds: 5,
      maxWaitSeconds: Math.ceil(stepTimeout / 1000) * 2,
    });
    const loopId = retrainingWorkflowId(DRIFT_NAMES.policy);
    // The scenario owns its loop: one left running by an earlier run (perhaps on other queues) goes.
    const previous = ctx.client.workflow.getHandle(loopId);
    if (
      await previous.describe().then(
        (d) => d.status.name === 'RUNNING',
        () => false,
      )
    )
      await previous.terminate('fraud drift scenario: a new run starts its own loop');
    await ctx.client.workflow.start('retrainingLoop', {
      taskQueue: queues.inference,
      workflowId: loopId,
      args: [
        { policy: DRIFT_NAMES.policy, queues: { training: queues.training, inference: queues.inference } },
      ],
    });
    ids.push(loopId);
    const cyclesBefore = (await retrainingHistory(ctx.db, DRIFT_NAMES.policy))[0]?.cycle ?? 0;
    const { key } = await createApiKey(ctx.db, `fraud-drift-${run}`, {
      scopes: ['predict', 'labels'],
      deployments: [DRIFT_NAMES.deployment],
    });

    log(`4/6 replaying ${replayDays} days through ${ctx.serviceUrl}: one monitoring window per day`);
    const transactions = await readTransactions(data.transactions, replayStart, end);
    const chargebacks = await readChargebacks(data.chargebacks);
    const labels = labelArrivals(transactions, chargebacks);
    let labelsSent = 0;
    const days: ReplayedDay[] = [];
    const windows: { start: Date; end: Date }[] = [];
    let challengerJoined = false;
    const noted = new Set<number>();
    const noteSteps = (when: string, steps: readonly RetrainingStep[]) => {
      for (const s of [...steps].reverse())
        if (s.decision !== 'waiting' && !noted.has(s.id)) {
          noted.add(s.id);
          note(
            when,
            `retraining cycle ${s.cycle}: ${s.decision}${s.modelVersion ? ` v${s.modelVersion}` : ''} — ${reasonOf(s)}`,
          );
          log(`    ${timeline.at(-1)}`);
        }
    };
    const seenDeliveries = new Set<ReceivedAlert>();
    const noteDeliveries = (when: string) => {
      for (const r of received)
        if (!seenDeliveries.has(r)) {
          seenDeliveries.add(r);
          note(
            when,
            `webhook got ${r.kind} alert "${r.title}" (signature ${r.signatureValid ? 'valid' : 'INVALID'})`,
          );
          log(`    ${timeline.at(-1)}`);
        }
    };
    for (let d = 0; d < replayDays; d++) {
      const dayStart = replayStart.getTime() + d * DAY;
      const today = transactions.filter(
        (t) => t.event_time.getTime() >= dayStart && t.event_time.getTime() < dayStart + DAY,
      );
      const windowStart = new Date();
      for (let i = 0; i < today.length; i += 500)
        await postJson(ctx.serviceUrl, key, `/v1/deployments/${DRIFT_NAMES.deployment}/predict`, {
          instances: today.slice(i, i + 500).map((t) => ({
            keys: { card_id: t.card_id, account_id: t.account_id, merchant_id: t.merchant_id },
            request: {
              amount: t.amount,
              category: t.category,
              card_type: t.card_type,
              lat: t.lat,
              lon: t.lon,
            },
            eventTime: iso(t.event_time),
          })),
        });
      await sleep(1200); // the prediction log flushes every 500 ms
      const window = { start: windowStart, end: new Date() };
      windows.push(window);
      const performanceWindow = d >= labelDelay ? windows[d - labelDelay] : undefined;
      const summary = await execute<MonitorRunSummary>(
        'monitorWindow',
        queues.inference,
        `drift-window-${dayOf(dayStart)}-${run}`,
        [
          {
            monitor: DRIFT_NAMES.monitor,
            window: { start: iso(window.start), end: iso(window.end) },
            ...(performanceWindow
              ? {
                  performanceWindow: { start: iso(performanceWindow.start), end: iso(performanceWindow.end) },
                }
              : {}),
          },
        ],
      );
      const stored = (await monitorHistory(ctx.db, DRIFT_NAMES.monitor, { last: 1 })).runs[0]!;
      const drifted = stored.results
        .filter((r) => r.role !== 'performance' && r.role !== 'estimated_performance' && r.drift)
        .map((r) => `${r.segment} ${r.role} ${r.column}`);
      const coverage = (segment: string) =>
        stored.results.find(
          (r) => r.segment === segment && r.role === 'performance' && r.column === 'label_coverage',
        );
      const metricOf = (segment: string, metric: string) =>
        stored.results.find((r) => r.segment === segment && r.role === 'performance' && r.column === metric)
          ?.score ?? null;
      const realized = [
        ...new Set(stored.results.filter((r) => r.role === 'performance').map((r) => r.segment)),
      ]
        .filter((segment) => !segment.includes('/'))
        .map((segment) => ({
          segment,
          recall: metricOf(segment, 'recall'),
          rocAuc: metricOf(segment, 'roc_auc'),
          labelled: Math.round((coverage(segment)?.score ?? 0) * (coverage(segment)?.values ?? 0)),
          day: dayOf(dayStart - labelDelay * DAY),
        }));
      const opened = await alertsOpenedSince(ctx.db, window.start);
      const serving = (await getDeployment(ctx.db, DRIFT_NAMES.deployment)).current.bindings.map(
        (b) => `${b.variant}${b.shadow ? ' (shadow)' : ''} v${b.model.version}`,
      );
      const replayed: ReplayedDay = {
        day: dayOf(dayStart),
        drifted: dayStart >= driftStart.getTime(),
        transactions: today.length,
        fraud: today.filter((t) => chargebacks.has(t.txn_id)).length,
        crypto: today.filter((t) => t.category === DRIFT_CATEGORY).length,
        window: { start: iso(window.start), end: iso(window.end) },
        monitorStatus: summary.status,
        driftedColumns: drifted,
        realized,
        alerts: opened,
        servingModels: serving,
      };
      days.push(replayed);
      const watched = drifted
        .map((c) => c.split(' ').at(-1)!)
        .filter((c) => (WATCHED_COLUMNS as readonly string[]).includes(c));
      const others = drifted.length - watched.length;
      const auc = realized
        .map(
          (r) =>
            `${r.segment} recall ${r.recall === null ? 'n/a' : r.recall.toFixed(2)}, ROC AUC ${r.rocAuc === null ? 'n/a' : r.rocAuc.toFixed(3)} (${r.labelled} labelled)`,
        )
        .join(', ');
      note(
        replayed.day,
        `${today.length} txns, ${replayed.crypto} crypto; drift: ${watched.length ? watched.join(', ') : 'none'}${others ? ` (+${others} stale card-activity columns)` : ''}${auc ? `; realized on ${dayOf(dayStart - labelDelay * DAY)}: ${auc}` : ''}${opened.length ? `; ALERT ${opened.join(', ')}` : ''}`,
      );
      log(`    ${timeline.at(-1)}`);
      await sleep(500); // the alert's delivery workflow runs right after the window
      noteDeliveries(replayed.day);

      // The day ends: labels that arrived by then (chargebacks, and "no dispute" a day after a sale)
      // reach the service and the label feature group; the day's card activity is computed.
      const dayEnd = new Date(dayStart + DAY);
      labelsSent += await pushLabelsUntil(ctx.serviceUrl, key, labels, labelsSent, dayEnd);
      await chargebacksKnownAt(dayEnd);
      await feature(cardPipeline, { start: new Date(dayStart), end: dayEnd }, dayOf(dayStart));
      await feature(
        labelPipeline,
        { start: new Date(Math.max(replayStart.getTime(), dayStart - 10 * DAY)), end: dayEnd },
        dayOf(dayStart),
      );

      // Once the loop has started retraining, the replay waits for the challenger to join.
      const steps = await cycleSteps(ctx.db, cyclesBefore);
      noteSteps(replayed.day, steps);
      if (!challengerJoined && steps.some((s) => s.decision === 'triggered')) {
        log('    the retraining loop started: waiting for its challenger to join as a shadow');
        const joined = await waitFor(stepTimeout, async () => {
          const s = await cycleSteps(ctx.db, cyclesBefore);
          if (s.some((x) => x.decision === 'rejected_by_gates' || x.decision === 'failed'))
            throw new Error(
              `retraining ended early: ${s.map((x) => `${x.decision}: ${reasonOf(x)}`).join('; ')}`,
            );
          return s.some((x) => x.decision === 'challenger_deployed');
        });
        if (!joined) throw new Error('the retrained challenger did not join the deployment in time');
        challengerJoined = true;
        noteSteps(replayed.day, await cycleSteps(ctx.db, cyclesBefore));
        await sleep(3000); // the service reloads the deployment within a few seconds
      }
    }

    log('5/6 the remaining chargebacks arrive; waiting for the loop to decide');
    labelsSent += await pushLabelsUntil(
      ctx.serviceUrl,
      key,
      labels,
      labelsSent,
      new Date(end.getTime() + 11 * DAY),
    );
    const triggered = (await cycleSteps(ctx.db, cyclesBefore)).some((s) => s.decision === 'triggered');
    const decided =
      triggered &&
      (await waitFor(stepTimeout, async () =>
        (await cycleSteps(ctx.db, cyclesBefore)).some((s) => ['promoted', 'rejected'].includes(s.decision)),
      ));
    const steps = (await cycleSteps(ctx.db, cyclesBefore)).reverse();
    noteSteps('after', steps);
    await sleep(2000); // late webhook deliveries
    noteDeliveries('after');
    const final = steps.find((s) => s.decision === 'promoted' || s.decision === 'rejected');
    const evidence = (final?.evidence ?? {}) as {
      comparison?: {
        metric: string;
        champion: { value: number; labelled?: number };
        challenger: { value: number; labelled?: number };
        interval: number[];
        labelled?: number;
      };
    };
    const servingAtEnd = (await getDeployment(ctx.db, DRIFT_NAMES.deployment)).current.bindings.map(
      (b) => `${b.variant}${b.shadow ? ' (shadow)' : ''} v${b.model.version}`,
    );
    log('6/6 done');
    return {
      data,
      baseline: { start: iso(data.start), end: iso(replayStart), version: champion.version },
      driftStart: iso(driftStart),
      days,
      received,
      retraining: steps.map((s) => ({
        cycle: s.cycle,
        decision: s.decision,
        modelVersion: s.modelVersion,
        reason: reasonOf(s),
        at: iso(s.at),
      })),
      decision: !decided || !final ? 'undecided' : (final.decision as 'promoted' | 'rejected'),
      ...(evidence.comparison
        ? {
            comparison: {
              metric: evidence.comparison.metric,
              champion: evidence.comparison.champion.value,
              challenger: evidence.comparison.challenger.value,
              interval: evidence.comparison.interval,
              labelled: evidence.comparison.labelled ?? evidence.comparison.champion.labelled ?? 0,
            },
          }
        : {}),
      servingAtEnd,
      timeline,
      workflowIds: ids,
    };
  } finally {
    receiver.close();
  }
}

type RetrainingStep = Awaited<ReturnType<typeof retrainingHistory>>[number];

/** One line on a loop step, from its evidence. */
function reasonOf(s: RetrainingStep): string {
  const e = s.evidence as {
    reason?: string;
    error?: string;
    triggers?: { rule?: string }[];
    trainingDataset?: { version?: number; rows?: number };
    variants?: { variant: string; shadow?: boolean; weight?: number }[];
  };
  if (s.decision === 'triggered')
    return `started by alert rule ${(e.triggers ?? []).map((t) => t.rule).join(', ')}`;
  if (s.decision === 'trained')
    return `trained on the last 30 days the feature store holds${e.trainingDataset?.version ? ` (training dataset #${e.trainingDataset.version})` : ''}`;
  if (s.decision === 'challenger_deployed')
    return 'joins the deployment as a shadow: scores every request, answers none';
  return e.reason ?? e.error ?? '';
}

/** Steps of the loop's cycles started by this run, newest first. */
async function cycleSteps(db: Database, cyclesBefore: number): Promise<RetrainingStep[]> {
  return (await retrainingHistory(db, DRIFT_NAMES.policy)).filter((s) => s.cycle > cyclesBefore);
}

async function waitFor(timeoutMs: number, done: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await done()) return true;
    await sleep(1000);
  }
  return false;
}

async function postJson(base: string, key: string, route: string, body: unknown): Promise<unknown> {
  const response = await fetch(`${base}${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`POST ${route} failed: HTTP ${response.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as unknown;
}

interface LabelArrival {
  readonly at: number;
  readonly keys: { card_id: string; account_id: string; merchant_id: string };
  readonly eventTime: string;
  readonly label: 'true' | 'false';
}

/**
 * When each label reaches the platform: a sale counts as undisputed ("false") a day after it; a
 * chargeback, when reported, corrects it to "true". Sorted by arrival.
 */
function labelArrivals(transactions: readonly Txn[], chargebacks: ReadonlyMap<string, Date>): LabelArrival[] {
  const out: LabelArrival[] = [];
  for (const t of transactions) {
    const keys = { card_id: t.card_id, account_id: t.account_id, merchant_id: t.merchant_id };
    const eventTime = iso(t.event_time);
    out.push({ at: t.event_time.getTime() + DAY, keys, eventTime, label: 'false' });
    const reported = chargebacks.get(t.txn_id);
    if (reported)
      out.push({
        at: Math.max(reported.getTime(), t.event_time.getTime() + DAY + 1),
        keys,
        eventTime,
        label: 'true',
      });
  }
  return out.sort((a, b) => a.at - b.at);
}

/** Pushes the labels that arrived before `until` (from index `sent`); returns how many it pushed. */
async function pushLabelsUntil(
  base: string,
  key: string,
  labels: readonly LabelArrival[],
  sent: number,
  until: Date,
): Promise<number> {
  let i = sent;
  while (i < labels.length && labels[i]!.at < until.getTime()) i++;
  for (let j = sent; j < i; j += 5000)
    await postJson(base, key, `/v1/deployments/${DRIFT_NAMES.deployment}/labels`, {
      labels: labels
        .slice(j, Math.min(i, j + 5000))
        .map((l) => ({ keys: l.keys, eventTime: l.eventTime, label: l.label })),
    });
  return i - sent;
}

/** Alerts of the scenario's rules opened or notified since `since`. */
async function alertsOpenedSince(db: Database, since: Date): Promise<string[]> {
  const alerts = await listAlerts(db, { state: 'all' });
  return alerts
    .filter(
      (a) =>
        [DRIFT_NAMES.driftRule, DRIFT_NAMES.performanceRule].includes(a.rule as never) &&
        (a.firstFiredAt.getTime() >= since.getTime() ||
          (a.notifiedAt !== null && a.notifiedAt.getTime() >= since.getTime())),
    )
    .map((a) => `${a.rule}: ${a.title}`);
}

async function readTransactions(file: string, start: Date, end: Date): Promise<Txn[]> {
  return withDuck(async (duck) => {
    const rows = await duck.all<Record<string, unknown>>(
      `SELECT * FROM read_parquet(${sqlPath(file)}) WHERE event_time >= ${sqlTimestamp(start)} AND event_time < ${sqlTimestamp(end)} ORDER BY event_time`,
    );
    return rows.map((r) => ({
      txn_id: String(r.txn_id),
      event_time: new Date(r.event_time as Date),
      card_id: String(r.card_id),
      account_id: String(r.account_id),
      merchant_id: String(r.merchant_id),
      amount: Number(r.amount),
      category: String(r.category),
      card_type: String(r.card_type),
      lat: Number(r.lat),
      lon: Number(r.lon),
    }));
  });
}

async function readChargebacks(file: string): Promise<Map<string, Date>> {
  return withDuck(async (duck) => {
    const rows = await duck.all<{ txn_id: string; reported_at: Date }>(
      `SELECT txn_id, reported_at FROM read_parquet(${sqlPath(file)}) WHERE is_fraud`,
    );
    return new Map(rows.map((r) => [String(r.txn_id), new Date(r.reported_at)]));
  });
}

/** Writes the chargebacks reported before `at` where the label pipeline reads them (atomically). */
async function writeReportedChargebacks(all: string, target: string, at: Date): Promise<void> {
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const partial = `${target}.${process.pid}.tmp`;
  await withDuck((duck) =>
    duck.run(
      `COPY (SELECT * FROM read_parquet(${sqlPath(all)}) WHERE reported_at < ${sqlTimestamp(at)}) TO ${sqlPath(partial)} (FORMAT parquet)`,
    ),
  );
  fs.renameSync(partial, target);
}

const sqlTimestamp = (d: Date) => `TIMESTAMP '${iso(d).replace('T', ' ').replace('Z', '')}'`;
