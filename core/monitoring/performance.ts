/**
 * Live performance: logged predictions joined to delayed labels by entity keys and event time,
 * evaluated per segment (variant × model version, shadows included) and slice, with label
 * coverage; and confidence-based estimates (CBPE) for binary classifiers before labels arrive.
 */
import Cursor from 'pg-cursor';
import { poolOf, type Database } from '../db';
import type { Task } from '../ml/task';
import { getModelVersionById } from '../registry';
import type { Binding } from '../serving/deployments';
import { estimatePerformance } from './cbpe';
import { nearestLabelJoin, scoredRow } from './labels';
import { realizedMetrics } from './realized-metrics';
import type { SpilledRow } from './served-window';
import { modelVersionReference } from './references';
import { segmentLabel } from './served-window';

/** One metric of one segment (or slice) in one window, as stored in `monitor_results`. */
export interface MetricResult {
  readonly segment: string;
  readonly role: 'performance' | 'estimated_performance';
  readonly metric: string;
  readonly value: number;
  /** Labeled rows (realized) or scored rows (estimated). */
  readonly rows: number;
  readonly details: Readonly<Record<string, unknown>>;
}

interface LoggedRow {
  variant: string;
  model_version: number;
  p: string;
  y: string | null;
  s: string | null;
}

/** Slices get metrics when they hold at least this many labeled rows (the 10 largest). */
export const MIN_SLICE_ROWS = 20;

/** Reads a window's logged predictions (shadows included), each with its label if one joined. */
async function loggedWithLabels(
  db: Database,
  deployment: string,
  window: { start: Date; end: Date },
  options: {
    toleranceSeconds: number;
    slice: string | null;
    labels: boolean;
    spilled?: readonly SpilledRow[];
  },
): Promise<LoggedRow[]> {
  const client = await poolOf(db).connect();
  const rows: LoggedRow[] = [];
  const spilled = options.spilled ?? [];
  try {
    // Rows Postgres refused (now in spill files) join their labels like logged rows: through a
    // temporary table that lives for this transaction only.
    await client.query('BEGIN');
    let source = 'prediction_logs';
    if (spilled.length) {
      await client.query(
        `CREATE TEMP TABLE _fti_spilled (deployment text, variant text, model_version integer, entity jsonb,
           features jsonb, prediction jsonb, event_time timestamptz, created_at timestamptz) ON COMMIT DROP`,
      );
      for (let i = 0; i < spilled.length; i += 10_000) {
        const chunk = spilled.slice(i, i + 10_000);
        await client.query(
          `INSERT INTO _fti_spilled SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::jsonb[], $5::jsonb[], $6::jsonb[], $7::timestamptz[], $8::timestamptz[])`,
          [
            chunk.map((r) => r.deployment),
            chunk.map((r) => r.variant),
            chunk.map((r) => r.model_version),
            chunk.map((r) => r.entity),
            chunk.map((r) => r.features),
            chunk.map((r) => r.prediction),
            chunk.map((r) => r.event_time),
            chunk.map((r) => r.created_at),
          ],
        );
      }
      const columns =
        'deployment, variant, model_version, entity, features, prediction, event_time, created_at';
      source = `(SELECT ${columns} FROM prediction_logs UNION ALL SELECT ${columns} FROM _fti_spilled)`;
    }
    const cursor = client.query(
      new Cursor(
        `SELECT p.variant, p.model_version, p.prediction::text AS p,
                ${options.labels ? 'l.label::text' : 'NULL'} AS y,
                ${options.slice ? `CASE WHEN jsonb_typeof(p.features->$5) = 'object' THEN p.features->$5->>'value' ELSE p.features->>$5 END` : 'NULL'} AS s
         FROM ${source} p
         ${options.labels ? nearestLabelJoin('$4', 'LEFT JOIN') : ''}
         WHERE p.deployment = $1 AND p.created_at >= $2 AND p.created_at < $3 AND $4::float8 >= 0`,
        [
          deployment,
          window.start,
          window.end,
          options.toleranceSeconds,
          ...(options.slice ? [options.slice] : []),
        ],
      ),
    );
    for (;;) {
      const batch = (await cursor.read(10_000)) as LoggedRow[];
      if (batch.length === 0) break;
      for (const r of batch) rows.push(r);
    }
    await cursor.close();
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
  return rows;
}

interface Scored {
  readonly probabilities: Float64Array;
  readonly prediction: Float64Array;
  readonly y: Float64Array;
}

/** Parses logged outputs (and labels) into the arrays `evaluate` takes; rows without a label are skipped when `labeled`. */
function arrays(
  rows: readonly LoggedRow[],
  task: Task,
  classes: readonly string[] | null,
  labeled: boolean,
): Scored {
  const kept = labeled ? rows.filter((r) => r.y !== null) : rows;
  const k = classes?.length ?? 0;
  const probabilities = new Float64Array(task === 'regression' ? 0 : kept.length * k);
  const prediction = new Float64Array(task === 'regression' ? kept.length : 0);
  const y = new Float64Array(labeled ? kept.length : 0);
  kept.forEach((r, i) => {
    const row = scoredRow(r.p, labeled ? r.y : null, task === 'regression' ? null : classes);
    if (task === 'regression') prediction[i] = row.prediction;
    else probabilities.set(row.probabilities, i * k);
    if (labeled) y[i] = row.y;
  });
  return { probabilities, prediction, y };
}

function realized(task: Task, classes: readonly string[] | null, scored: Scored): Record<string, number> {
  return realizedMetrics(task, classes?.length ?? 0, scored.y, scored.probabilities, scored.prediction);
}

/** What a segment is, for the evaluation. */
interface SegmentModel {
  readonly task: Task;
  readonly classes: readonly string[] | null;
  readonly modelVersionId: number;
}

/**
 * Realized performance of `window` (labels joined now: the later the window, the fewer labels),
 * per segment and slice, with label coverage; plus, for binary classifiers with a CBPE reference,
 * the estimate on the same rows next to it. `estimateWindow`, when given, also gets CBPE estimates
 * (the current window, whose labels have not arrived yet). Rows that only spill files hold count
 * when given in `spilled`.
 */
export async function livePerformance(
  db: Database,
  options: {
    deployment: string;
    window: { start: Date; end: Date };
    estimateWindow?: { start: Date; end: Date };
    toleranceSeconds: number;
    slice: string | null;
    bindingOf: (variant: string, modelVersion: number) => Binding | undefined;
    /** Rows of `window` and of `estimateWindow` that only spill files hold (Postgres refused them). */
    spilled?: { readonly window?: readonly SpilledRow[]; readonly estimateWindow?: readonly SpilledRow[] };
  },
): Promise<MetricResult[]> {
  const out: MetricResult[] = [];
  const models = new Map<string, SegmentModel | null>();
  const modelOf = async (variant: string, version: number): Promise<SegmentModel | null> => {
    const key = `${variant}@${version}`;
    if (!models.has(key)) {
      const binding = options.bindingOf(variant, version);
      if (!binding) models.set(key, null);
      else {
        const model = await getModelVersionById(db, binding.model.id);
        models.set(key, {
          task: model.signature.task as Task,
          classes: model.signature.task === 'regression' ? null : [...(model.signature.classes ?? [])],
          modelVersionId: binding.model.id,
        });
      }
    }
    return models.get(key)!;
  };
  const groups = (rows: readonly LoggedRow[]) => {
    const by = new Map<string, LoggedRow[]>();
    for (const r of rows) {
      const key = `${r.variant}\u0000${r.model_version}`;
      if (!by.has(key)) by.set(key, []);
      by.get(key)!.push(r);
    }
    const variants = [...by.keys()].map((k) => k.split('\u0000')[0]);
    return [...by.entries()].map(([key, list]) => {
      const [variant, version] = key.split('\u0000') as [string, string];
      return {
        variant,
        version: Number(version),
        label: segmentLabel(variant, Number(version), variants as string[]),
        rows: list,
      };
    });
  };
  const estimate = async (m: SegmentModel, scored: Scored, rows: number) => {
    if (m.task !== 'binary' || rows === 0) return null;
    const reference = await modelVersionReference(db, m.modelVersionId);
    if (!reference?.cbpe) return null;
    const positive = Float64Array.from({ length: rows }, (_, i) => scored.probabilities[i * 2 + 1]!);
    return estimatePerformance(reference.cbpe, positive);
  };

  const labeledRows = await loggedWithLabels(db, options.deployment, options.window, {
    toleranceSeconds: options.toleranceSeconds,
    slice: options.slice,
    labels: true,
    ...(options.spilled?.window ? { spilled: options.spilled.window } : {}),
  });
  const window = { start: options.window.start.toISOString(), end: options.window.end.toISOString() };
  for (const g of groups(labeledRows)) {
    const m = await modelOf(g.variant, g.version);
    if (!m) continue;
    const labeled = g.rows.filter((r) => r.y !== null);
    const coverage = g.rows.length ? labeled.length / g.rows.length : 0;
    const all = arrays(g.rows, m.task, m.classes, false);
    const cbpe = await estimate(m, all, g.rows.length);
    const base = {
      window,
      predictions: g.rows.length,
      labeled: labeled.length,
      coverage,
      modelVersion: g.version,
    };
    out.push({
      segment: g.label,
      role: 'performance',
      metric: 'label_coverage',
      value: coverage,
      rows: g.rows.length,
      details: base,
    });
    const metrics = realized(m.task, m.classes, arrays(labeled, m.task, m.classes, true));
    for (const [metric, value] of Object.entries(metrics))
      out.push({
        segment: g.label,
        role: 'performance',
        metric,
        value,
        rows: labeled.length,
        details: {
          ...base,
          ...(cbpe?.metrics[metric as keyof typeof cbpe.metrics]
            ? { estimated: cbpe.metrics[metric as keyof typeof cbpe.metrics] }
            : {}),
        },
      });
    if (options.slice) {
      const slices = new Map<string, LoggedRow[]>();
      for (const r of labeled) {
        const v = r.s ?? '∅';
        if (!slices.has(v)) slices.set(v, []);
        slices.get(v)!.push(r);
      }
      const largest = [...slices.entries()]
        .filter(([, rows]) => rows.length >= MIN_SLICE_ROWS)
        .sort((a, b) => b[1].length - a[1].length)
        .slice(0, 10);
      for (const [value, rows] of largest)
        for (const [metric, v] of Object.entries(
          realized(m.task, m.classes, arrays(rows, m.task, m.classes, true)),
        ))
          out.push({
            segment: `${g.label}/${options.slice}=${value}`,
            role: 'performance',
            metric,
            value: v,
            rows: rows.length,
            details: { ...base, slice: { column: options.slice, value } },
          });
    }
  }
  if (options.estimateWindow) {
    const rows = await loggedWithLabels(db, options.deployment, options.estimateWindow, {
      toleranceSeconds: options.toleranceSeconds,
      slice: null,
      labels: false,
      ...(options.spilled?.estimateWindow ? { spilled: options.spilled.estimateWindow } : {}),
    });
    for (const g of groups(rows)) {
      const m = await modelOf(g.variant, g.version);
      if (!m) continue;
      const cbpe = await estimate(m, arrays(g.rows, m.task, m.classes, false), g.rows.length);
      if (!cbpe) continue;
      for (const [metric, e] of Object.entries(cbpe.metrics))
        if (Number.isFinite(e.value))
          out.push({
            segment: g.label,
            role: 'estimated_performance',
            metric,
            value: e.value,
            rows: g.rows.length,
            details: {
              window: {
                start: options.estimateWindow.start.toISOString(),
                end: options.estimateWindow.end.toISOString(),
              },
              standardError: e.standardError,
              lower: e.lower,
              upper: e.upper,
              calibrated: cbpe.calibrated,
              modelVersion: g.version,
            },
          });
    }
  }
  return out;
}
