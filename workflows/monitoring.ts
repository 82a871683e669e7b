import { ApplicationFailure, defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { log, proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { MonitoringActivities } from '../activities/monitoring';
import type { MonitorRunSummary } from '../core/monitoring/deployment-monitor';
import { afterAlerts } from './alerts';

/** Input of {@link monitorWindow}: the monitor, and a window on manual runs (none on scheduled runs). */
export interface MonitorWindowInput {
  readonly monitor: string;
  /** `end` defaults to the scheduled time; `start` to `end` − the monitor's window. */
  readonly window?: { readonly start?: string; readonly end: string };
  /**
   * Served window whose realized performance this window reports, instead of the window
   * `--label-delay` earlier (replays of history compressed in time).
   */
  readonly performanceWindow?: { readonly start: string; readonly end: string };
  /** Retry timing of alert deliveries (tests use seconds). */
  readonly alertRetry?: { readonly initialIntervalMs?: number; readonly maximumIntervalMs?: number };
}

const SCHEDULED_START = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);

// A window is idempotent, so it may retry through a database outage (for up to two hours) rather
// than be lost: the schedule never re-runs a failed window by itself.
const steps = proxyActivities<MonitoringActivities>({
  startToCloseTimeout: '30 minutes',
  scheduleToCloseTimeout: '2 hours',
  retry: {
    initialInterval: '2 seconds',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
  },
});

/**
 * One monitoring window (queue `fti-inference`): drift and data-quality checks of a deployment's
 * served requests and batch inputs against the model's references, stored as a time series.
 * Scheduled by `fti monitor create` (Temporal Schedule `monitor-<name>`); idempotent per window, so
 * retries and `temporal schedule backfill` never store a window twice.
 */
export async function monitorWindow(input: MonitorWindowInput): Promise<MonitorRunSummary> {
  let end = input.window?.end;
  if (!end) {
    const scheduled = workflowInfo().typedSearchAttributes.get(SCHEDULED_START);
    if (!scheduled)
      throw ApplicationFailure.nonRetryable(
        `monitor ${input.monitor}: a manual run needs window.end (scheduled runs take the scheduled time).`,
        'ValidationError',
      );
    end = scheduled.toISOString();
  }
  upsertSearchAttributes({ FtiPipeline: ['monitor'], FtiWindowEnd: [new Date(end)] });
  const summary = await steps.runMonitorWindow({
    monitor: input.monitor,
    windowEnd: end,
    ...(input.window?.start ? { windowStart: input.window.start } : {}),
    ...(input.performanceWindow ? { performanceWindow: input.performanceWindow } : {}),
  });
  // A window stored by an earlier run (a re-run, a backfill over stored windows) decides nothing again.
  if (summary.computed) {
    const notifications = await steps.evaluateMonitorAlerts(summary);
    await afterAlerts(notifications, input.alertRetry);
  }
  log.info('monitor window done', {
    monitor: input.monitor,
    status: summary.status,
    problems: summary.problems.length,
  });
  return summary;
}
