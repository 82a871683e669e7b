import {
  ScheduleAlreadyRunning,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleHandle,
} from '@temporalio/client';
import { parseFeaturePipelineSpec, type FeaturePipelineSpec } from '../core/featurestore';
import { ValidationError } from '../core/errors';
import type { MaintenancePolicy } from '../core/featurestore/maintenance/maintain';
import { loadConfig } from '../core/config';
import { emit, table, type OutputOptions } from './output';
import { connectTemporal } from './temporal-client';
import { TASK_QUEUES } from '../core/pipelines';
import { parseTrainingPipelineSpec, type TrainingPipelineSpec } from '../core/ml';

/** How often a scheduled pipeline runs. */
export type Cadence = { readonly everySeconds: number } | { readonly cron: string };

/** A Temporal schedule spec for a cadence. */
function scheduleSpecOf(
  cadence: Cadence,
): { intervals: { every: number }[] } | { cronExpressions: string[] } {
  return 'everySeconds' in cadence
    ? { intervals: [{ every: cadence.everySeconds * 1000 }] }
    : { cronExpressions: [cadence.cron] };
}

/** Schedule id of a feature pipeline. */
export function featureScheduleId(pipelineName: string): string {
  return `features-${pipelineName}`;
}

/**
 * Registers a feature pipeline as a Temporal Schedule. Each run processes the window that ends at
 * its nominal scheduled time, so `temporal schedule backfill` over a range yields one run — and one
 * commit — per window. Overlapping runs are allowed: windows are independent and idempotent.
 */
export async function createFeatureSchedule(
  client: Client,
  spec: FeaturePipelineSpec,
  options: { cadence: Cadence; taskQueue?: string; paused?: boolean },
): Promise<ScheduleHandle> {
  const pipeline = parseFeaturePipelineSpec(spec);
  if (
    'everySeconds' in options.cadence &&
    pipeline.windowSeconds !== undefined &&
    pipeline.windowSeconds !== options.cadence.everySeconds
  ) {
    throw new ValidationError(
      `pipeline ${pipeline.name}: windowSeconds (${pipeline.windowSeconds}) differs from the schedule interval (${options.cadence.everySeconds}); windows would overlap or leave gaps.`,
    );
  }
  const windowSeconds =
    pipeline.windowSeconds ?? ('everySeconds' in options.cadence ? options.cadence.everySeconds : undefined);
  if (!windowSeconds)
    throw new ValidationError(
      `pipeline ${pipeline.name}: a cron schedule needs windowSeconds in the pipeline spec.`,
    );
  return client.schedule.create({
    scheduleId: featureScheduleId(pipeline.name),
    spec: scheduleSpecOf(options.cadence),
    action: {
      type: 'startWorkflow',
      workflowType: 'featurePipeline',
      taskQueue: options.taskQueue ?? TASK_QUEUES.features,
      workflowId: `features-${pipeline.name}`,
      args: [{ pipeline: { ...spec, windowSeconds } }],
    },
    policies: { overlap: ScheduleOverlapPolicy.ALLOW_ALL, catchupWindow: '1 day' },
    state: { paused: options.paused ?? false, note: `feature pipeline ${pipeline.name}` },
  });
}

/** Runs the schedule for every nominal time in `[start, end)` (one window each). */
export async function backfillSchedule(handle: ScheduleHandle, start: Date, end: Date): Promise<void> {
  if (start >= end)
    throw new ValidationError(
      `backfill start ${start.toISOString()} is not before end ${end.toISOString()}.`,
    );
  await handle.backfill([{ start, end, overlap: ScheduleOverlapPolicy.ALLOW_ALL }]);
}

/** Schedule id of a training pipeline. */
export function trainingScheduleId(pipelineName: string): string {
  return `training-${pipelineName}`;
}

/**
 * Registers a training pipeline as a Temporal Schedule (e.g. weekly retraining). Each run creates
 * a fresh training dataset from the latest commits (unless the spec pins a version) and registers a
 * new model version; overlapping runs are skipped.
 */
export async function createTrainingSchedule(
  client: Client,
  spec: TrainingPipelineSpec,
  options: { cadence: Cadence; paused?: boolean },
): Promise<ScheduleHandle> {
  const parsed = parseTrainingPipelineSpec(spec);
  return client.schedule.create({
    scheduleId: trainingScheduleId(parsed.name),
    spec: scheduleSpecOf(options.cadence),
    action: {
      type: 'startWorkflow',
      workflowType: 'trainingPipeline',
      taskQueue: TASK_QUEUES.training,
      workflowId: `training-${parsed.name}`,
      args: [{ spec }],
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' },
    state: { paused: options.paused ?? false, note: `training pipeline ${parsed.name}` },
  });
}

/** Schedule id of a feature group version's maintenance. */
export function maintenanceScheduleId(name: string, version: number): string {
  return `maintenance-${name}-v${version}`;
}

/** The maintenance cadence and policy a new feature group gets unless told otherwise. */
export const DEFAULT_MAINTENANCE = { everySeconds: 3600, minFiles: 10 } as const;

/**
 * Creates — or updates, so it is safe to call on every `fg create` — the Temporal Schedule that runs
 * `featureGroupMaintenance` for a feature group version (compaction by the policy, retention, and
 * aborting silent commits). Overlapping runs are skipped: one pass at a time per group.
 */
export async function ensureMaintenanceSchedule(
  client: Client,
  target: { name: string; version: number },
  options: { cadence: Cadence; policy: MaintenancePolicy; taskQueue?: string; paused?: boolean },
): Promise<{ scheduleId: string; created: boolean }> {
  const scheduleId = maintenanceScheduleId(target.name, target.version);
  const action = {
    type: 'startWorkflow' as const,
    workflowType: 'featureGroupMaintenance',
    taskQueue: options.taskQueue ?? TASK_QUEUES.features,
    workflowId: scheduleId,
    args: [{ featureGroup: target, policy: options.policy }],
  };
  const spec = scheduleSpecOf(options.cadence);
  try {
    await client.schedule.create({
      scheduleId,
      spec,
      action,
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' },
      state: {
        paused: options.paused ?? false,
        note: `offline-table maintenance of ${target.name} v${target.version}`,
      },
    });
    return { scheduleId, created: true };
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
    await client.schedule.getHandle(scheduleId).update((previous) => ({ ...previous, spec, action }));
    return { scheduleId, created: false };
  }
}

/** Prints the schedules whose id starts with `prefix` (`… schedule list`): pause state and next run. */
export async function emitSchedules(options: OutputOptions, prefix: string): Promise<void> {
  const client = await connectTemporal(loadConfig());
  try {
    const rows: { id: string; paused: boolean; next: string }[] = [];
    for await (const s of client.schedule.list()) {
      if (!s.scheduleId.startsWith(prefix)) continue;
      rows.push({
        id: s.scheduleId,
        paused: s.state.paused,
        next: s.info.nextActionTimes[0]?.toISOString() ?? '-',
      });
    }
    emit(options, rows, () =>
      table([
        ['SCHEDULE', 'PAUSED', 'NEXT RUN'],
        ...rows.map((r) => [r.id, r.paused ? 'yes' : 'no', r.next]),
      ]),
    );
  } finally {
    await client.connection.close();
  }
}

/** Schedule id of a monitor. */
export function monitorScheduleId(monitor: string): string {
  return `monitor-${monitor}`;
}

/**
 * Creates or updates a monitor's Temporal Schedule: each action runs `monitorWindow` for the window
 * ending at its scheduled time. Overlaps are allowed (windows are independent and idempotent), and a
 * missed hour is caught up within a day.
 */
export async function ensureMonitorSchedule(
  client: Client,
  monitor: string,
  options: { everySeconds: number; taskQueue?: string; paused?: boolean },
): Promise<{ scheduleId: string; created: boolean }> {
  const scheduleId = monitorScheduleId(monitor);
  const action = {
    type: 'startWorkflow' as const,
    workflowType: 'monitorWindow',
    taskQueue: options.taskQueue ?? TASK_QUEUES.inference,
    workflowId: scheduleId,
    args: [{ monitor }],
  };
  const spec = scheduleSpecOf({ everySeconds: options.everySeconds });
  try {
    await client.schedule.create({
      scheduleId,
      spec,
      action,
      policies: { overlap: ScheduleOverlapPolicy.ALLOW_ALL, catchupWindow: '1 day' },
      state: { paused: options.paused ?? false, note: `monitor ${monitor}` },
    });
    return { scheduleId, created: true };
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
    await client.schedule.getHandle(scheduleId).update((previous) => ({ ...previous, spec, action }));
    return { scheduleId, created: false };
  }
}

/** Schedule id of the alert sweep (one per installation). */
export const ALERT_SWEEP_SCHEDULE_ID = 'alerts-sweep';

/**
 * Makes sure the alert sweep runs every minute on the inference queue (created by the first sweep
 * rule: pipeline and validation failures, stale feature groups, stream freshness).
 */
export async function ensureAlertSweepSchedule(
  client: Client,
  options: { taskQueue?: string } = {},
): Promise<{ scheduleId: string; created: boolean }> {
  try {
    await client.schedule.create({
      scheduleId: ALERT_SWEEP_SCHEDULE_ID,
      spec: { intervals: [{ every: 60_000 }] },
      action: {
        type: 'startWorkflow',
        workflowType: 'alertSweep',
        taskQueue: options.taskQueue ?? TASK_QUEUES.inference,
        workflowId: ALERT_SWEEP_SCHEDULE_ID,
        args: [{}],
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' },
      state: { note: 'alert rules on failures, staleness and stream freshness' },
    });
    return { scheduleId: ALERT_SWEEP_SCHEDULE_ID, created: true };
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
    return { scheduleId: ALERT_SWEEP_SCHEDULE_ID, created: false };
  }
}
