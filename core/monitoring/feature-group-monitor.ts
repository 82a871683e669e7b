/**
 * Feature monitoring (as Hopsworks does it): the rows each new commit of a feature group wrote in
 * a window, checked against a reference window of the group's earlier rows — drift and data
 * quality per feature, stored with the same time series as deployment monitors.
 */
import path from 'node:path';
import { withDuck } from '../duckdb';
import { ValidationError } from '../errors';
import { getFeatureGroup } from '../featurestore/feature-group-repository';
import { OfflineTable } from '../featurestore/offline/offline-table';
import { NUMERIC_TYPES } from '../featurestore/sketches';
import type { FeatureViewDeps } from '../featurestore/views/deps';
import { quoteIdent } from '../identifiers';
import { checkWindow } from './checks';
import {
  describeProblem,
  storedRun,
  storeRun,
  volumeProblem,
  type MonitorRunSummary,
  type SegmentChecks,
} from './deployment-monitor';
import type { MonitorInfo } from './monitors';
import { profileRelation, profileWindow, type ProfileColumn } from './profile';

/**
 * Checks the commits a feature group completed in [start, end): the rows they wrote (the latest
 * version of each record key they touched) against the group's rows before the window — all of
 * them, or those whose event time is within `referenceSeconds` before the window. Compactions and
 * deletes add no rows. Idempotent per window, like every monitor run.
 */
export async function runFeatureGroupMonitor(
  deps: FeatureViewDeps,
  monitor: MonitorInfo,
  window: { start: Date; end: Date },
): Promise<MonitorRunSummary> {
  const stored = await storedRun(deps.db, monitor, window);
  if (stored) return stored;
  const group = await getFeatureGroup(deps.db, monitor.subject);
  const table = new OfflineTable(deps, group);
  const timeline = await table.timeline();
  const inWindow = timeline.filter(
    (c) =>
      c.completedAt &&
      c.completedAt >= window.start &&
      c.completedAt < window.end &&
      c.operation !== 'compaction' &&
      c.operation !== 'delete',
  );
  const before = [...timeline].filter((c) => c.completedAt && c.completedAt < window.start).at(-1);
  const spec = group.spec;
  const columns: ProfileColumn[] = spec.features.flatMap((f): ProfileColumn[] =>
    spec.primaryKey.includes(f.name) || f.name === spec.eventTime
      ? []
      : NUMERIC_TYPES.has(f.type)
        ? [{ name: f.name, kind: 'numeric' }]
        : f.type === 'string' || f.type === 'bool'
          ? [{ name: f.name, kind: 'categorical' }]
          : [],
  );
  const problems: string[] = [];
  const results: SegmentChecks[] = [];
  let rows = 0;
  let referenceRows = 0;
  if (inWindow.length > 0 && before) {
    await withDuck(
      async (duck) => {
        await table.registerIncremental(duck, '_fti_changes', before.id, inWindow.at(-1)!.id);
        await duck.run(
          `CREATE OR REPLACE TEMP VIEW _fti_detect AS SELECT * FROM _fti_changes WHERE _change = 'upsert'`,
        );
        await table.registerSnapshot(duck, '_fti_reference_all', { commitId: before.id });
        const et = quoteIdent(spec.eventTime);
        await duck.run(
          monitor.referenceSeconds
            ? `CREATE OR REPLACE TEMP VIEW _fti_reference AS SELECT * FROM _fti_reference_all
               WHERE ${et} >= $1::TIMESTAMPTZ AND ${et} < $2::TIMESTAMPTZ`
            : `CREATE OR REPLACE TEMP VIEW _fti_reference AS SELECT * FROM _fti_reference_all`,
          monitor.referenceSeconds
            ? [new Date(window.start.getTime() - monitor.referenceSeconds * 1000), window.start]
            : [],
        );
        const reference = await profileRelation(duck, '_fti_reference', columns);
        referenceRows = reference.rows;
        if (reference.rows === 0) {
          problems.push(`commits: the reference window holds no rows; nothing to compare with`);
          return;
        }
        const detected = await profileWindow(duck, '_fti_detect', reference);
        rows = detected.rows;
        if (rows < monitor.minRows) {
          problems.push(`commits: volume ${rows} rows < ${monitor.minRows} (min rows); no drift verdict`);
          return;
        }
        results.push({
          segment: 'commits',
          role: 'feature',
          checks: checkWindow(reference, detected, monitor.thresholds),
        });
      },
      { threads: deps.threads ?? 2, tempDirectory: path.join(deps.scratchDir, 'duck') },
    );
  } else if (inWindow.length > 0)
    problems.push('commits: the group had no rows before this window; nothing to compare with');
  for (const r of results)
    for (const c of r.checks.columns)
      for (const p of c.problems)
        problems.push(`${r.segment} ${r.role} ${c.column}: ${describeProblem(c, p)}`);
  const volume = inWindow.length ? await volumeProblem(deps.db, monitor, rows, window.end) : null;
  if (volume) problems.push(volume);
  const status: MonitorRunSummary['status'] =
    inWindow.length === 0 ? 'no_data' : problems.length ? 'problems' : 'ok';
  const tested = results.flatMap((r) => r.checks.columns).filter((c) => c.drift);
  const saved = await storeRun(deps.db, monitor, window, {
    status,
    rows,
    driftShare: tested.length ? tested.filter((c) => c.drift!.drift).length / tested.length : null,
    reference: {
      featureGroup: `${spec.name} v${spec.version}`,
      commits: inWindow.map((c) => c.id),
      referenceCommit: before?.id ?? null,
      referenceRows,
      referenceWindowSeconds: monitor.referenceSeconds,
    },
    summary: { problems: problems.slice(0, 200), rows: { commits: rows } },
    results,
    metrics: [],
  });
  return {
    monitor: monitor.name,
    runId: saved.id,
    windowStart: window.start.toISOString(),
    windowEnd: window.end.toISOString(),
    status: saved.stored?.status ?? status,
    rows: saved.stored?.rows ?? rows,
    problems: (saved.stored?.problems ?? problems).slice(0, 50),
    computed: !saved.stored,
  };
}

/** Refuses a feature-group monitor on a group that does not exist. */
export async function assertMonitorableGroup(deps: Pick<FeatureViewDeps, 'db'>, name: string): Promise<void> {
  let external: unknown;
  try {
    external = (await getFeatureGroup(deps.db, name)).spec.external;
  } catch (error) {
    throw new ValidationError(`feature group ${name}: ${(error as Error).message}`, { location: 'subject' });
  }
  if (external)
    throw new ValidationError(
      `feature group ${name} is external: a feature-group monitor compares the commits a window added with the history before it, and an external source keeps no history here. Monitor the deployments that use it (their inputs drift checks cover its features).`,
      { location: 'subject' },
    );
}
