import { sql } from 'drizzle-orm';
import { Gauge, type Registry } from 'prom-client';
import type { Database } from '../db';

interface LatestRow extends Record<string, unknown> {
  monitor: string;
  window_end: Date;
  rows: number;
  problems: number;
  segment: string | null;
  role: string | null;
  column: string | null;
  kind: string | null;
  method: string | null;
  score: number | null;
  drift: boolean | null;
  psi: number | null;
  null_rate: number | null;
}

/**
 * Prometheus gauges of every monitor's latest stored window, read from Postgres at each scrape (so
 * any process with database access exports the same values, and a restart loses nothing):
 * `fti_monitor_window_end_timestamp_seconds`, `fti_monitor_rows`, `fti_monitor_problems` per monitor;
 * `fti_monitor_drift_score`, `fti_monitor_drift`, `fti_monitor_psi`, `fti_monitor_null_rate` per
 * monitor, segment, role and column. Label sets of columns that left the latest window disappear.
 */
export function registerMonitorGauges(registry: Registry, db: Database): void {
  // Every gauge's collect awaits one shared read per scrape (prom-client collects them concurrently).
  let reading: { at: number; done: Promise<void> } | undefined;
  const refresh = () => {
    if (!reading || Date.now() - reading.at > 1000) reading = { at: Date.now(), done: read() };
    return reading.done;
  };
  const gauge = (name: string, help: string, labelNames: string[]) =>
    new Gauge({ name, help, labelNames, registers: [registry], collect: refresh });
  const windowEnd = gauge(
    'fti_monitor_window_end_timestamp_seconds',
    'End of the latest checked window per monitor (alert when it stops advancing)',
    ['monitor'],
  );
  const rows = gauge('fti_monitor_rows', 'Served rows in the latest window', ['monitor']);
  const problems = gauge('fti_monitor_problems', 'Thresholds crossed in the latest window', ['monitor']);
  const columnLabels = ['monitor', 'segment', 'role', 'column'];
  const score = gauge(
    'fti_monitor_drift_score',
    'Decisive drift statistic of a column in the latest window (p-value for ks/chisquare, distance otherwise)',
    [...columnLabels, 'method'],
  );
  const drift = gauge('fti_monitor_drift', '1 when the column drifted in the latest window', columnLabels);
  const psi = gauge(
    'fti_monitor_psi',
    'Population stability index of the column in the latest window',
    columnLabels,
  );
  const nullRate = gauge(
    'fti_monitor_null_rate',
    'Missing-value rate of the column in the latest window',
    columnLabels,
  );
  const performance = gauge(
    'fti_monitor_performance',
    'Live performance in the latest window: realized (labels joined so far) or estimated (CBPE), per metric',
    ['monitor', 'segment', 'kind', 'metric'],
  );
  const all = [windowEnd, rows, problems, score, drift, psi, nullRate, performance];
  const scrapeOk = gauge(
    'fti_monitor_scrape_ok',
    '1 when the monitor gauges could be read from Postgres at this scrape',
    [],
  );
  async function read(): Promise<void> {
    for (const g of all) g.reset();
    try {
      const result = await db.execute<LatestRow>(sql`
          WITH latest AS (
            SELECT DISTINCT ON (r.monitor_id) r.id, m.name AS monitor, r.window_end, r.rows,
                   jsonb_array_length(coalesce(r.summary->'problems', '[]'::jsonb)) AS problems
            FROM monitor_runs r JOIN monitors m ON m.id = r.monitor_id
            ORDER BY r.monitor_id, r.window_end DESC)
          SELECT l.monitor, l.window_end, l.rows, l.problems, x.segment, x.role, x.column, x.kind, x.method, x.score,
                 x.drift, x.psi, x.null_rate
          FROM latest l LEFT JOIN monitor_results x ON x.run_id = l.id`);
      for (const r of result.rows) {
        windowEnd.set({ monitor: r.monitor }, new Date(r.window_end).getTime() / 1000);
        rows.set({ monitor: r.monitor }, Number(r.rows));
        problems.set({ monitor: r.monitor }, Number(r.problems));
        if (r.column === null) continue;
        if (r.kind === 'metric') {
          const kind = r.role === 'performance' ? 'realized' : 'estimated';
          if (r.score !== null)
            performance.set({ monitor: r.monitor, segment: r.segment!, kind, metric: r.column }, r.score);
          continue;
        }
        const labels = { monitor: r.monitor, segment: r.segment!, role: r.role!, column: r.column };
        if (r.method && r.score !== null) score.set({ ...labels, method: r.method }, r.score);
        drift.set(labels, r.drift ? 1 : 0);
        if (r.psi !== null) psi.set(labels, r.psi);
        if (r.null_rate !== null) nullRate.set(labels, r.null_rate);
      }
      scrapeOk.set(1);
    } catch {
      // A scrape must not fail because Postgres is away: the gauges are absent, this says why.
      scrapeOk.set(0);
    }
  }
}
