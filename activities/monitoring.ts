import { ApplicationFailure, Context } from '@temporalio/activity';
import type { FeatureViewDeps } from '../core/featurestore';
import { runDeploymentMonitor, type MonitorRunSummary } from '../core/monitoring/deployment-monitor';
import { deliverAlertNotification } from '../core/monitoring/alerts/delivery';
import { evaluateMonitorRules, sweepAlertRules } from '../core/monitoring/alerts/evaluate';
import type { AlertNotification } from '../core/monitoring/alerts/lifecycle';
import { activityBoundary } from './failures';

/** A monitoring window as carried across Temporal (ISO times). */
export interface MonitorWindowRequest {
  readonly monitor: string;
  readonly windowEnd: string;
  readonly windowStart?: string;
}

/** The monitoring and alerting activities (registered on the inference queue, which reads the prediction log). */
export interface MonitoringActivities {
  runMonitorWindow(request: MonitorWindowRequest): Promise<MonitorRunSummary>;
  /** Evaluates the monitor's alert rules on a stored window; returns the notifications to deliver. */
  evaluateMonitorAlerts(summary: MonitorRunSummary): Promise<AlertNotification[]>;
  /** Evaluates the sweep rules (failures, staleness, freshness). */
  sweepAlerts(): Promise<AlertNotification[]>;
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
        runDeploymentMonitor(
          { db: deps.db, store: deps.store, scratchDir: deps.scratchDir },
          request.monitor,
          new Date(request.windowEnd),
          request.windowStart ? new Date(request.windowStart) : undefined,
        ),
      ),
    evaluateMonitorAlerts: (summary) => activityBoundary(() => evaluateMonitorRules(deps.db, summary)),
    sweepAlerts: () => activityBoundary(() => sweepAlertRules(deps.db)),
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
