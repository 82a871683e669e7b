import { WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy } from '@temporalio/common';
import {
  getExternalWorkflowHandle,
  log,
  ParentClosePolicy,
  proxyActivities,
  startChild,
} from '@temporalio/workflow';
import type { AlertNotification } from '../core/monitoring/alerts/lifecycle';
import type { MonitoringActivities } from '../activities/monitoring';
import { retrainingWorkflowId } from '../core/pipelines';
import { retrainSignal } from './retraining';

/** Input of {@link deliverAlert}. Retry timing is adjustable (tests use seconds). */
export interface DeliverAlertInput {
  readonly alertId: string;
  readonly sink: string;
  readonly notification: number;
  /** First retry after this long; doubles up to `maximumIntervalMs`. @default 5 000 */
  readonly initialIntervalMs?: number;
  /** @default 300 000 (5 minutes) */
  readonly maximumIntervalMs?: number;
  /** Give up after this long. @default 86 400 000 (a day) */
  readonly giveUpAfterMs?: number;
}

/**
 * Delivers one alert notification to one sink, retrying durably while the receiver is down or
 * answers 408/429/5xx (every attempt is recorded in `alert_deliveries`), and giving up at once on a
 * 4xx that says the request itself is wrong. Started once per (alert, notification, sink).
 */
export async function deliverAlert(input: DeliverAlertInput): Promise<{ delivered: boolean }> {
  const { deliverAlertNotification } = proxyActivities<MonitoringActivities>({
    startToCloseTimeout: '1 minute',
    scheduleToCloseTimeout: input.giveUpAfterMs ?? 86_400_000,
    retry: {
      initialInterval: input.initialIntervalMs ?? 5_000,
      backoffCoefficient: 2,
      maximumInterval: input.maximumIntervalMs ?? 300_000,
    },
  });
  await deliverAlertNotification({
    alertId: input.alertId,
    sink: input.sink,
    notification: input.notification,
  });
  return { delivered: true };
}

/**
 * Starts one {@link deliverAlert} per notification and sink, abandoned by the caller (a delivery
 * outlives the window or sweep that raised it). Ids are deterministic, so a retried caller starts
 * nothing twice.
 */
export async function startDeliveries(
  notifications: readonly AlertNotification[],
  retry: Pick<DeliverAlertInput, 'initialIntervalMs' | 'maximumIntervalMs'> = {},
): Promise<number> {
  let started = 0;
  for (const n of notifications)
    for (const sink of n.sinks) {
      try {
        await startChild(deliverAlert, {
          workflowId: `alert-${n.alertId}-${n.notification}-${sink}`,
          args: [{ alertId: n.alertId, sink, notification: n.notification, ...retry }],
          parentClosePolicy: ParentClosePolicy.ABANDON,
          // A retried caller must not send a notification a finished delivery already sent.
          workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        });
        started++;
      } catch (error) {
        if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      }
    }
  if (started) log.info('alert deliveries started', { started });
  return started;
}

/**
 * What follows new notifications: their deliveries, and a `retrain` signal to every retraining
 * loop one of their rules triggers (a loop that is busy, or not running, ignores it).
 */
export async function afterAlerts(
  notifications: readonly AlertNotification[],
  retry: Pick<DeliverAlertInput, 'initialIntervalMs' | 'maximumIntervalMs'> = {},
): Promise<void> {
  await startDeliveries(notifications, retry);
  if (notifications.length === 0) return;
  for (const t of await sweep.retrainingTargets(notifications.map((n) => n.alertId))) {
    try {
      await getExternalWorkflowHandle(retrainingWorkflowId(t.policy)).signal(retrainSignal, {
        alertId: t.alertId,
        rule: t.rule,
      });
    } catch (error) {
      log.warn('retraining loop not signalled (is it running? fti retrain create starts it)', {
        policy: t.policy,
        error: String(error),
      });
    }
  }
}

const sweep = proxyActivities<MonitoringActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { maximumAttempts: 5, initialInterval: '2 seconds' },
});

/** Input of {@link alertSweep}. */
export interface AlertSweepInput {
  /** Retry timing of the deliveries it starts (tests use seconds). */
  readonly retry?: Pick<DeliverAlertInput, 'initialIntervalMs' | 'maximumIntervalMs'>;
}

/**
 * The periodic alert sweep (Temporal Schedule `alerts-sweep`, every minute, on `fti-inference`):
 * pipeline and validation failures, stale feature groups and stream freshness; notifications are
 * delivered by {@link deliverAlert}.
 */
export async function alertSweep(input: AlertSweepInput = {}): Promise<{ notifications: number }> {
  const notifications = await sweep.sweepAlerts(new Date().toISOString());
  await afterAlerts(notifications, input.retry);
  return { notifications: notifications.length };
}
