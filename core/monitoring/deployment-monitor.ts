/**
 * One window of a deployment monitor: served requests per segment (variant × model version) and
 * batch-inference inputs, checked against the model's references (train-split features, model
 * inputs, test-split predictions); results stored as a time series, idempotently per window.
 */
import fs from 'node:fs';
import path from 'node:path';
import { and, desc, eq, gte, lt, sql } from 'drizzle-orm';
import { tables, type Database } from '../db';
import { ValidationError } from '../errors';
import { withDuck } from '../duckdb';
import { deploymentHistory, type Binding } from '../serving/deployments';
import type { ObjectStore } from '../storage';
import { checkWindow, type ColumnCheck, type ColumnThresholds, type WindowChecks } from './checks';
import { getMonitor, type MonitorInfo } from './monitors';
import { livePerformance, type MetricResult } from './performance';
import type { StoredBatchProfile } from './batch-profile';
import { mergeWindowProfiles, type DataProfile, type WindowProfile } from './profile';
import { modelVersionReference, trainingDatasetReference } from './references';
import {
  featureColumns,
  loadServedSegment,
  modelInputRow,
  predictionColumns,
  downloadSpillFiles,
  profileLogged,
  segmentLabel,
  mergeSegments,
  readSpilledRows,
  servedSegments,
  spilledSegments,
  type SpilledRow,
} from './served-window';

/** What a monitor run needs. */
export interface MonitorDeps {
  readonly db: Database;
  readonly store?: ObjectStore;
  readonly scratchDir: string;
}

/** Which part of the model a column belongs to. */
export type MonitoredRole = 'feature' | 'model_input' | 'prediction';

/** The checks of one segment and role. */
export interface SegmentChecks {
  readonly segment: string;
  readonly role: MonitoredRole;
  readonly checks: WindowChecks;
}

/** What one monitor window found (also what the workflow returns: small). */
export interface MonitorRunSummary {
  readonly monitor: string;
  readonly runId: number;
  readonly windowStart: string;
  readonly windowEnd: string;
  readonly status: 'ok' | 'problems' | 'no_data';
  readonly rows: number;
  /** `segment role column: problem (evidence)` lines, at most 50. */
  readonly problems: readonly string[];
  /** Whether this call computed the window (false: it had been stored by an earlier attempt). */
  readonly computed: boolean;
}

/** Volume alarms when a window's rows fall under half, or rise over twice, the median of the last 5. */
export const VOLUME_BAND = { low: 0.5, high: 2, history: 5 } as const;

const round = (v: number | null | undefined, digits = 4) =>
  v === null || v === undefined || !Number.isFinite(v) ? String(v) : v.toPrecision(digits);

export function describeProblem(c: ColumnCheck, problem: string): string {
  switch (problem) {
    case 'drift':
      return `drift (${c.drift!.method} ${round(c.drift!.score)} ${c.drift!.method === 'ks' || c.drift!.method === 'chisquare' ? '<' : '>'} ${c.drift!.threshold}, psi ${round(c.drift!.psi, 3)})`;
    case 'null_rate':
      return `missing values ${round(c.nullRate * 100, 3)} % (training ${round(c.referenceNullRate * 100, 3)} %)`;
    case 'out_of_range':
      return `${round((c.outOfRange ?? 0) * 100, 3)} % of values outside the reference range`;
    case 'unseen_categories':
      return `${round((c.unseen ?? 0) * 100, 3)} % unseen categories (${(c.unseenExamples ?? []).join(', ')})`;
    default:
      return problem;
  }
}

/** Which binding served a (deployment version, variant). */
function bindingFinder(history: Awaited<ReturnType<typeof deploymentHistory>>) {
  return (
    deploymentVersions: readonly number[],
    variant: string,
    modelVersion: number,
  ): Binding | undefined => {
    for (const v of [...history].reverse()) {
      if (!deploymentVersions.includes(v.version)) continue;
      const b = v.bindings.find((x) => x.variant === variant && x.model.version === modelVersion);
      if (b) return b;
    }
    return undefined;
  };
}

/** Checks one loaded segment's features, model inputs and predictions against the binding's references. */
async function checkSegment(
  deps: MonitorDeps,
  duck: Parameters<Parameters<typeof withDuck>[0]>[0],
  segment: string,
  binding: Binding,
  thresholds: Readonly<Record<string, ColumnThresholds>>,
): Promise<SegmentChecks[]> {
  const dataset = await trainingDatasetReference(deps.db, binding.trainingDataset.id);
  const model = await modelVersionReference(deps.db, binding.model.id);
  const out: SegmentChecks[] = [];
  const run = async (
    role: MonitoredRole,
    reference: DataProfile | undefined,
    window: () => Promise<WindowProfile>,
  ) => {
    if (!reference || Object.keys(reference.columns).length === 0) return;
    const profiled = await window();
    if (profiled.rows === 0) return;
    out.push({ segment, role, checks: checkWindow(reference, profiled, thresholds) });
  };
  if (dataset) {
    // Requests over /predict log stored feature values; OIP requests log model inputs (status
    // `model_input`). A transformed output's name tells them apart; without transformations the
    // two are the same numbers and every row is checked as features.
    const transformed = Object.keys(dataset.modelInputs.columns);
    const isModelInput = transformed.length ? modelInputRow(transformed[0]!) : 'FALSE';
    const kinds = Object.fromEntries(Object.entries(dataset.features.columns).map(([k, v]) => [k, v.kind]));
    const raw = Object.keys(dataset.features.columns);
    await run('feature', dataset.features, () =>
      profileLogged(
        duck,
        '_fti_segment',
        dataset.features,
        featureColumns(raw, kinds),
        `NOT (${isModelInput})`,
      ),
    );
    if (transformed.length) {
      // Model inputs: the transformed outputs plus the numeric features that pass through untouched.
      const isTransformed = (f: string) => transformed.some((t) => t === f || t.startsWith(`${f}=`));
      const inputs: DataProfile = {
        rows: dataset.modelInputs.rows,
        columns: {
          ...Object.fromEntries(
            Object.entries(dataset.features.columns).filter(
              ([f, p]) => p.kind === 'numeric' && !isTransformed(f),
            ),
          ),
          ...dataset.modelInputs.columns,
        },
      };
      const names = Object.keys(inputs.columns);
      await run('model_input', inputs, () =>
        profileLogged(
          duck,
          '_fti_segment',
          inputs,
          featureColumns(names, Object.fromEntries(names.map((i) => [i, 'numeric']))),
          isModelInput,
        ),
      );
    }
  }
  if (model)
    await run('prediction', model.predictions, () =>
      profileLogged(
        duck,
        '_fti_segment',
        model.predictions,
        predictionColumns(Object.keys(model.predictions.columns)),
      ),
    );
  return out;
}

/** Options of one monitor window. */
export interface MonitorWindowOptions {
  /**
   * Served window whose realized performance this window reports, instead of the window
   * `labelDelaySeconds` earlier: for replays of history compressed in time, where "the labels of
   * four days later" is not a fixed number of seconds of serving time.
   */
  readonly performanceWindow?: { readonly start: Date; readonly end: Date };
}

/**
 * Runs one window [end − windowSeconds, end) (or [windowStart, end)) of a deployment monitor.
 * Idempotent: a window already stored is returned as stored (a retried activity or a re-run
 * schedule action writes nothing new).
 */
export async function runDeploymentMonitor(
  deps: MonitorDeps,
  monitorName: string,
  windowEnd: Date,
  windowStart?: Date,
  options: MonitorWindowOptions = {},
): Promise<MonitorRunSummary> {
  const monitor = await getMonitor(deps.db, monitorName);
  const window = {
    start: windowStart ?? new Date(windowEnd.getTime() - monitor.windowSeconds * 1000),
    end: windowEnd,
  };
  if (!(window.start < window.end))
    throw new ValidationError(
      `monitor ${monitor.name}: the window start ${window.start.toISOString()} is not before its end ${window.end.toISOString()}.`,
      { location: 'window' },
    );
  const stored = await storedRun(deps.db, monitor, window);
  if (stored) return stored;
  // Labels arrive late: realized performance is for the window `labelDelaySeconds` earlier; the
  // current window gets confidence-based estimates.
  const delay = monitor.labelDelaySeconds * 1000;
  const labeledWindow = options.performanceWindow ?? {
    start: new Date(window.start.getTime() - delay),
    end: new Date(window.end.getTime() - delay),
  };
  if (!(labeledWindow.start < labeledWindow.end))
    throw new ValidationError(
      `monitor ${monitor.name}: the performance window start ${labeledWindow.start.toISOString()} is not before its end ${labeledWindow.end.toISOString()}.`,
      { location: 'performanceWindow' },
    );
  const history = await deploymentHistory(deps.db, monitor.subject);
  const findBinding = bindingFinder(history);
  const problems: string[] = [];
  const results: SegmentChecks[] = [];
  const reference: Record<string, unknown> = {};
  const counts: Record<string, number> = {};
  // Spill files (rows Postgres refused) are fetched once per window; their rows count in segments,
  // drift and performance like logged ones.
  await fs.promises.mkdir(deps.scratchDir, { recursive: true });
  const spillDir = await fs.promises.mkdtemp(path.join(deps.scratchDir, 'monitor-spill-'));
  let rows = 0;
  let spilledRows: { window: SpilledRow[]; estimateWindow: SpilledRow[] };
  try {
    const spilled = deps.store ? await downloadSpillFiles(deps.store, window, spillDir) : [];
    await withDuck(async (duck) => {
      const segments = mergeSegments(
        await servedSegments(deps.db, monitor.subject, window),
        await spilledSegments(duck, spilled, monitor.subject, window),
      );
      rows = segments.reduce((a, s) => a + s.rows, 0);
      for (const s of segments) {
        const label = segmentLabel(
          s.variant,
          s.modelVersion,
          segments.map((x) => x.variant),
        );
        counts[label] = s.rows;
        const binding = findBinding(s.deploymentVersions, s.variant, s.modelVersion);
        if (!binding) {
          problems.push(
            `${label}: no binding found for model version ${s.modelVersion}; nothing to compare with`,
          );
          continue;
        }
        reference[label] = {
          model: `${binding.model.name} v${binding.model.version}`,
          trainingDataset: `${binding.featureView.name} v${binding.featureView.version} #${binding.trainingDataset.version}`,
        };
        if (s.rows < monitor.minRows) {
          problems.push(`${label}: volume ${s.rows} rows < ${monitor.minRows} (min rows); no drift verdict`);
          continue;
        }
        const loaded = await loadServedSegment(deps.db, duck, {
          deployment: monitor.subject,
          segment: s,
          window,
          table: '_fti_segment',
          scratchDir: deps.scratchDir,
          spillFiles: spilled,
        });
        counts[label] = loaded.rows;
        results.push(...(await checkSegment(deps, duck, label, binding, monitor.thresholds)));
      }
    });
    // The (earlier) window whose labels are judged has spill files of its own, unless it is this one.
    const current = await readSpilledRows(spilled, monitor.subject, window);
    const sameWindow =
      labeledWindow.start.getTime() === window.start.getTime() &&
      labeledWindow.end.getTime() === window.end.getTime();
    const labelledFiles =
      sameWindow || !deps.store
        ? []
        : await downloadSpillFiles(
            deps.store,
            labeledWindow,
            await fs.promises.mkdtemp(path.join(spillDir, 'labelled-')),
          );
    spilledRows = {
      window: sameWindow ? current : await readSpilledRows(labelledFiles, monitor.subject, labeledWindow),
      estimateWindow: current,
    };
  } finally {
    await fs.promises.rm(spillDir, { recursive: true, force: true });
  }
  results.push(...(await batchChecks(deps.db, monitor, window)));
  const metrics = await livePerformance(deps.db, {
    spilled: spilledRows,
    deployment: monitor.subject,
    window: labeledWindow,
    estimateWindow: window,
    toleranceSeconds: monitor.labelToleranceSeconds,
    slice: monitor.sliceColumn,
    bindingOf: (variant, modelVersion) =>
      findBinding(
        history.map((h) => h.version),
        variant,
        modelVersion,
      ),
  });
  for (const r of results)
    for (const c of r.checks.columns)
      for (const p of c.problems)
        problems.push(`${r.segment} ${r.role} ${c.column}: ${describeProblem(c, p)}`);
  const volume = await volumeProblem(deps.db, monitor, rows, window.end);
  if (volume) problems.push(volume);
  const status: MonitorRunSummary['status'] =
    rows === 0 && results.length === 0 && metrics.length === 0
      ? 'no_data'
      : problems.length
        ? 'problems'
        : 'ok';
  const tested = results.flatMap((r) => r.checks.columns).filter((c) => c.drift);
  const driftShare = tested.length ? tested.filter((c) => c.drift!.drift).length / tested.length : null;
  const runId = await storeRun(deps.db, monitor, window, {
    status,
    rows,
    driftShare,
    reference,
    summary: {
      problems: problems.slice(0, 200),
      rows: counts,
      performanceWindow: { start: labeledWindow.start.toISOString(), end: labeledWindow.end.toISOString() },
    },
    results,
    metrics,
  });
  return {
    monitor: monitor.name,
    runId: runId.id,
    windowStart: window.start.toISOString(),
    windowEnd: window.end.toISOString(),
    status: runId.stored?.status ?? status,
    rows: runId.stored?.rows ?? rows,
    problems: (runId.stored?.problems ?? problems).slice(0, 50),
    computed: !runId.stored,
  };
}

/**
 * Batch-inference inputs and predictions: batches of this deployment created in the window carry
 * their profiles (made when they ran); those of one segment and model are merged, then checked.
 */
async function batchChecks(
  db: Database,
  monitor: MonitorInfo,
  window: { start: Date; end: Date },
): Promise<SegmentChecks[]> {
  const batches = await db
    .select({ profile: tables.predictionBatches.inputProfile })
    .from(tables.predictionBatches)
    .innerJoin(tables.deployments, eq(tables.deployments.id, tables.predictionBatches.deploymentId))
    .where(
      and(
        eq(tables.deployments.name, monitor.subject),
        gte(tables.predictionBatches.createdAt, window.start),
        lt(tables.predictionBatches.createdAt, window.end),
        sql`${tables.predictionBatches.inputProfile} IS NOT NULL`,
      ),
    );
  // One batch writes a row per sink with the same profile: count each batch once.
  const seen = new Set<string>();
  const merged = new Map<string, StoredBatchProfile>();
  for (const { profile } of batches) {
    const p = profile as StoredBatchProfile & { batchId?: string };
    if (p.batchId && seen.has(p.batchId)) continue;
    if (p.batchId) seen.add(p.batchId);
    const key = `${p.segment}\u0000${p.modelVersionId}\u0000${p.trainingDatasetId}`;
    const previous = merged.get(key);
    if (!previous) merged.set(key, p);
    else {
      const windows: StoredBatchProfile['windows'] = { ...previous.windows };
      for (const [role, w] of Object.entries(p.windows) as [MonitoredRole, WindowProfile][])
        windows[role] = windows[role] ? mergeWindowProfiles(windows[role], w) : w;
      merged.set(key, { ...previous, windows });
    }
  }
  const out: SegmentChecks[] = [];
  for (const p of merged.values()) {
    const several = [...merged.values()].filter((x) => x.segment === p.segment).length > 1;
    const segment = several ? `${p.segment}@${p.modelVersionId}` : p.segment;
    const dataset = await trainingDatasetReference(db, p.trainingDatasetId);
    const model = await modelVersionReference(db, p.modelVersionId);
    if (p.windows.feature && dataset)
      out.push({
        segment,
        role: 'feature',
        checks: checkWindow(dataset.features, p.windows.feature, monitor.thresholds),
      });
    if (p.windows.prediction && model)
      out.push({
        segment,
        role: 'prediction',
        checks: checkWindow(model.predictions, p.windows.prediction, monitor.thresholds),
      });
  }
  return out;
}

/** A volume problem when `rows` leaves the band around the median of the windows before `before`. */
export async function volumeProblem(
  db: Database,
  monitor: MonitorInfo,
  rows: number,
  /** Only windows that ended before this one count (a backfill must not compare with later windows). */
  before: Date,
): Promise<string | null> {
  const previous = await db
    .select({ rows: tables.monitorRuns.rows })
    .from(tables.monitorRuns)
    .where(and(eq(tables.monitorRuns.monitorId, monitor.id), lt(tables.monitorRuns.windowEnd, before)))
    .orderBy(desc(tables.monitorRuns.windowEnd))
    .limit(VOLUME_BAND.history);
  if (previous.length < VOLUME_BAND.history) return null;
  const sorted = previous.map((p) => p.rows).sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  if (median === 0) return null;
  if (rows < median * VOLUME_BAND.low || rows > median * VOLUME_BAND.high)
    return `volume: ${rows} rows against a median of ${median} over the last ${VOLUME_BAND.history} windows`;
  return null;
}

export async function storedRun(
  db: Database,
  monitor: MonitorInfo,
  window: { start: Date; end: Date },
): Promise<MonitorRunSummary | null> {
  const [row] = await db
    .select()
    .from(tables.monitorRuns)
    .where(
      and(
        eq(tables.monitorRuns.monitorId, monitor.id),
        eq(tables.monitorRuns.windowStart, window.start),
        eq(tables.monitorRuns.windowEnd, window.end),
      ),
    );
  if (!row) return null;
  return {
    monitor: monitor.name,
    runId: row.id,
    windowStart: window.start.toISOString(),
    windowEnd: window.end.toISOString(),
    status: row.status as MonitorRunSummary['status'],
    rows: row.rows,
    problems: ((row.summary as { problems?: string[] }).problems ?? []).slice(0, 50),
    computed: false,
  };
}

const finiteOrNull = (v: number | undefined | null) =>
  v === undefined || v === null || !Number.isFinite(v) ? null : v;

/** JSON cannot hold Infinity/NaN: statistics are stored as numbers or strings naming them. */
function jsonSafe(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v)),
  );
}

/** Inserts the run and its results in one transaction; a concurrent attempt's row wins. */
export async function storeRun(
  db: Database,
  monitor: MonitorInfo,
  window: { start: Date; end: Date },
  run: {
    status: string;
    rows: number;
    driftShare: number | null;
    reference: Record<string, unknown>;
    summary: {
      problems: string[];
      rows: Record<string, number>;
      performanceWindow?: { start: string; end: string };
    };
    results: readonly SegmentChecks[];
    metrics: readonly MetricResult[];
  },
): Promise<{
  id: number;
  stored?: { status: MonitorRunSummary['status']; rows: number; problems: string[] };
}> {
  return db.transaction(async (tx) => {
    const [inserted] = await tx
      .insert(tables.monitorRuns)
      .values({
        monitorId: monitor.id,
        windowStart: window.start,
        windowEnd: window.end,
        status: run.status,
        rows: run.rows,
        driftShare: run.driftShare,
        reference: run.reference,
        summary: run.summary,
      })
      .onConflictDoNothing()
      .returning({ id: tables.monitorRuns.id });
    if (!inserted) {
      const [existing] = await tx
        .select()
        .from(tables.monitorRuns)
        .where(
          and(
            eq(tables.monitorRuns.monitorId, monitor.id),
            eq(tables.monitorRuns.windowStart, window.start),
            eq(tables.monitorRuns.windowEnd, window.end),
          ),
        );
      return {
        id: existing!.id,
        stored: {
          status: existing!.status as MonitorRunSummary['status'],
          rows: existing!.rows,
          problems: (existing!.summary as { problems?: string[] }).problems ?? [],
        },
      };
    }
    const rows = run.results.flatMap((r) =>
      r.checks.columns.map((c) => ({
        runId: inserted.id,
        monitorId: monitor.id,
        windowEnd: window.end,
        segment: r.segment,
        role: r.role,
        column: c.column,
        kind: c.kind,
        values: c.values,
        method: c.drift?.method ?? null,
        score: finiteOrNull(c.drift?.score),
        threshold: c.drift?.threshold ?? null,
        drift: c.drift?.drift ?? false,
        psi: finiteOrNull(c.drift?.psi),
        nullRate: c.nullRate,
        outOfRange: c.outOfRange ?? null,
        unseen: c.unseen ?? null,
        problems: [...c.problems],
        details: jsonSafe({
          statistics: c.drift?.statistics ?? null,
          referenceNullRate: c.referenceNullRate,
          unseenExamples: c.unseenExamples ?? [],
          referenceSize: c.drift?.referenceSize ?? null,
        }) as Record<string, unknown>,
      })),
    );
    const metricRows = run.metrics.map((m) => ({
      runId: inserted.id,
      monitorId: monitor.id,
      windowEnd: window.end,
      segment: m.segment,
      role: m.role,
      column: m.metric,
      kind: 'metric',
      values: m.rows,
      method: m.role === 'performance' ? 'realized' : 'cbpe',
      score: finiteOrNull(m.value),
      threshold: null,
      drift: false,
      psi: null,
      nullRate: 0,
      outOfRange: null,
      unseen: null,
      problems: [],
      details: jsonSafe(m.details) as Record<string, unknown>,
    }));
    const all = [...rows, ...metricRows];
    for (let i = 0; i < all.length; i += 500)
      await tx.insert(tables.monitorResults).values(all.slice(i, i + 500));
    return { id: inserted.id };
  });
}
