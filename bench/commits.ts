// bench/commits: is the cost of a small commit flat with history? The commit step of an hourly
// pipeline (1k-row upsert with new event times: OfflineTable.write of the conformed batch + the
// commit's statistics) timed
//   1. against history size: on an empty group vs groups holding 1M and 10M rows (one large commit);
//   2. against history length: commits 1–20 vs the last 20 of 1,000 (--full) successive hourly commits;
// each as a ratio against its baseline measured in the same run (target <= 1.3x); then
//   3. a PIT read of the group after those commits (snapshot aggregate + a feature-view ASOF join),
//      before and after a maintenance pass (compaction), as a ratio.
// Usage: node dist/bench/commits.js [--full] [--sizes=0,1000000] [--commits=1000] [--samples=7]
//          [--rows=1000] [--no-stats]          (needs the stack: infra/stack.sh up)
//        node dist/bench/commits.js --sizes=100000,1000000,10000000 --plot=FILE.svg [--samples=7]
//   sweeps the history size, part 1 only: one process per size, each timing the small commits on
//   its group against an empty group's in the same process (interleaved, as above), with the
//   history write's time and the peak RSS (sampled every 20 ms) while writing and while committing.
// Defaults (about 3 minutes on 2 cores): sizes 0,1000000 and 200 commits; --full: sizes
// 0,1000000,10000000 and 1,000 commits (the issue's figures, about 15 minutes). Each option may also
// be given as an environment variable: BENCH_COMMITS_SIZES, _COMMITS, _SAMPLES, _ROWS.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../core/config';
import { openDatabase } from '../core/db';
import { DuckSession, withDuck } from '../core/duckdb';
import {
  createFeatureView,
  materializeView,
  OfflineTable,
  OnDemandRegistry,
  resolvePins,
  type FeatureGroupRecord,
  type FeatureViewDeps,
} from '../core/featurestore';
import { liveFilesOf } from '../core/featurestore/offline/commits';
import { maintainFeatureGroup } from '../core/featurestore/maintenance/maintain';
import { ObjectCache, objectStoreFromConfig } from '../core/storage';
import {
  FEATURES,
  median,
  medianTiming,
  registerBenchGroup,
  timedHourlyCommit,
  writeHistory,
  type CommitTiming,
} from './support/commits-group';
import { lineChartSvg } from './support/plot';
import { stackSvgs } from './support/plot-stack';

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
const option = (name: string, fallback: string) =>
  args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ??
  process.env[`BENCH_COMMITS_${name.toUpperCase()}`] ??
  fallback;
const full = flag('full');
const sizes = option('sizes', full ? '0,1000000,10000000' : '0,1000000')
  .split(',')
  .map(Number);
const commits = Number(option('commits', full ? '1000' : '200'));
const samples = Number(option('samples', '7'));
const rows = Number(option('rows', '1000'));
const withStatistics = !flag('no-stats');
const plot = args.find((a) => a.startsWith('--plot='))?.slice('--plot='.length);
/** Set in a sweep's child: part 1 only, and its figures as one JSON line. */
const json = flag('json');
const threads = os.cpus().length;
const ms = (v: number) => `${v.toFixed(0)} ms`;
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
const line = (t: CommitTiming) =>
  `${ms(t.totalMs).padStart(8)} (write ${ms(t.writeMs)}, statistics ${ms(t.statsMs)})`;

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const value = await fn();
  return [value, performance.now() - start];
}

/** Process RSS sampled every 20 ms (and when read): the high-water mark of a phase. */
function rssSampler(): { peak(): number; stop(): number } {
  let peak = 0;
  const sample = () => (peak = Math.max(peak, process.memoryUsage().rss));
  const timer = setInterval(sample, 20);
  sample();
  return {
    peak: () => (sample(), peak),
    stop: () => (clearInterval(timer), sample(), peak),
  };
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

/** One history size of a sweep, as its child process reports it. */
interface SizeFigure {
  readonly size: number;
  /** The history's one large commit, and the process's peak RSS while it was written. */
  readonly historyMs: number;
  readonly historyPeakRss: number;
  /** Medians of the small commits on this group and on the empty group (same process, interleaved). */
  readonly commit: CommitTiming;
  readonly empty: CommitTiming;
  /** The process's peak RSS while the small commits ran (after the history write). */
  readonly commitPeakRss: number;
}

async function main(): Promise<void> {
  for (const [name, value] of Object.entries({ commits, samples, rows }))
    if (!Number.isInteger(value) || value < 1)
      throw new Error(`--${name} must be a positive integer, got ${value}`);
  if (sizes.some((s) => !Number.isInteger(s) || s < 0) || sizes[0] !== 0)
    throw new Error(
      `--sizes must be non-negative integers starting with 0 (the baseline), got ${sizes.join(',')}`,
    );
  const config = loadConfig();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-bench-commits-'));
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
  const suffix = Date.now().toString(36);
  const created: FeatureGroupRecord[] = [];
  const group = async (label: string) => {
    const record = await registerBenchGroup(deps, `bench_commits_${label}_${suffix}`);
    created.push(record);
    return record;
  };
  const out = (text: string) => process.stdout.write(`${text}\n`);
  out(
    `bench/commits: ${rows}-row hourly upserts (bigint key, timestamp, ${FEATURES.length} doubles), ${threads} threads, ` +
      `commit = OfflineTable.write${withStatistics ? ' + computeCommitStatistics (per-commit sketches)' : ' only (--no-stats)'}`,
  );
  try {
    // Warm-up (JIT, connections, DuckDB extension loading) on a throwaway group.
    const warm = await group('warmup');
    for (let h = 0; h < 3; h++) await timedHourlyCommit(deps, warm, h, rows, withStatistics);

    // 1. Against history size: the same small commits on groups of different sizes.
    out(`1. against history size (median of ${samples} commits each, interleaved across the groups):`);
    const sized: {
      size: number;
      group: FeatureGroupRecord;
      setupMs: number;
      setupPeakRss: number;
      timings: CommitTiming[];
    }[] = [];
    for (const size of sizes) {
      const g = await group(`size${size}`);
      const rss = rssSampler();
      const [, setupMs] = await timed(() => writeHistory(deps, g, size));
      sized.push({ size, group: g, setupMs, setupPeakRss: rss.stop(), timings: [] });
    }
    // Round-robin, so load from other processes on the machine falls on every size alike.
    const commitRss = rssSampler();
    for (let h = 0; h < samples; h++)
      for (const s of sized) s.timings.push(await timedHourlyCommit(deps, s.group, h, rows, withStatistics));
    const commitPeakRss = commitRss.stop();
    const empty = medianTiming(sized[0]!.timings);
    for (const { size, setupMs, setupPeakRss, timings } of sized) {
      const m = medianTiming(timings);
      out(
        `   ${String(size).padStart(9)} rows of history: ${line(m)}  ratio vs empty ${ratio(m.totalMs, empty.totalMs)} ` +
          `(write ${ratio(m.writeMs, empty.writeMs)})${size ? `  [history written in ${(setupMs / 1000).toFixed(1)} s, peak RSS ${mib(setupPeakRss)}]` : ''}`,
      );
    }
    out(`   (peak RSS while these commits ran: ${mib(commitPeakRss)})`);
    if (json) {
      const last = sized.at(-1)!;
      const figure: SizeFigure = {
        size: last.size,
        historyMs: last.setupMs,
        historyPeakRss: last.setupPeakRss,
        commit: medianTiming(last.timings),
        empty,
        commitPeakRss,
      };
      out(JSON.stringify(figure));
      return;
    }

    // 2. Against history length: successive hourly commits to one group.
    const window = Math.max(1, Math.min(20, Math.floor(commits / 4)));
    const g = await group('length');
    const table = new OfflineTable(deps, g);
    // Diagnostic: what every write reads first (the timeline from PostgreSQL, then its live files).
    const timelineMs = async () => {
      const t: number[] = [];
      for (let i = 0; i < 5; i++) t.push((await timed(async () => liveFilesOf(await table.timeline())))[1]);
      return median(t);
    };
    const timings: CommitTiming[] = [];
    const [, allMs] = await timed(async () => {
      for (let h = 0; h < commits; h++) {
        timings.push(await timedHourlyCommit(deps, g, h, rows, withStatistics));
        if (h === window - 1)
          out(`   (timeline read + live files after ${h + 1} commits: ${ms(await timelineMs())})`);
      }
    });
    const first = medianTiming(timings.slice(0, window));
    const last = medianTiming(timings.slice(-window));
    out(
      `2. against history length (${commits} successive commits in ${(allMs / 1000).toFixed(0)} s, median of ${window} each):`,
    );
    out(`   commits 1-${window}: ${line(first)}`);
    out(`   commits ${commits - window + 1}-${commits}: ${line(last)}`);
    out(
      `   ratio last/first: ${ratio(last.totalMs, first.totalMs)} (write ${ratio(last.writeMs, first.writeMs)}, statistics ${ratio(last.statsMs, first.statsMs)})   (target <= 1.3)`,
    );
    out(`   (timeline read + live files after ${commits} commits: ${ms(await timelineMs())})`);

    // 3. PIT read after those commits, before and after compaction.
    const spine = await group('spine');
    await withDuck(
      async (duck) => {
        // 10 labelled events per hour, each 30 minutes into the hour, for entities 0..9.
        await duck.run(
          `CREATE TABLE batch AS SELECT (i % 10)::BIGINT AS entity_id, TIMESTAMP '2026-01-01' + to_minutes((i // 10) * 60 + 30) AS event_time,
             ${FEATURES.map((f) => `0::DOUBLE AS ${f}`).join(', ')}, i + 1 AS _fti_row FROM range(${commits * 10}) t(i)`,
        );
        await new OfflineTable(deps, spine).write(duck, 'batch', {
          operation: 'insert',
          idempotencyKey: 'bench-spine',
        });
      },
      { threads, tempDirectory: path.join(dir, 'duck') },
    );
    const { record } = await createFeatureView(database.db, {
      name: `bench_commits_view_${suffix}`,
      spine: { featureGroup: spine.spec.name, features: [] },
      joins: [{ featureGroup: g.spec.name, features: FEATURES.slice(0, 5), prefix: 'g_' }],
    });
    const reads = async () => {
      const snapshot = async () =>
        withDuck(
          async (duck) => {
            await table.registerSnapshot(duck, 'snap');
            return Number((await duck.one<{ n: bigint }>(`SELECT count(*) AS n, avg(f0) AS a FROM snap`))!.n);
          },
          { threads, tempDirectory: path.join(dir, 'duck') },
        );
      const pit = async () => {
        const duck = await DuckSession.open({ threads, tempDirectory: path.join(dir, 'duck') });
        try {
          return await materializeView(duck, deps, record.view, {
            pins: await resolvePins(deps, record.view),
            spine: { kind: 'group' },
            output: 'out',
            purpose: 'training',
            onDemand: deps.onDemand,
            scratchDir: deps.scratchDir,
          });
        } finally {
          duck.close();
        }
      };
      await snapshot(); // warm-up (local cache, file system)
      await pit();
      const s: number[] = [];
      const p: number[] = [];
      let counts = [0, 0];
      for (let i = 0; i < 3; i++) {
        const [n1, t1] = await timed(snapshot);
        const [n2, t2] = await timed(pit);
        s.push(t1);
        p.push(t2);
        counts = [n1, n2];
      }
      return {
        snapshotMs: Math.min(...s),
        pitMs: Math.min(...p),
        counts,
        files: await table.liveFileCount(),
      };
    };
    const before = await reads();
    const [report, compactMs] = await timed(() =>
      maintainFeatureGroup(deps, { name: g.spec.name, version: g.spec.version }, {}, { duck: { threads } }),
    );
    const after = await reads();
    if (before.counts.join() !== after.counts.join())
      throw new Error(
        `row counts changed by compaction: before ${before.counts.join('/')}, after ${after.counts.join('/')}`,
      );
    out(
      `3. PIT read after ${commits} commits (best of 3; ${before.counts[0]} snapshot rows, ${before.counts[1]} spine rows joined):`,
    );
    out(
      `   before compaction (${before.files} live files): snapshot count ${ms(before.snapshotMs)}, feature-view PIT join ${ms(before.pitMs)}`,
    );
    out(
      `   after compaction  (${after.files} live files): snapshot count ${ms(after.snapshotMs)}, feature-view PIT join ${ms(after.pitMs)}`,
    );
    out(
      `   ratio before/after: snapshot ${ratio(before.snapshotMs, after.snapshotMs)}, PIT join ${ratio(before.pitMs, after.pitMs)}   (maintenance pass ${ms(compactMs)}, ${report.filesCompacted} files merged)`,
    );
  } finally {
    for (const g of created) await store.deletePrefix(`${new OfflineTable(deps, g).prefix}/`);
    await database.close();
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A sweep of part 1: each history size in its own process (a clean peak RSS), then the table and chart. */
function sweep(list: readonly number[], file: string): void {
  const passed = args.filter((a) => /^--(samples|rows)=/.test(a) || a === '--no-stats');
  const figures: SizeFigure[] = [];
  for (const size of list.filter((s) => s > 0)) {
    const child = spawnSync(process.execPath, [__filename, `--sizes=0,${size}`, ...passed, '--json'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 1 << 24,
    });
    if (child.status !== 0)
      throw new Error(`bench/commits with ${size} rows of history exited with ${child.status}`);
    const lines = child.stdout.trim().split('\n');
    figures.push(JSON.parse(lines.pop()!) as SizeFigure);
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  const s = (v: number) => (v / 1000).toFixed(2);
  process.stdout.write(
    [
      `bench/commits sweep: ${rows}-row hourly commit against history size (one process per size, median of ${samples}; ms):`,
      '  history rows | commit | empty-group commit | ratio | write ratio | history write s | peak RSS writing MiB | peak RSS committing MiB',
      ...figures.map(
        (f) =>
          `  ${f.size} | ${f.commit.totalMs.toFixed(0)} | ${f.empty.totalMs.toFixed(0)} | ${ratio(f.commit.totalMs, f.empty.totalMs)} | ${ratio(f.commit.writeMs, f.empty.writeMs)} | ${s(f.historyMs)} | ${(f.historyPeakRss / 2 ** 20).toFixed(0)} | ${(f.commitPeakRss / 2 ** 20).toFixed(0)}`,
      ),
    ].join('\n') + '\n',
  );
  const points = (value: (f: SizeFigure) => number) => figures.map((f) => [f.size, value(f)] as const);
  fs.writeFileSync(
    file,
    stackSvgs([
      lineChartSvg({
        title: `commits: a ${rows}-row commit as history grows (${threads} cores)`,
        xLabel: 'rows of history in the group',
        yLabel: 'seconds',
        log: { x: true, y: true },
        series: [
          { name: 'hourly commit', points: points((f) => f.commit.totalMs / 1000) },
          { name: 'same, empty group', points: points((f) => f.empty.totalMs / 1000) },
          { name: 'history write', points: points((f) => f.historyMs / 1000) },
        ],
      }),
      lineChartSvg({
        title: 'commits: peak RSS as history grows',
        xLabel: 'rows of history in the group',
        yLabel: 'MiB',
        log: { x: true },
        series: [
          { name: 'writing the history', points: points((f) => f.historyPeakRss / 2 ** 20) },
          { name: 'hourly commits', points: points((f) => f.commitPeakRss / 2 ** 20) },
        ],
      }),
    ]),
  );
  process.stdout.write(`wrote ${file}\n`);
}

(plot ? Promise.resolve().then(() => sweep(sizes, plot)) : main()).catch((error: unknown) => {
  process.stderr.write(
    `bench/commits failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
