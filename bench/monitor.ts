// bench/monitor: drift monitoring of 1M logged predictions × 20 features (15 numeric with varied
// distributions, heavy tails and ties; 5 categorical with 10 to 1,000 categories; drift planted in a
// few columns) against a 200k-row reference profile — everything a monitor computes: counts in the
// reference's 1,000 bins, out-of-range counts and sums, nulls, ranges, means, category counts and
// every drift and quality statistic — against a raw DuckDB query computing the same histograms with
// the same bin edges on the same Parquet file, measured in the same run with the same threads.
// Figure A reads typed columns; figure B the prediction log's layout (JSON features, as spilled).
// Each side: one warm-up, then measured runs alternating with the other side's (7 in A, 3 in B).
// The ratio is that of the medians; next to it, the median of the paired runs' ratios and the
// ratio of the best runs (less affected by other load on the machine).
// Peak RSS is sampled every 20 ms while each side runs (the process's resident memory, DuckDB's
// included; the sides alternate in one process, so each one's peak is a high-water mark).
// Usage: node dist/bench/monitor.js [--rows 1000000] [--reference 200000] [--runs n] [--threads 2]
//        node dist/bench/monitor.js --sizes=10000,100000,1000000 [--plot=FILE.svg] [--runs n]
//   sweeps the logged predictions (one process per size, the reference fixed at --reference,
//   default 200k): time of both figures, both sides, and peak RSS per size, drawn as SVG.
//        (no stack needed; everything runs in local DuckDB sessions)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sqlPath, withDuck, type DuckSession } from '../core/duckdb';
import { checkWindow, type WindowChecks } from '../core/monitoring/checks';
import {
  profileRelation,
  profileWindow,
  PROFILE_BINS,
  type DataProfile,
  type NumericProfile,
  type WindowProfile,
} from '../core/monitoring/profile';
import { featureColumns, profileLogged } from '../core/monitoring/served-window';
import { lineChartSvg } from './support/plot';
import { stackSvgs } from './support/plot-stack';

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  if (at < 0) return fallback;
  const value = Number(process.argv[at + 1]);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name} needs a positive integer`);
  return value;
}

const rows = option('rows', 1_000_000);
const referenceRows = option('reference', Math.min(200_000, rows));
const runsA = option('runs', 7);
const runsB = option('runs', 3);
const threads = option('threads', 2);
const flag = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
/** --sizes=10000,100000,1000000: window rows per child process (a sweep). */
const sizes = flag('sizes')?.split(',').map(Number);
const plot = flag('plot');
/** Set in a sweep's child: print the figures as one JSON line too. */
const json = process.argv.includes('--json');
const seconds = (ms: number) => (ms / 1000).toFixed(2);
const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return (s[Math.floor((s.length - 1) / 2)]! + s[Math.ceil((s.length - 1) / 2)]!) / 2;
};
const perSecond = (n: number, ms: number) => Math.round(n / (ms / 1000)).toLocaleString('en-US');

// ---------------------------------------------------------------------------------------------
// Data: deterministic (hash-based) so every run profiles the same numbers.

/** A uniform draw in (0, 1), independent per row `i`, draw `k` and data set `seed`. */
const u = (k: number) => `((hash(i, ${k}, seed) >> 11)::DOUBLE + 0.5) / 9007199254740992.0`;
/** A standard normal draw (Box–Muller over draws k and k + 1). */
const normal = (k: number) => `(sqrt(-2 * ln(${u(k)})) * cos(2 * pi() * ${u(k + 1)}))`;
/** A category of `n` (0 … n − 1), log-uniform: low codes are frequent (Zipf-like). */
const zipf = (k: number, n: number) => `(floor(pow(${n + 1}, ${u(k)}))::INTEGER - 1)`;

interface Feature {
  readonly name: string;
  readonly kind: 'numeric' | 'categorical';
  /** What it is, and the drift planted in the window (if any). */
  readonly about: string;
  readonly drifted: boolean;
  /** SQL over `i`, `seed` and `drift` (0 in the reference, 1 in the window). */
  readonly sql: string;
}

const FEATURES: readonly Feature[] = [
  {
    name: 'x01',
    kind: 'numeric',
    about: 'normal, mean +0.25 sd in the window',
    drifted: true,
    sql: `${normal(1)} + 0.25 * drift`,
  },
  { name: 'x02', kind: 'numeric', about: 'normal(100, 15)', drifted: false, sql: `100 + 15 * ${normal(3)}` },
  {
    name: 'x03',
    kind: 'numeric',
    about: 'log-normal (σ 1.5), scale ×1.3 in the window',
    drifted: true,
    sql: `exp(1.5 * ${normal(5)}) * (1 + 0.3 * drift)`,
  },
  { name: 'x04', kind: 'numeric', about: 'Pareto α 1.2', drifted: false, sql: `pow(${u(7)}, -1 / 1.2)` },
  {
    name: 'x05',
    kind: 'numeric',
    about: 'Cauchy (tails far outside any range)',
    drifted: false,
    sql: `tan(pi() * (${u(8)} - 0.5))`,
  },
  { name: 'x06', kind: 'numeric', about: 'exponential', drifted: false, sql: `-ln(${u(9)}) * 10` },
  { name: 'x07', kind: 'numeric', about: 'uniform', drifted: false, sql: u(10) },
  {
    name: 'x08',
    kind: 'numeric',
    about: 'geometric counts (INTEGER, ties)',
    drifted: false,
    sql: `floor(-ln(${u(11)}) * 3)::INTEGER`,
  },
  {
    name: 'x09',
    kind: 'numeric',
    about: '0…4 (INTEGER, 5 values), 4 twice as frequent in the window',
    drifted: true,
    sql: `(CASE WHEN drift = 1 AND ${u(12)} < 0.2 THEN 4 ELSE floor(${u(13)} * 5) END)::INTEGER`,
  },
  {
    name: 'x10',
    kind: 'numeric',
    about: '60 % zeros, else log-normal',
    drifted: false,
    sql: `CASE WHEN ${u(14)} < 0.6 THEN 0 ELSE exp(${normal(15)}) END`,
  },
  {
    name: 'x11',
    kind: 'numeric',
    about: 'bimodal mixture',
    drifted: false,
    sql: `CASE WHEN ${u(17)} < 0.3 THEN -2 + 0.5 * ${normal(18)} ELSE 3 + ${normal(20)} END`,
  },
  {
    name: 'x12',
    kind: 'numeric',
    about: 'prices, 2 decimals (ties)',
    drifted: false,
    sql: `round(20 * exp(${normal(22)}), 2)`,
  },
  {
    name: 'x13',
    kind: 'numeric',
    about: 'normal with 5 % nulls (15 % in the window)',
    drifted: true,
    sql: `CASE WHEN ${u(24)} >= 0.05 + 0.1 * drift THEN ${normal(25)} END`,
  },
  {
    name: 'x14',
    kind: 'numeric',
    about: 'slash (normal / √uniform), heavy tails',
    drifted: false,
    sql: `${normal(27)} / sqrt(${u(29)})`,
  },
  {
    name: 'x15',
    kind: 'numeric',
    about: 'epoch seconds, 2 % beyond the reference max in the window',
    drifted: true,
    sql: `1.7e9 + floor(${u(30)} * 1e7) + CASE WHEN drift = 1 AND ${u(31)} < 0.02 THEN 1e7 ELSE 0 END`,
  },
  {
    name: 'c01',
    kind: 'categorical',
    about: '10 categories, uniform',
    drifted: false,
    sql: `'k' || floor(${u(40)} * 10)::INTEGER`,
  },
  {
    name: 'c02',
    kind: 'categorical',
    about: '50 categories, Zipf-like; reversed for 30 % of the window',
    drifted: true,
    sql: `'k' || CASE WHEN drift = 1 AND ${u(41)} < 0.3 THEN 49 - ${zipf(42, 50)} ELSE ${zipf(42, 50)} END`,
  },
  {
    name: 'c03',
    kind: 'categorical',
    about: '100 categories, Zipf-like',
    drifted: false,
    sql: `'k' || ${zipf(43, 100)}`,
  },
  {
    name: 'c04',
    kind: 'categorical',
    about: '300 categories, uniform, 2 % nulls',
    drifted: false,
    sql: `CASE WHEN ${u(44)} >= 0.02 THEN 'k' || floor(${u(45)} * 300)::INTEGER END`,
  },
  {
    name: 'c05',
    kind: 'categorical',
    about: '1,000 categories, Zipf-like; 3 % unseen categories in the window',
    drifted: true,
    sql: `CASE WHEN drift = 1 AND ${u(46)} < 0.03 THEN 'new' || floor(${u(47)} * 50)::INTEGER ELSE 'k' || ${zipf(48, 1000)} END`,
  },
];
const NUMERIC = FEATURES.filter((f) => f.kind === 'numeric');
const CATEGORICAL = FEATURES.filter((f) => f.kind === 'categorical');
const KINDS = Object.fromEntries(FEATURES.map((f) => [f.name, f.kind]));

/** A data set as a temp table `name`: `n` rows of every feature (plus a prediction). */
async function generate(duck: DuckSession, name: string, n: number, seed: number, drift: 0 | 1) {
  await duck.run(
    `CREATE OR REPLACE TEMP TABLE ${name} AS SELECT ${FEATURES.map((f) => `${f.sql} AS ${f.name}`).join(', ')},
       ${u(60)} AS prediction
     FROM (SELECT i, ${seed} AS seed, ${drift} AS drift FROM range(${n}) t(i))`,
  );
}

/** The JSON a served request logs: `{"x01": {"value": 1.2, "status": "passed"}, …}`. */
function loggedFeatures(): string {
  const entry = (f: Feature) =>
    `'${f.name}', json_object('value', ${f.name}, 'status', CASE WHEN ${f.name} IS NULL THEN 'missing' ELSE 'passed' END)`;
  return `json_object(${FEATURES.map(entry).join(', ')})::VARCHAR`;
}

// ---------------------------------------------------------------------------------------------
// The raw DuckDB baseline: the same histograms with the same bin edges, nothing else.

/** DOUBLE[] literal of edges in exponent form (read as DOUBLE exactly, as profile.ts inlines them). */
const edgeList = (edges: readonly number[]) =>
  `[${edges.map((e) => e.toExponential()).join(', ')}]::DOUBLE[]`;

interface RawCounts {
  /** Per numeric column: counts per bin, the overflow (above the last edge) last. */
  readonly histograms: Record<string, number[]>;
  /** Per categorical column: category → count. */
  readonly categories: Record<string, Record<string, number>>;
}

type HistogramMap = { key: number | null; value: bigint }[] | null;

/**
 * One scan of `relation` for every numeric histogram, then one GROUP BY per categorical column,
 * where `value(name)` is the column's expression.
 */
async function rawHistograms(
  duck: DuckSession,
  relation: string,
  reference: DataProfile,
  value: (f: Feature) => string,
): Promise<RawCounts> {
  const row = (await duck.one<Record<string, HistogramMap>>(
    `SELECT ${NUMERIC.map((f, i) => `histogram(${value(f)}, ${edgeList(numericReference(reference, f.name).edges)}) AS h${i}`).join(', ')}
     FROM ${relation}`,
  ))!;
  const histograms: Record<string, number[]> = {};
  NUMERIC.forEach((f, i) => {
    // One entry per edge, then the overflow (key NULL), which DuckDB leaves out when it is empty.
    const edges = numericReference(reference, f.name).edges.length;
    const counts = new Array<number>(edges + 1).fill(0);
    (row[`h${i}`] ?? []).forEach((e, j) => (counts[e.key === null ? edges : j] = Number(e.value)));
    histograms[f.name] = counts;
  });
  const categories: Record<string, Record<string, number>> = {};
  for (const f of CATEGORICAL) {
    const groups = await duck.all<{ c: string | null; n: bigint }>(
      `SELECT ${value(f)} AS c, count(*) AS n FROM ${relation} GROUP BY 1`,
    );
    categories[f.name] = Object.fromEntries(
      groups.filter((g) => g.c !== null).map((g) => [g.c!, Number(g.n)]),
    );
  }
  return { histograms, categories };
}

function numericReference(reference: DataProfile, name: string): NumericProfile {
  const column = reference.columns[name];
  if (column?.kind !== 'numeric') throw new Error(`reference column ${name} is not numeric`);
  return column;
}

/** Fails unless the monitor's window counted exactly what the raw query counted. */
function assertSameCounts(figure: string, window: WindowProfile, raw: RawCounts, n: number): void {
  const fail = (what: string) => {
    throw new Error(`${figure}: the monitor and the raw query counted different things: ${what}`);
  };
  if (window.rows !== n) fail(`window rows ${window.rows}, expected ${n}`);
  for (const f of NUMERIC) {
    const ours = window.columns[f.name];
    const theirs = raw.histograms[f.name]!;
    if (ours?.kind !== 'numeric') return fail(`${f.name} missing from the window profile`);
    const total = theirs.reduce((a, b) => a + b, 0);
    if (total !== ours.count) fail(`${f.name}: raw histogram total ${total}, monitor count ${ours.count}`);
    if (ours.counts.length !== theirs.length || ours.counts.some((c, i) => c !== theirs[i]))
      fail(`${f.name}: bin counts differ`);
  }
  for (const f of CATEGORICAL) {
    const ours = window.columns[f.name];
    const theirs = raw.categories[f.name]!;
    if (ours?.kind !== 'categorical') return fail(`${f.name} missing from the window profile`);
    const total = Object.values(theirs).reduce((a, b) => a + b, 0);
    if (total !== ours.count) fail(`${f.name}: raw category total ${total}, monitor count ${ours.count}`);
    const keys = Object.keys(theirs);
    if (
      ours.other !== 0 ||
      keys.length !== Object.keys(ours.frequencies).length ||
      keys.some((k) => ours.frequencies[k] !== theirs[k])
    )
      fail(`${f.name}: category counts differ`);
  }
}

/**
 * Fails unless two window profiles (the same rows in two layouts) are equal: counts exactly, sums
 * and means to 1e-9 (parallel aggregation adds in no fixed order).
 */
function assertSameWindow(a: WindowProfile, b: WindowProfile): void {
  const close = (x: number | null, y: number | null) =>
    x === y || (x !== null && y !== null && Math.abs(x - y) <= 1e-9 * Math.max(Math.abs(x), Math.abs(y)));
  const differs = FEATURES.filter((f) => {
    const x = a.columns[f.name];
    const y = b.columns[f.name];
    if (x?.kind === 'numeric' && y?.kind === 'numeric') {
      const { mean, belowSum, aboveSum, ...exact } = x;
      const { mean: yMean, belowSum: yBelowSum, aboveSum: yAboveSum, ...yExact } = y;
      return (
        JSON.stringify(exact) !== JSON.stringify(yExact) ||
        !close(mean, yMean) ||
        !close(belowSum, yBelowSum) ||
        !close(aboveSum, yAboveSum)
      );
    }
    return JSON.stringify(x) !== JSON.stringify(y);
  });
  if (a.rows !== b.rows || differs.length > 0)
    throw new Error(
      `the typed and the logged layout of the same rows profiled differently (${differs.map((f) => f.name).join(', ') || 'rows'})`,
    );
}

// ---------------------------------------------------------------------------------------------

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const value = await fn();
  return [value, performance.now() - start];
}

/** Peak RSS in bytes while each side ran. */
interface PeakRss {
  ours: number;
  raw: number;
}

/** Runs `fn` as `side`, sampling the process's RSS every 20 ms (and at both ends) into `peak`. */
async function sampled<T>(peak: PeakRss, side: keyof PeakRss, fn: () => Promise<T>): Promise<T> {
  const sample = () => (peak[side] = Math.max(peak[side], process.memoryUsage().rss));
  const timer = setInterval(sample, 20);
  try {
    return await fn();
  } finally {
    clearInterval(timer);
    sample();
  }
}

/** Warm-up of both sides, then `runs` alternating measured runs of each; returns every time. */
async function compare<A, B>(
  runs: number,
  oursRun: () => Promise<A>,
  rawRun: () => Promise<B>,
  check: (a: A, b: B) => void,
): Promise<{ ours: number[]; raw: number[]; result: A; peakRss: PeakRss }> {
  // A high-water mark of the process per side: the sides alternate, and memory one freed may stay resident.
  const peakRss = { ours: 0, raw: 0 };
  const ours = () => sampled(peakRss, 'ours', oursRun);
  const raw = () => sampled(peakRss, 'raw', rawRun);
  check(await ours(), await raw());
  const times = { ours: [] as number[], raw: [] as number[] };
  let result: A | undefined;
  for (let r = 0; r < runs; r++) {
    const [b, tb] = await timed(raw);
    const [a, ta] = await timed(ours);
    check(a, b);
    times.raw.push(tb);
    times.ours.push(ta);
    result = a;
  }
  return { ...times, result: result!, peakRss };
}

const session = <T>(fn: (duck: DuckSession) => Promise<T>) => withDuck(fn, { threads });

async function main(): Promise<void> {
  const loadBefore = os.loadavg()[0]!;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-bench-monitor-'));
  const files = {
    reference: path.join(dir, 'reference.parquet'),
    window: path.join(dir, 'window.parquet'),
    log: path.join(dir, 'log.parquet'),
  };
  try {
    // Setup (not measured): reference and window as Parquet; the window again in the prediction
    // log's spill layout (the columns PredictionLogWriter spills, features and prediction as JSON text).
    const [, setupMs] = await timed(() =>
      session(async (duck) => {
        await generate(duck, 'reference', referenceRows, 1, 0);
        await duck.run(`COPY reference TO ${sqlPath(files.reference)} (FORMAT parquet)`);
        await generate(duck, 'served', rows, 2, 1);
        await duck.run(
          `COPY (SELECT ${FEATURES.map((f) => f.name).join(', ')} FROM served) TO ${sqlPath(files.window)} (FORMAT parquet)`,
        );
        await duck.run(
          `COPY (SELECT 'bench' AS deployment, 1 AS deployment_version, 'main' AS variant, 1 AS model_version,
             FALSE AS shadow, 'req-' || row_number() OVER () AS request_id, '{}' AS entity,
             ${loggedFeatures()} AS features, json_object('prediction', prediction)::VARCHAR AS prediction,
             2.5::DOUBLE AS latency_ms, TIMESTAMPTZ '2026-03-01 12:00:00+00' AS created_at FROM served)
           TO ${sqlPath(files.log)} (FORMAT parquet, COMPRESSION zstd)`,
        );
      }),
    );

    // The reference profile, as a training dataset computes it (timed once, reported).
    const columns = FEATURES.map((f) => ({ name: f.name, kind: f.kind }));
    const [reference, referenceMs] = await timed(() =>
      session((duck) => profileRelation(duck, `read_parquet(${sqlPath(files.reference)})`, columns)),
    );

    // Figure A: typed columns.
    const windowRelation = `read_parquet(${sqlPath(files.window)})`;
    let checksA: WindowChecks | undefined;
    const a = await compare(
      runsA,
      () =>
        session(async (duck) => {
          const window = await profileWindow(duck, windowRelation, reference);
          checksA = checkWindow(reference, window);
          return window;
        }),
      () =>
        session((duck) =>
          rawHistograms(duck, windowRelation, reference, (f) =>
            f.kind === 'numeric' ? `${f.name}::DOUBLE` : f.name,
          ),
        ),
      (window, raw) => assertSameCounts('A', window, raw, rows),
    );

    // Figure B: the prediction log's layout. The monitor loads a segment's spilled rows into its
    // (f JSON, p JSON) table as loadServedSegment does (INSERT … features::JSON from the spill
    // Parquet, filtered to the segment), then profiles the logged features with profileLogged.
    const logRelation = `read_parquet(${sqlPath(files.log)})`;
    const logged = featureColumns(
      FEATURES.map((f) => f.name),
      KINDS,
    );
    let loadMs: number[] = [];
    const b = await compare(
      runsB,
      () =>
        session(async (duck) => {
          const [, load] = await timed(async () => {
            await duck.run(`CREATE OR REPLACE TEMP TABLE _fti_segment (f JSON, p JSON)`);
            await duck.run(
              `INSERT INTO _fti_segment SELECT features::JSON, prediction::JSON FROM ${logRelation}
               WHERE deployment = $1 AND variant = $2 AND model_version = $3 AND NOT shadow`,
              ['bench', 'main', 1],
            );
          });
          loadMs.push(load);
          const window = await profileLogged(duck, '_fti_segment', reference, logged, 'NOT (FALSE)');
          checkWindow(reference, window);
          return window;
        }),
      () =>
        session(async (duck) => {
          // The same JSON pointers, parsed once per row (a list of paths), then the same query as in A.
          const paths = FEATURES.map((f) => `'/${f.name}/value'`).join(', ');
          const values = FEATURES.map((f, i) =>
            f.kind === 'numeric'
              ? `TRY_CAST(v[${i + 1}] AS DOUBLE) AS ${f.name}`
              : `v[${i + 1}] AS ${f.name}`,
          );
          await duck.run(
            `CREATE TEMP TABLE logged AS SELECT ${values.join(', ')}
             FROM (SELECT json_extract_string(features, [${paths}]) AS v FROM ${logRelation})`,
          );
          return rawHistograms(duck, 'logged', reference, (f) => f.name);
        }),
      (window, raw) => assertSameCounts('B', window, raw, rows),
    );
    loadMs = loadMs.slice(1);
    assertSameWindow(a.result, b.result);

    const drifted = checksA!.columns.filter((c) => c.problems.length > 0);
    const planted = FEATURES.filter((f) => f.drifted).map((f) => f.name);
    const [oa, ra, ob, rb] = [median(a.ours), median(a.raw), median(b.ours), median(b.raw)];
    const best = (xs: readonly number[]) => Math.min(...xs);
    const ratio = (x: { ours: number[]; raw: number[] }) =>
      `${(median(x.ours) / median(x.raw)).toFixed(2)}x (paired runs: ${median(x.ours.map((t, i) => t / x.raw[i]!)).toFixed(2)}x, best runs: ${(best(x.ours) / best(x.raw)).toFixed(2)}x)`;
    const runList = (xs: readonly number[]) => xs.map(seconds).join(' ');
    process.stdout.write(
      [
        `bench/monitor: window of ${rows} logged rows × ${FEATURES.length} features (${NUMERIC.length} numeric, ${CATEGORICAL.length} categorical with 10–1,000 categories) against a ${referenceRows}-row reference (${PROFILE_BINS} bins per numeric column), ${threads} threads (setup ${seconds(setupMs)} s; load average ${loadBefore.toFixed(1)} before, ${os.loadavg()[0]!.toFixed(1)} after, on ${os.cpus().length} cores)`,
        `  reference profile (profileRelation over Parquet, ${referenceRows} rows): ${seconds(referenceMs)} s`,
        `  A typed columns (Parquet), median of ${runsA} runs after a warm-up:`,
        `    monitor: profileWindow + checkWindow (bins, out-of-range, nulls, ranges, means, categories, statistics): ${seconds(oa)} s  ${perSecond(rows, oa)} rows/s  (runs ${runList(a.ours)})`,
        `    raw DuckDB: one histogram() scan, same edges, + one GROUP BY per categorical column                    : ${seconds(ra)} s  (runs ${runList(a.raw)})`,
        `    ratio monitor/raw: ${ratio(a)}   (target <= 2)`,
        `  B prediction log layout (spilled Parquet, features as JSON text {"x01": {"value": …, "status": …}, …}), median of ${runsB} runs after a warm-up:`,
        `    monitor: load into (f JSON, p JSON) ${seconds(median(loadMs))} s + profileLogged(featureColumns) + checkWindow: ${seconds(ob)} s  ${perSecond(rows, ob)} rows/s  (runs ${runList(b.ours)})`,
        `    raw DuckDB: the same JSON pointers, one json_extract_string per row, then A's histogram query         : ${seconds(rb)} s  (runs ${runList(b.raw)})`,
        `    ratio monitor/raw: ${ratio(b)}`,
        `  peak RSS while the monitor ran: A ${mib(a.peakRss.ours)} MiB, B ${mib(b.peakRss.ours)} MiB; while the raw queries ran: A ${mib(a.peakRss.raw)} MiB, B ${mib(b.peakRss.raw)} MiB`,
        `  counts checked equal: monitor vs raw (every bin and category, both figures), typed vs logged layout`,
        `  columns with problems: ${drifted.map((c) => `${c.column} (${c.problems.join(', ')})`).join(', ') || 'none'}; planted: ${planted.join(', ')}`,
      ].join('\n') + '\n',
    );
    const figure: MonitorFigure = {
      rows,
      referenceRows,
      typed: { oursMs: oa, rawMs: ra, peakRss: a.peakRss },
      logged: { oursMs: ob, rawMs: rb, peakRss: b.peakRss },
    };
    if (json) process.stdout.write(`${JSON.stringify(figure)}\n`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0);

/** One figure's medians (ms) and peak RSS (bytes) of each side. */
interface SideFigures {
  readonly oursMs: number;
  readonly rawMs: number;
  readonly peakRss: PeakRss;
}

/** One size's figures, as a sweep's child reports them. */
interface MonitorFigure {
  readonly rows: number;
  readonly referenceRows: number;
  /** Figure A (typed columns) and B (the prediction log's layout; measured after A). */
  readonly typed: SideFigures;
  readonly logged: SideFigures;
}

/** A sweep: each size in its own process (a clean peak RSS), then the table and the chart. */
function sweep(list: readonly number[]): void {
  // Only the window grows: the reference stays at --reference (default 200k) for every size.
  const reference = String(option('reference', 200_000));
  const passed = ['runs', 'threads'].flatMap((name) =>
    process.argv.includes(`--${name}`) ? [`--${name}`, String(option(name, 1))] : [],
  );
  const figures: MonitorFigure[] = [];
  for (const n of list) {
    if (!Number.isInteger(n) || n <= 0) throw new Error(`--sizes needs positive integers, got ${n}`);
    const child = spawnSync(
      process.execPath,
      [__filename, '--rows', String(n), '--reference', reference, ...passed, '--json'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 },
    );
    if (child.status !== 0) throw new Error(`bench/monitor ${n} rows exited with ${child.status}`);
    const lines = child.stdout.trim().split('\n');
    figures.push(JSON.parse(lines.pop()!) as MonitorFigure);
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  const x = (a: SideFigures) =>
    `${seconds(a.oursMs)} | ${seconds(a.rawMs)} | ${(a.oursMs / a.rawMs).toFixed(2)}x | ${mib(a.peakRss.ours)} | ${mib(a.peakRss.raw)}`;
  process.stdout.write(
    [
      `bench/monitor sweep (${FEATURES.length} features, reference ${reference} rows, ${threads} threads; medians, seconds):`,
      '  rows | A monitor | A raw | A ratio | A peak RSS monitor MiB | A raw MiB | B monitor | B raw | B ratio | B peak RSS monitor MiB | B raw MiB',
      ...figures.map((f) => `  ${f.rows} | ${x(f.typed)} | ${x(f.logged)}`),
    ].join('\n') + '\n',
  );
  if (!plot) return;
  const points = (value: (f: MonitorFigure) => number) => figures.map((f) => [f.rows, value(f)] as const);
  fs.writeFileSync(
    plot,
    stackSvgs([
      lineChartSvg({
        title: `drift monitoring: time as the window grows (${threads} threads)`,
        xLabel: 'logged predictions in the window',
        yLabel: 'seconds (median)',
        log: { x: true, y: true },
        series: [
          { name: 'monitor, typed (A)', points: points((f) => f.typed.oursMs / 1000) },
          { name: 'raw DuckDB, typed (A)', points: points((f) => f.typed.rawMs / 1000) },
          { name: 'monitor, log layout (B)', points: points((f) => f.logged.oursMs / 1000) },
          { name: 'raw DuckDB, log (B)', points: points((f) => f.logged.rawMs / 1000) },
        ],
      }),
      lineChartSvg({
        title: 'drift monitoring: peak RSS as the window grows',
        xLabel: 'logged predictions in the window',
        yLabel: 'MiB',
        log: { x: true },
        series: [
          { name: 'monitor, typed (A)', points: points((f) => f.typed.peakRss.ours / 2 ** 20) },
          { name: 'raw DuckDB, typed (A)', points: points((f) => f.typed.peakRss.raw / 2 ** 20) },
          { name: 'monitor, log layout (B)', points: points((f) => f.logged.peakRss.ours / 2 ** 20) },
          { name: 'raw DuckDB, log (B)', points: points((f) => f.logged.peakRss.raw / 2 ** 20) },
        ],
      }),
    ]),
  );
  process.stdout.write(`wrote ${plot}\n`);
}

(sizes ? Promise.resolve().then(() => sweep(sizes)) : main()).catch((error: unknown) => {
  process.stderr.write(
    `bench/monitor failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
