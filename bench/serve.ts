// bench/serve: sustained load on /v1/deployments/<name>/predict (1 key; 2 feature groups, 20
// features; a 100-tree GBDT) from a separate load-generator process on loopback at several fixed
// rates: p50/p99/p99.9 and errors, against the floor measured in the same run — a raw `pg` lookup of
// the same rows plus a raw onnxruntime `session.run` on the same vector, driven open-loop at the same
// rate and for as long as the platform run (requests do not wait for one another, as the load
// generator's do not).
// Usage: node dist/bench/serve.js [entities=100000] [seconds=10] [rates=100,300,600,1000]   (needs infra/stack.sh up)
//        node dist/bench/serve.js [entities] [seconds] --sizes=100,1000,3000 [--plot=FILE.svg]
//   --sizes: request rates (req/s); --plot draws p50/p99 against rate into FILE.svg and the server's
//   peak RSS into FILE-rss.svg; --cpu-prof=FILE.cpuprofile profiles the server process (this one)
//   during the run at the highest rate only (not the scenario build).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { Session } from 'node:inspector/promises';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as ort from 'onnxruntime-node';
import { loadSession } from '../core/ml';
import { getModelVersion } from '../core/registry';
import { createApiKey, createInferenceServer, getDeployment } from '../core/serving';
import { PostgresOnlineStore } from '../core/featurestore';
import { lineChartSvg } from './support/plot';
import { measureCpu, type CpuUse } from './support/stream-cpu';
import { buildScenario } from './support/scenario';
import { rssSampler } from './support/peak-rss';

const flag = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const entities = Number(positional[0] ?? 100_000);
const seconds = Number(positional[1] ?? 10);
const rates = (flag('sizes') ?? positional[2] ?? '100,300,600,1000').split(',').map(Number);
const plot = flag('plot');
const cpuProf = flag('cpu-prof');
const run = promisify(execFile);
/** Sampling interval of the server's event-loop delay (a finer one wakes the server more often). */
const LOOP_RESOLUTION_MS = 10;

const pct = (sorted: readonly number[], q: number) =>
  Math.round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? 0);

/** What the load generator prints. */
interface LoadResult {
  readonly sent: number;
  readonly ok: number;
  readonly errors: number;
  readonly achieved: number;
  readonly p50: number;
  readonly p99: number;
  readonly p999: number;
  /** The generator's own CPU per request, µs. */
  readonly cpuPerRequest: number;
}

/** One rate's figures. */
interface RateFigure {
  readonly rate: number;
  readonly load: LoadResult;
  readonly floor: { readonly p50: number; readonly p99: number; readonly p999: number };
  /** Server CPU (user + system) per request, µs. */
  readonly cpuPerRequest: number;
  readonly peakRss: number;
  /** Where the machine's CPU went during the platform run (undefined off Linux). */
  readonly cpu: CpuUse | undefined;
  /** The server's event-loop delay during the platform run: p99 and max, µs. */
  readonly loopDelay: { readonly p99: number; readonly max: number };
  /** The floor's CPU per request (this process), µs. */
  readonly floorCpuPerRequest: number;
}

/**
 * Calls `fn(i)` open-loop at `rate` per second for `ms` (a call starts when due, whether or not
 * the previous one ended); returns the sorted latencies in µs.
 */
async function openLoop(rate: number, ms: number, fn: (i: number) => Promise<void>): Promise<number[]> {
  const latencies: number[] = [];
  const pending: Promise<void>[] = [];
  const interval = 1000 / rate;
  const start = performance.now();
  for (let i = 0; performance.now() - start < ms; i++) {
    const wait = start + i * interval - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const t = performance.now();
    pending.push(fn(i).then(() => void latencies.push((performance.now() - t) * 1000)));
  }
  await Promise.all(pending);
  return latencies.sort((a, b) => a - b);
}

/**
 * Where the cores went during a platform run: the server's main thread (and how long it waited for
 * a core), PostgreSQL, the load generator, and everything else on the machine (other sessions).
 */
function cpuLine(f: RateFigure): string {
  const use = f.cpu;
  if (!use) return 'cpu: not measured (needs Linux /proc)';
  const loadGen = (f.load.cpuPerRequest * f.load.sent) / 1e6 / use.seconds;
  const c = (v: number) => v.toFixed(2);
  return (
    `cpu ${c(use.machine)}/${use.cores} cores: server ${c(use.bench)} (main thread waited for a core ${(use.mainThreadWaiting * 100).toFixed(0)}% of the run), ` +
    `postgres ${c(use.postgres)}, load generator ${c(loadGen)}, other processes ${c(Math.max(0, use.other - loadGen))}; ` +
    `server event-loop delay p99 ${f.loopDelay.p99.toFixed(0)} µs, max ${f.loopDelay.max.toFixed(0)} µs`
  );
}

async function main(): Promise<void> {
  const scenario = await buildScenario(entities, Math.min(entities, 50_000));
  const server = await createInferenceServer({ ...scenario.deps, pool: scenario.database.pool, threads: 1 });
  const url = await server.app.listen({ port: 0, host: '127.0.0.1' });
  const { key } = await createApiKey(scenario.database.db, 'bench');

  // Floor: the same rows by one raw pg statement + session.run on the same 20-feature vector.
  const deployment = await getDeployment(scenario.database.db, scenario.deployment);
  const model = await getModelVersion(
    scenario.database.db,
    deployment.current.bindings[0]!.model.name,
    deployment.current.bindings[0]!.model.version,
  );
  const session = await loadSession(new Uint8Array(await scenario.store.get(model.artifactKey)), {
    threads: 1,
  });
  const [t1, t2] = scenario.groups.map((g) => `fti_online."${PostgresOnlineStore.tableName(g.spec)}"`);
  const floor = async (i: number) => {
    const id = (i * 7919) % entities;
    const { rows } = await scenario.database.pool.query(
      `SELECT a.*, b.* FROM ${t1} a JOIN ${t2} b ON b.entity_id = a.entity_id WHERE a.entity_id = $1`,
      [id],
    );
    const row = rows[0] as Record<string, number>;
    const x = Float32Array.from([
      ...Array.from({ length: 10 }, (_, j) => row[`a${j}`]!),
      ...Array.from({ length: 10 }, (_, j) => row[`b${j}`]!),
    ]);
    const out = await session.run({ features: new ort.Tensor('float32', x, [1, 20]) });
    for (const t of Object.values(out)) t.dispose();
  };
  const load = async (rate: number, secs: number): Promise<LoadResult> => {
    const { stdout } = await run(process.execPath, [
      path.join(__dirname, 'load-generator.js'),
      url,
      scenario.deployment,
      String(rate),
      String(secs),
      String(entities),
      key,
    ]);
    return JSON.parse(stdout) as LoadResult;
  };
  process.stdout.write(
    `bench/serve: /predict, 1 key, 2 feature groups × 10 features, GBDT 100 trees depth 6, ${entities} entities, ${seconds} s per rate, separate load-generator process; ${os.cpus().length} cores shared by the server, the load generator and PostgreSQL\n`,
  );
  for (let i = 0; i < 300; i++) await floor(i);
  // Warm the server (JIT, sessions, pools) with a discarded run.
  await load(rates[0]!, 3);
  const figures: RateFigure[] = [];
  const profiled = Math.max(...rates);
  for (const rate of rates) {
    const floorCpu = process.cpuUsage();
    const floorLatencies = await openLoop(rate, seconds * 1000, floor);
    const floorUsed = process.cpuUsage(floorCpu);
    const stopSampling = rssSampler();
    const profiler = cpuProf && rate === profiled ? new Session() : undefined;
    if (profiler) {
      profiler.connect();
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.start');
    }
    const cpu = process.cpuUsage();
    const machine = measureCpu();
    const delay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
    delay.enable();
    const r = await load(rate, seconds);
    delay.disable();
    const used = process.cpuUsage(cpu);
    const cpuUse = machine();
    const peakRss = stopSampling();
    if (profiler) {
      const { profile } = await profiler.post('Profiler.stop');
      fs.writeFileSync(cpuProf!, JSON.stringify(profile));
      profiler.disconnect();
    }
    const figure: RateFigure = {
      rate,
      load: r,
      floor: {
        p50: pct(floorLatencies, 0.5),
        p99: pct(floorLatencies, 0.99),
        p999: pct(floorLatencies, 0.999),
      },
      cpuPerRequest: (used.user + used.system) / Math.max(1, r.sent),
      peakRss,
      cpu: cpuUse,
      // The histogram holds whole timer intervals (resolution + lateness): keep the lateness.
      loopDelay: {
        p99: Math.max(0, delay.percentile(99) / 1000 - LOOP_RESOLUTION_MS * 1000),
        max: Math.max(0, delay.max / 1000 - LOOP_RESOLUTION_MS * 1000),
      },
      floorCpuPerRequest: (floorUsed.user + floorUsed.system) / Math.max(1, floorLatencies.length),
    };
    figures.push(figure);
    const f = figure.floor;
    process.stdout.write(
      `  ${String(rate).padStart(4)} req/s (achieved ${r.achieved.toFixed(0)}): p50 ${r.p50} µs, p99 ${r.p99} µs, p99.9 ${r.p999} µs, errors ${r.errors}/${r.sent} | floor p50 ${f.p50} µs, p99 ${f.p99} µs | ratio p50 ${(r.p50 / f.p50).toFixed(2)}x, p99 ${(r.p99 / f.p99).toFixed(2)}x | server CPU ${figure.cpuPerRequest.toFixed(0)} µs/req (floor ${figure.floorCpuPerRequest.toFixed(0)}), peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB\n`,
    );
    process.stdout.write(`        ${cpuLine(figure)}\n`);
  }
  if (cpuProf) process.stdout.write(`wrote ${cpuProf} (server process at ${profiled} req/s)\n`);
  if (plot) {
    const ms = (us: number) => us / 1000;
    fs.writeFileSync(
      plot,
      lineChartSvg({
        title: `/predict latency as the request rate grows (${os.cpus().length} cores)`,
        xLabel: 'requests per second',
        yLabel: 'milliseconds',
        log: { x: true, y: true },
        series: [
          { name: 'platform p50', points: figures.map((f) => [f.rate, ms(f.load.p50)]) },
          { name: 'platform p99', points: figures.map((f) => [f.rate, ms(f.load.p99)]) },
          { name: 'floor p50', points: figures.map((f) => [f.rate, ms(f.floor.p50)]) },
          { name: 'floor p99', points: figures.map((f) => [f.rate, ms(f.floor.p99)]) },
        ],
      }),
    );
    const rssPlot = plot.replace(/\.svg$/, '') + '-rss.svg';
    fs.writeFileSync(
      rssPlot,
      lineChartSvg({
        title: `inference server peak RSS as the request rate grows`,
        xLabel: 'requests per second',
        yLabel: 'MiB',
        log: { x: true },
        series: [{ name: 'server peak RSS', points: figures.map((f) => [f.rate, f.peakRss / 2 ** 20]) }],
      }),
    );
    process.stdout.write(`wrote ${plot} and ${rssPlot}\n`);
  }
  await session.release();
  await server.close();
  await scenario.close();
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench/serve failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
