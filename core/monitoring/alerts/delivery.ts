/**
 * One delivery attempt of one alert notification to one sink, recorded in the delivery history.
 * Retries are the caller's (the `deliverAlert` workflow retries durably while `retryable`).
 */
import type { Database } from '../../db';
import { getAlert, notificationEventId, recordDelivery } from './lifecycle';
import type { AlertEvent, AlertKind, AlertSeverity, AlertSubject } from './payload';
import { loadAlertSink } from './rules';
import { deliverWebhook, type DeliverWebhookOptions, type WebhookDeliveryResult } from './webhook';

/** Which subject type an alert kind is about. */
function subjectType(kind: string, details: Readonly<Record<string, unknown>>): AlertSubject['type'] {
  if (details.subjectType === 'feature_group') return 'feature_group';
  if (kind === 'pipeline_failure') return 'pipeline';
  if (kind === 'validation_failure' || kind === 'stale_feature_group') return 'feature_group';
  if (kind === 'freshness') return 'stream_pipeline';
  return 'deployment';
}

/** The event a notification sends: the alert as stored, with an id stable across retries. */
export async function alertEventOf(db: Database, alertId: string, notification: number): Promise<AlertEvent> {
  const { alert } = await getAlert(db, alertId);
  return {
    id: notificationEventId(alertId, notification),
    rule: alert.rule,
    kind: alert.kind as AlertKind,
    severity: alert.severity as AlertSeverity,
    subject: { type: subjectType(alert.kind, alert.details), name: alert.subject },
    title: alert.title,
    summary: alert.summary,
    details: { ...alert.details, alertId, notification, state: alert.state, count: alert.count },
    firedAt: alert.lastFiredAt.toISOString(),
  };
}

/**
 * Sends notification `notification` of an alert to `sink` once and records the attempt (number
 * `attempt`). Returns the classified outcome; never throws for a receiver's failure.
 */
export async function deliverAlertNotification(
  db: Database,
  request: { alertId: string; sink: string; notification: number; attempt: number },
  options: DeliverWebhookOptions = {},
): Promise<WebhookDeliveryResult> {
  const sink = await loadAlertSink(db, request.sink);
  const event = await alertEventOf(db, request.alertId, request.notification);
  const result = await deliverWebhook(sink, event, options);
  await recordDelivery(db, {
    ...request,
    ok: result.ok,
    ...(result.status !== undefined ? { status: result.status } : {}),
    ...(result.error !== undefined ? { error: result.error } : {}),
    durationMs: result.durationMs,
  });
  return result;
}

/** A `test` event to check a sink end to end (`fti alerts test`); not stored as an alert. */
export function testAlertEvent(sink: string): AlertEvent {
  return {
    id: notificationEventId(`test-${sink}-${Date.now()}`, 1),
    rule: 'test',
    kind: 'test',
    severity: 'info',
    subject: { type: 'pipeline', name: sink },
    title: `Test alert for sink ${sink}`,
    summary:
      'If you can read this, the FTI Platform can reach this webhook (and its signature verifies, if one is set).',
    details: { sink },
    firedAt: new Date().toISOString(),
  };
}
