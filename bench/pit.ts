// bench/pit: point-in-time training data — a spine (default 1M rows) joined with 2 feature groups
// (default 5M rows each, 5 features each) — against DuckDB's raw ASOF LEFT JOIN over the same
// committed Parquet files, measured in the same run with the same threads, and against Feast's
// get_historical_features (DuckDB offline store) over the same files when Feast is installed.
// Usage: node dist/bench/pit.js [spineRows=1000000] [groupRows=5000000]   (needs infra/stack.sh up)
//        node dist/bench/pit.js --sizes=10000:50000,100000:500000,1000000:5000000 [--plot=FILE.svg]
//        [--feast=off] [--cpu-prof=FILE.cpuprofile]
// Feast: infra/python-bench.sh installs it (pinned, infra/requirements-bench.txt) into .venv-bench.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { loadConfig } from '../core/config';
import { openDatabase } from '../core/db';
import { DuckSession, sqlPath, withDuck } from '../core/duckdb';
import {
  createFeatureView,
  createTrainingData,
  materializeView,
  OfflineTable,
  OnDemandRegistry,
  registerFeatureGroup,
  resolvePins,
  type FeatureGroupRecord,
  type FeatureViewDeps,
} from '../core/featurestore';
import { ObjectCache, objectStoreFromConfig } from '../core/storage';
import { cpuProfileArgument, profiled } from './support/cpu-profile';
import { lineChartSvg } from './support/plot';

const flag = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'));
// --sizes=spine:groupRows,...: one setup and measurement per pair.
const sizes: [number, number][] = flag('sizes')
  ?.split(',')
  .map((pair) => pair.split(':').map(Number) as [number, number]) ?? [
  [Number(positional[0] ?? 1_000_000), Number(positional[1] ?? 5_000_000)],
];
const plot = flag('plot');
const feastOff = flag('feast') === 'off';
const cpuProfile = cpuProfileArgument();
const threads = os.cpus().length;
const root = path.resolve(__dirname, '..', '..');
const feastPython = path.join(root, '.venv-bench', 'bin', 'python');
const feastScript = path.join(root, 'bench', 'support', 'feast-pit.py');
const seconds = (ms: number) => (ms / 1000).toFixed(2);
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const A = [0, 1, 2, 3, 4].map((j) => `a${j}`);
const B = [0, 1, 2, 3, 4].map((j) => `b${j}`);
const FEATURES = [...A, ...B];

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const value = await fn();
  return [value, performance.now() - start];
}

/** What Feast's run reports (bench/support/feast-pit.py). */
interface FeastResult {
  readonly seconds: number[];
  readonly rows: number;
  readonly nonNull: Record<string, number>;
  readonly sums: Record<string, number>;
  readonly sample: ({ entity_id: number; event_time: number } & Record<string, number | null>)[];
  readonly peakRssMiB: number;
  readonly feast: string;
}

/** Per-feature non-null counts and sums of an output relation: what every side must agree on. */
type Checksums = { rows: number; nonNull: Record<string, number>; sums: Record<string, number> };

interface Figure {
  readonly spineRows: number;
  readonly groupRows: number;
  readonly rows: number;
  readonly platformMs: number;
  readonly rawMs: number;
  readonly peakRss: number;
  readonly trainingDataMs: number;
  readonly feast?: { readonly ms: number; readonly peakRss: number; readonly version: string };
}

async function checksums(duck: DuckSession, relation: string): Promise<Checksums> {
  const row = (await duck.one<Record<string, bigint | number | null>>(
    `SELECT count(*) AS n, ${FEATURES.map((f) => `count(${f}) AS n_${f}, sum(${f}) AS s_${f}`).join(', ')} FROM ${relation}`,
  ))!;
  return {
    rows: Number(row.n),
    nonNull: Object.fromEntries(FEATURES.map((f) => [f, Number(row[`n_${f}`])])),
    sums: Object.fromEntries(FEATURES.map((f) => [f, Number(row[`s_${f}`] ?? 0)])),
  };
}

/** Throws unless two sides returned the same rows: counts exact, sums to float-summation order. */
function assertSame(what: string, a: Checksums, b: Checksums): void {
  if (a.rows !== b.rows) throw new Error(`${what}: row counts differ (${a.rows} vs ${b.rows})`);
  for (const f of FEATURES) {
    if (a.nonNull[f] !== b.nonNull[f])
      throw new Error(`${what}: non-null ${f} differ (${a.nonNull[f]} vs ${b.nonNull[f]})`);
    const [x, y] = [a.sums[f]!, b.sums[f]!];
    if (Math.abs(x - y) > 1e-9 * Math.max(1, Math.abs(x)))
      throw new Error(`${what}: sum of ${f} differs (${x} vs ${y})`);
  }
}

async function runFeast(args: object): Promise<FeastResult> {
  const { stdout } = await promisify(execFile)(feastPython, [feastScript, JSON.stringify(args)], {
    maxBuffer: 64 * 2 ** 20,
    env: { ...process.env, PYTHONWARNINGS: 'ignore' },
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as FeastResult;
}

async function measure(spineRows: number, groupRows: number): Promise<Figure> {
  const entities = Math.max(1, Math.floor(spineRows / 10));
  const config = loadConfig();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-bench-pit-'));
  const database = await openDatabase({ url: config.databaseUrl });
  const store = objectStoreFromConfig(config);
  const deps: FeatureViewDeps = {
    db: database.db,
    store,
    cache: new ObjectCache(store, { dir: path.join(dir, 'cache') }),
    onDemand: new OnDemandRegistry(),
    scratchDir: path.join(dir, 'scratch'),
    threads,
  };
  const suffix = `${spineRows}_${Date.now().toString(36)}`;
  const group = async (
    name: string,
    features: string[],
    type: 'double' | 'bigint',
  ): Promise<FeatureGroupRecord> =>
    (
      await registerFeatureGroup(database.db, {
        name: `${name}_${suffix}`,
        primaryKey: ['entity_id'],
        eventTime: 'event_time',
        features: [
          { name: 'entity_id', type: 'bigint' },
          { name: 'event_time', type: 'timestamp' },
          ...features.map((f) => ({ name: f, type })),
        ],
      })
    ).record;
  const spine = await group('bench_spine', ['label'], 'bigint');
  const g1 = await group('bench_fg1', A, 'double');
  const g2 = await group('bench_fg2', B, 'double');

  // Setup (not measured): one commit per group, written through the offline table.
  const span = 90 * 86_400; // event times spread over 90 days
  const setupStart = performance.now();
  await withDuck(
    async (duck) => {
      const write = async (record: FeatureGroupRecord, rows: number, columns: string) => {
        await duck.run(
          `CREATE OR REPLACE TABLE batch AS SELECT (i % ${entities})::BIGINT AS entity_id,
             TIMESTAMP '2026-01-01' + to_seconds((hash(i, ${rows}) % ${span})::BIGINT) AS event_time, ${columns},
             i + 1 AS _fti_row FROM range(${rows}) t(i)`,
        );
        await new OfflineTable(deps, record).write(duck, 'batch', {
          operation: 'insert',
          idempotencyKey: 'bench',
        });
      };
      await write(spine, spineRows, '(i % 7 = 0)::BIGINT AS label');
      for (const [record, names] of [
        [g1, A],
        [g2, B],
      ] as const)
        await write(record, groupRows, names.map((n, j) => `random() * ${j + 1} AS ${n}`).join(', '));
    },
    { threads, tempDirectory: path.join(dir, 'duck') },
  );
  const setupMs = performance.now() - setupStart;

  const { record } = await createFeatureView(database.db, {
    name: `bench_pit_${suffix}`,
    spine: { featureGroup: spine.spec.name },
    labels: ['label'],
    joins: [{ featureGroup: g1.spec.name }, { featureGroup: g2.spec.name }],
  });
  const view = record.view;
  const pins = await resolvePins(deps, view);
  // The same committed Parquet files every side reads (local files of the object cache).
  const fileOf = async (g: FeatureGroupRecord) => {
    const timeline = await new OfflineTable(deps, g).timeline();
    return deps.cache.localPath(timeline.at(-1)!.files[0]!.key);
  };
  const [spineFile, f1, f2] = [await fileOf(spine), await fileOf(g1), await fileOf(g2)];

  const rawSql = (table: string) =>
    `CREATE TABLE ${table} AS SELECT s.entity_id, s.event_time, s.label, ${A.map((c) => `f1.${c}`).join(', ')}, ${B.map((c) => `f2.${c}`).join(', ')}
     FROM read_parquet(${sqlPath(spineFile)}) s
     ASOF LEFT JOIN read_parquet(${sqlPath(f1)}) f1 ON s.entity_id = f1.entity_id AND s.event_time >= f1.event_time
     ASOF LEFT JOIN read_parquet(${sqlPath(f2)}) f2 ON s.entity_id = f2.entity_id AND s.event_time >= f2.event_time`;
  const baseline = async () =>
    withDuck(
      async (duck) => {
        await duck.run(rawSql('out'));
        return Number((await duck.one<{ n: bigint }>('SELECT count(*) AS n FROM out'))!.n);
      },
      { threads },
    );
  // The platform's join as createTrainingData runs it (its Parquet writes sort by spine row).
  const materialize = (duck: DuckSession) =>
    materializeView(duck, deps, view, {
      pins,
      spine: { kind: 'group' },
      output: 'out',
      purpose: 'training',
      onDemand: deps.onDemand,
      scratchDir: deps.scratchDir,
      ordered: false,
    });
  const platform = async () => {
    const duck = await DuckSession.open({ threads, tempDirectory: path.join(dir, 'duck') });
    try {
      return await materialize(duck);
    } finally {
      duck.close();
    }
  };

  // Feast first (its own process, not concurrent with ours): same spine and feature files.
  let feast: FeastResult | undefined;
  if (!feastOff && fs.existsSync(feastPython))
    feast = await runFeast({
      repo: path.join(dir, 'feast-repo'),
      spine: spineFile,
      groups: [
        { name: 'fg1', path: f1, features: A },
        { name: 'fg2', path: f2, features: B },
      ],
      runs: 3,
      sample: 20,
    });

  // Untimed check that every side returns the same rows and values.
  await withDuck(
    async (duck) => {
      await materialize(duck);
      await duck.run(rawSql('raw_out'));
      const ours = await checksums(duck, 'out');
      assertSame('platform vs raw ASOF', ours, await checksums(duck, 'raw_out'));
      if (!feast) return;
      assertSame('platform vs Feast', ours, feast);
      for (const s of feast.sample) {
        const row = await duck.one<Record<string, number | null>>(
          `SELECT ${FEATURES.join(', ')} FROM out WHERE entity_id = ${s.entity_id} AND epoch_us(event_time) = ${s.event_time}`,
        );
        if (!row || FEATURES.some((f) => row[f] !== s[f]))
          throw new Error(`platform vs Feast: values differ at entity ${s.entity_id}, time ${s.event_time}`);
      }
    },
    { threads, tempDirectory: path.join(dir, 'duck') },
  );

  // Warm-up both (file system cache), then alternate measured runs and keep the best of each.
  await baseline();
  await platform();
  const base: number[] = [];
  const ours: number[] = [];
  let rows = 0;
  let peakRss = 0;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
  for (let i = 0; i < 3; i++) {
    const [n1, t1] = await timed(baseline);
    const [n2, t2] = await timed(() => (i === 0 ? profiled(cpuProfile, platform) : platform()));
    if (n1 !== n2) throw new Error(`row counts differ: baseline ${n1}, platform ${n2}`);
    rows = n2;
    base.push(t1);
    ours.push(t2);
  }
  clearInterval(sampler);
  const [td, tdMs] = await timed(() =>
    createTrainingData(deps, {
      featureView: { name: view.name },
      splits: { kind: 'random', fractions: { train: 0.8, test: 0.2 }, seed: 1 },
    }),
  );
  const b = Math.min(...base);
  const o = Math.min(...ours);
  const lines = [
    `bench/pit: ${spineRows} spine rows × 2 feature groups of ${groupRows} rows (5 features each), ${entities} entities, ${threads} threads (setup ${seconds(setupMs)} s)`,
    `  platform PIT join (snapshot + ASOF + lookback/null rules + deterministic row numbers): ${seconds(o)} s  (${rows} rows)`,
    `  raw DuckDB ASOF LEFT JOIN on the same Parquet files                        : ${seconds(b)} s`,
    `  ratio platform/raw: ${(o / b).toFixed(2)}x   (target <= 1.1)   peak RSS ${mib(peakRss)} (this process, both sides)`,
  ];
  if (feast) {
    const f = Math.min(...feast.seconds) * 1000;
    lines.push(
      `  Feast ${feast.feast} get_historical_features(...).to_arrow(), DuckDB offline store, same files: ${seconds(f)} s  (${feast.rows} rows; entity DataFrame in memory, apply not timed; peak RSS ${feast.peakRssMiB.toFixed(0)} MiB)`,
      `  ratio platform/Feast: ${(o / f).toFixed(2)}x   (rows, non-null counts, sums and ${feast.sample.length} sampled rows agree)`,
    );
  } else
    lines.push(
      feastOff
        ? '  Feast: skipped (--feast=off)'
        : '  Feast: not installed — run infra/python-bench.sh (pinned feast[duckdb] into .venv-bench) to compare with it',
    );
  lines.push(
    `  full createTrainingData (join + split + stats + Parquet + S3 upload): ${seconds(tdMs)} s  (train ${td.rowCounts.train}, test ${td.rowCounts.test})`,
  );
  process.stdout.write(lines.join('\n') + '\n');
  await database.close();
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return {
    spineRows,
    groupRows,
    rows,
    platformMs: o,
    rawMs: b,
    peakRss,
    trainingDataMs: tdMs,
    feast: feast && {
      ms: Math.min(...feast.seconds) * 1000,
      peakRss: feast.peakRssMiB * 2 ** 20,
      version: feast.feast,
    },
  };
}

async function main(): Promise<void> {
  const figures: Figure[] = [];
  for (const [spineRows, groupRows] of sizes) figures.push(await measure(spineRows, groupRows));
  if (figures.length > 1)
    process.stdout.write(
      [
        'spine × group rows | platform s | raw ASOF s | Feast s | platform/raw | platform/Feast | peak RSS (node) | peak RSS (Feast)',
        ...figures.map((f) =>
          [
            `${f.spineRows} × ${f.groupRows}`,
            seconds(f.platformMs),
            seconds(f.rawMs),
            f.feast ? seconds(f.feast.ms) : '-',
            `${(f.platformMs / f.rawMs).toFixed(2)}x`,
            f.feast ? `${(f.platformMs / f.feast.ms).toFixed(2)}x` : '-',
            mib(f.peakRss),
            f.feast ? mib(f.feast.peakRss) : '-',
          ].join(' | '),
        ),
      ].join('\n') + '\n',
    );
  if (plot) {
    const withFeast = figures.filter((f) => f.feast);
    fs.writeFileSync(
      plot,
      lineChartSvg({
        title: `point-in-time join: time as the spine grows (${threads} cores)`,
        xLabel: 'spine rows (feature groups: 5× as many rows each)',
        yLabel: 'seconds',
        log: { x: true, y: true },
        series: [
          { name: 'platform', points: figures.map((f) => [f.spineRows, f.platformMs / 1000]) },
          { name: 'raw DuckDB ASOF', points: figures.map((f) => [f.spineRows, f.rawMs / 1000]) },
          ...(withFeast.length
            ? [
                {
                  name: 'Feast (DuckDB)',
                  points: withFeast.map((f) => [f.spineRows, f.feast!.ms / 1000] as const),
                },
              ]
            : []),
        ],
      }),
    );
    const rssPlot = plot.replace(/\.svg$/, '') + '-rss.svg';
    fs.writeFileSync(
      rssPlot,
      lineChartSvg({
        title: `point-in-time join: peak RSS as the spine grows`,
        xLabel: 'spine rows (feature groups: 5× as many rows each)',
        yLabel: 'MiB',
        log: { x: true, y: true },
        series: [
          { name: 'platform + raw (node)', points: figures.map((f) => [f.spineRows, f.peakRss / 2 ** 20]) },
          ...(withFeast.length
            ? [
                {
                  name: 'Feast (python)',
                  points: withFeast.map((f) => [f.spineRows, f.feast!.peakRss / 2 ** 20] as const),
                },
              ]
            : []),
        ],
      }),
    );
    process.stdout.write(`wrote ${plot} and ${rssPlot}\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench/pit failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
