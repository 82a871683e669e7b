import { ApplicationFailure, Context } from '@temporalio/activity';
import type { FeatureViewDeps } from '../core/featurestore';
import type { MonitorRunSummary } from '../core/monitoring/deployment-monitor';
import { runMonitor } from '../core/monitoring/run-monitor';
import { deliverAlertNotification } from '../core/monitoring/alerts/delivery';
import { evaluateMonitorRules, sweepAlertRules } from '../core/monitoring/alerts/evaluate';
import type { AlertNotification } from '../core/monitoring/alerts/lifecycle';
import { ValidationError } from '../core/errors';
import { compareOnLiveLabels, type LiveComparison } from '../core/monitoring/live-comparison';
import {
  afterDecision,
  CHALLENGER_VARIANT,
  comparisonToleranceSeconds,
  getRetrainingPolicy,
  policiesForAlerts,
  recordRetrainingDecision,
  retrainingHistory,
  withChallenger,
  type RetrainingDecision,
} from '../core/monitoring/retraining';
import { listMonitors } from '../core/monitoring/monitors';
import type { TrainingPipelineSpec } from '../core/ml/training-pipeline';
import type { Task } from '../core/ml/task';
import { getModelVersion, getModelVersionById, setModelAlias } from '../core/registry';
import { getDeployment } from '../core/serving/deployments';
import { activityBoundary } from './failures';
import type { DeploymentChange } from './inference';

/** A monitoring window as carried across Temporal (ISO times). */
export interface MonitorWindowRequest {
  readonly monitor: string;
  readonly windowEnd: string;
  readonly windowStart?: string;
  /** Served window whose realized performance to report (replays); default: the window − label delay. */
  readonly performanceWindow?: { readonly start: string; readonly end: string };
}

/** The monitoring and alerting activities (registered on the inference queue, which reads the prediction log). */
export interface MonitoringActivities {
  runMonitorWindow(request: MonitorWindowRequest): Promise<MonitorRunSummary>;
  /** Evaluates the monitor's alert rules on a stored window; returns the notifications to deliver. */
  evaluateMonitorAlerts(summary: MonitorRunSummary): Promise<AlertNotification[]>;
  /** Evaluates the sweep rules (failures, staleness, freshness) as of `now`, fixed by the workflow so a retry evaluates the same instant. */
  sweepAlerts(now?: string): Promise<AlertNotification[]>;
  /** The last cycle a policy's loop recorded (0 for none). */
  lastRetrainingCycle(policy: string): Promise<number>;
  /** Records a step of a retraining loop. */
  recordRetraining(decision: RetrainingDecision): Promise<void>;
  /** The policy's training spec with its dataset window ending now, and its comparison timing. */
  retrainingSpec(
    policy: string,
  ): Promise<{ training: TrainingPipelineSpec; checkEverySeconds: number; maxWaitSeconds: number }>;
  /** The deployment change that adds the challenger, and the champion's variant. */
  challengerChange(
    policy: string,
    model: string,
    version: number,
    cycle: number,
  ): Promise<{ champion: string; change: DeploymentChange }>;
  /** Challenger versus champion on the labelled traffic since `since`. */
  compareChallenger(policy: string, champion: string, since: string): Promise<LiveComparison>;
  /** The deployment change that promotes or removes the challenger, with the evidence. */
  decisionChange(
    policy: string,
    champion: string,
    promote: boolean,
    cycle: number,
    evidence: Record<string, unknown>,
  ): Promise<DeploymentChange>;
  /** Moves the model's `champion` alias to the promoted version. */
  moveChampionAlias(model: string, version: number, policy: string): Promise<void>;
  /** The retraining policies these alerts trigger. */
  retrainingTargets(
    alertIds: readonly string[],
  ): Promise<{ policy: string; alertId: string; rule: string }[]>;
  /** One delivery attempt; fails retryably while the receiver is down or answers 408/429/5xx. */
  deliverAlertNotification(request: { alertId: string; sink: string; notification: number }): Promise<{
    status?: number;
    durationMs: number;
  }>;
}

/** Builds the monitoring activities over the worker's adapters. */
export function createMonitoringActivities(deps: FeatureViewDeps): MonitoringActivities {
  return {
    runMonitorWindow: (request) =>
      activityBoundary(() =>
        runMonitor(
          deps,
          request.monitor,
          new Date(request.windowEnd),
          request.windowStart ? new Date(request.windowStart) : undefined,
          request.performanceWindow
            ? {
                performanceWindow: {
                  start: new Date(request.performanceWindow.start),
                  end: new Date(request.performanceWindow.end),
                },
              }
            : {},
        ),
      ),
    evaluateMonitorAlerts: (summary) => activityBoundary(() => evaluateMonitorRules(deps.db, summary)),
    sweepAlerts: (now) => activityBoundary(() => sweepAlertRules(deps.db, now ? new Date(now) : new Date())),
    lastRetrainingCycle: (policy) =>
      activityBoundary(async () => (await retrainingHistory(deps.db, policy, 1))[0]?.cycle ?? 0),
    recordRetraining: (decision) => activityBoundary(() => recordRetrainingDecision(deps.db, decision)),
    retrainingSpec: (name) =>
      activityBoundary(async () => {
        const policy = await getRetrainingPolicy(deps.db, name);
        const training = { ...policy.training } as TrainingPipelineSpec & { trainingDataset?: unknown };
        if (policy.trainingWindowSeconds) {
          const now = new Date();
          const created =
            (policy.training as { trainingDataset?: { create?: Record<string, unknown> } }).trainingDataset
              ?.create ?? {};
          (training as { trainingDataset: unknown }).trainingDataset = {
            create: {
              ...created,
              start: new Date(now.getTime() - policy.trainingWindowSeconds * 1000).toISOString(),
              end: now.toISOString(),
            },
          };
        }
        return {
          training,
          checkEverySeconds: policy.checkEverySeconds,
          maxWaitSeconds: policy.maxWaitSeconds,
        };
      }),
    challengerChange: (name, model, version, cycle) =>
      activityBoundary(async () => {
        const policy = await getRetrainingPolicy(deps.db, name);
        const { champion, variants } = await withChallenger(deps.db, policy, model, version);
        return {
          champion,
          change: {
            deployment: policy.deployment,
            action: policy.mode === 'ab' ? 'split' : 'upgrade',
            variants,
            by: `retraining policy ${name}`,
            settings: {
              retraining: {
                policy: name,
                cycle,
                step: 'challenger',
                mode: policy.mode,
                weight: policy.weight,
              },
            },
          },
        };
      }),
    compareChallenger: (name, champion, since) =>
      activityBoundary(async () => {
        const policy = await getRetrainingPolicy(deps.db, name);
        const deployment = await getDeployment(deps.db, policy.deployment);
        const binding = deployment.current.bindings.find((b) => b.variant === CHALLENGER_VARIANT);
        if (!binding)
          throw new ValidationError(
            `deployment ${policy.deployment} has no ${CHALLENGER_VARIANT} variant any more (changed by hand?).`,
          );
        const model = await getModelVersionById(deps.db, binding.model.id);
        const task = model.signature.task as Task;
        return compareOnLiveLabels(deps.db, {
          deployment: policy.deployment,
          champion,
          challenger: CHALLENGER_VARIANT,
          since: new Date(since),
          metric: policy.metric,
          task,
          classes: task === 'regression' ? null : [...(model.signature.classes ?? [])],
          minLabels: policy.minLabels,
          confidence: policy.confidence,
          toleranceSeconds: comparisonToleranceSeconds(await listMonitors(deps.db), policy.deployment),
        });
      }),
    decisionChange: (name, champion, promote, cycle, evidence) =>
      activityBoundary(async () => {
        const policy = await getRetrainingPolicy(deps.db, name);
        // A promotion moves the model's champion alias after this change: remember where it pointed,
        // so that rolling this deployment version back can point it there again.
        const model = policy.training.model;
        const aliasBefore = promote
          ? await getModelVersion(deps.db, model, 'champion').then(
              (v) => v.version,
              () => null,
            )
          : null;
        return {
          deployment: policy.deployment,
          action: 'upgrade' as const,
          variants: await afterDecision(deps.db, policy, champion, promote),
          by: `retraining policy ${name}`,
          settings: {
            retraining: { policy: name, cycle, step: promote ? 'promoted' : 'rejected', ...evidence },
            ...(promote ? { championAliasBefore: { model, alias: 'champion', version: aliasBefore } } : {}),
          },
        };
      }),
    moveChampionAlias: (model, version, policy) =>
      activityBoundary(async () => {
        await setModelAlias(deps.db, model, 'champion', version, {
          changedBy: `retraining policy ${policy}`,
        });
      }),
    retrainingTargets: (alertIds) => activityBoundary(() => policiesForAlerts(deps.db, alertIds)),
    deliverAlertNotification: async (request) => {
      const context = Context.current();
      const result = await activityBoundary(() =>
        deliverAlertNotification(
          deps.db,
          { ...request, attempt: context.info.attempt },
          { signal: context.cancellationSignal },
        ),
      );
      if (result.ok)
        return {
          ...(result.status !== undefined ? { status: result.status } : {}),
          durationMs: result.durationMs,
        };
      const message = `alert ${request.alertId} to sink ${request.sink}: ${result.error ?? 'delivery failed'}`;
      if (!result.retryable) throw ApplicationFailure.nonRetryable(message, 'WebhookRejected');
      throw ApplicationFailure.create({
        message,
        type: 'WebhookUnavailable',
        ...(result.retryAfterMs ? { nextRetryDelay: result.retryAfterMs } : {}),
      });
    },
  };
}
