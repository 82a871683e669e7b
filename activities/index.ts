import { createPlatformCheckActivities, type PlatformCheckDeps } from './platform-check';

export type {
  CheckQueueInput,
  QueueCheckResult,
  PlatformCheckActivities,
  PlatformCheckDeps,
} from './platform-check';
export { createPlatformCheckActivities } from './platform-check';

/** Everything an activity may need; the worker main wires concrete adapters into it. */
export type ActivityDeps = PlatformCheckDeps;

/** The activities a worker on `taskQueue` registers. Every queue answers the platform check. */
export function activitiesFor(
  _taskQueue: string,
  deps: ActivityDeps,
): Record<string, (...args: never[]) => Promise<unknown>> {
  return { ...createPlatformCheckActivities(deps) };
}
