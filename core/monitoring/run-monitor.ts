import type { FeatureViewDeps } from '../featurestore/views/deps';
import { ValidationError } from '../errors';
import {
  runDeploymentMonitor,
  type MonitorRunSummary,
  type MonitorWindowOptions,
} from './deployment-monitor';
import { runFeatureGroupMonitor } from './feature-group-monitor';
import { getMonitor } from './monitors';

/**
 * Runs one window of any monitor — a deployment's traffic or a feature group's commits —
 * [end − window, end) unless `start` is given. Idempotent per window.
 */
export async function runMonitor(
  deps: FeatureViewDeps,
  name: string,
  end: Date,
  start?: Date,
  options: MonitorWindowOptions = {},
): Promise<MonitorRunSummary> {
  const monitor = await getMonitor(deps.db, name);
  if (monitor.subjectType === 'deployment') return runDeploymentMonitor(deps, name, end, start, options);
  if (options.performanceWindow)
    throw new ValidationError(
      `monitor ${name} watches feature group ${monitor.subject}: a performance window applies to deployment monitors only.`,
      { location: 'performanceWindow' },
    );
  const window = { start: start ?? new Date(end.getTime() - monitor.windowSeconds * 1000), end };
  if (!(window.start < window.end))
    throw new ValidationError(`monitor ${name}: the window start is not before its end.`, {
      location: 'window',
    });
  return runFeatureGroupMonitor(deps, monitor, window);
}
