// bench/stream: a streaming feature pipeline at fixed publish rates. Events {key, event_time = now,
// amount} over 100k keys are published at each rate (a worker thread) while runStreamPartition
// consumes in this process: 4 sliding windows per key (count 1m, max 1m, sum 5m, mean 5m), rows
// upserted online per micro-batch and committed offline every 10 s. Per rate: achieved publish rate,
// sustained consumed throughput, freshness p50/p99 (event time → online visible), max lag and offline
// commits — each against the floor measured in the same run on the same machine: the same events
// through a plain JetStream consumer acking each micro-batch and a raw `pg` upsert of the micro-batch
// (same row shape, INSERT … ON CONFLICT DO UPDATE over unnest), no platform code. Then each side's
// capacity on a backlog (no publisher competing for the cores), and the platform producer's own cost.
// Usage: npm run bench:stream [--full]   or   node dist/bench/stream.js [--full] [--rates=5000,20000]
//          [--seconds=15] [--keys=100000] [--backlog=100000] [--partitions=1] [--commit-interval=10]
//          [--max-batch=2000] [--only=platform|floor]
//        node dist/bench/stream.js --sizes=500,5000,50000 --seconds=5 --backlog=0 [--plot=FILE.svg]
//   sweeps the publish rate (--sizes is --rates): per rate, each side's freshness, CPU per consumed
//   event and the process's peak RSS (sampled every 20 ms while that side ran), as a table and SVG.
// (needs the stack up; runs from dist/: the publisher thread is a compiled file). Default (about 2
// minutes): 5k and 20k events/s for 15 s each and a 100k backlog; --full: 5k, 20k, 50k for 30 s each
// and a 300k backlog. Each option may also be given as an environment variable: BENCH_STREAM_RATES,
// BENCH_STREAM_SECONDS, … (BENCH_STREAM_COMMIT_INTERVAL for --commit-interval).
import fs from 'node:fs';
import os from 'node:os';
import { parseStreamPipelineSpec } from '../core/streaming';
import { formatCpu } from './support/stream-cpu';
import { driveBacklog, driveLive, type StartConsumer } from './support/stream-drive';
import { startFloorConsumer, type FloorFigures } from './support/stream-floor';
import type { RunFigures } from './support/stream-measure';
import { forgetPipeline, startPipeline, type PlatformFigures } from './support/stream-platform';
import { runPublisher } from './support/stream-publisher';
import { setUpStreamBench, WINDOWS, type StreamBench } from './support/stream-setup';
import { sweepChartSvg, sweepTable, withPeakRss, type SweepPoint } from './support/stream-sweep';

const args = process.argv.slice(2);
// `npm run bench:stream --full` hands the flag to npm, which passes it on as npm_config_full.
const full = args.includes('--full') || process.env.npm_config_full === 'true';
const option = (name: string, fallback: string) =>
  args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ??
  process.env[`BENCH_STREAM_${name.toUpperCase().replace(/-/g, '_')}`] ??
  fallback;
// --sizes=… is the same as --rates=… (the size a user scales is the traffic).
const rates = option('sizes', option('rates', full ? '5000,20000,50000' : '5000,20000'))
  .split(',')
  .map(Number);
const plot = option('plot', '');
const seconds = Number(option('seconds', full ? '30' : '15'));
const keys = Number(option('keys', '100000'));
const backlog = Number(option('backlog', full ? '300000' : '100000'));
const partitions = Number(option('partitions', '1'));
const commitInterval = Number(option('commit-interval', '10'));
const maxBatch = Number(option('max-batch', '2000'));
/** `platform` or `floor`: run one side only (to profile it); the ratios need both. */
const only = option('only', '');
/** The issue's targets. */
const TARGET_RATE = 20_000;
const TARGET_P99_MS = 250;
const TARGET_P99_RATE = 5_000;

const out = (text: string) => process.stdout.write(`${text}\n`);
const n0 = (v: number) => Math.round(v).toLocaleString('en-US');
const ms = (v: number | null) => (v === null ? 'n/a' : `${v.toFixed(0)} ms`);
const ratio = (a: number | null, b: number | null) =>
  a === null || b === null || b === 0 ? 'n/a' : `${(a / b).toFixed(2)}x`;
const loadAverage = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ');
/** Kept up: consumed ≥ 95 % of what was published over the steady part, and the lag drained. */
const sustained = (f: RunFigures) => f.consumedRate >= 0.95 * f.publishRate && f.lagAtEnd === 0;

function describe(f: RunFigures): string {
  return (
    `published ${n0(f.publishRate)}/s, consumed ${n0(f.consumedRate)}/s${sustained(f) ? '' : ' (NOT keeping up)'}, ` +
    `freshness p50 ${ms(f.freshnessP50Ms)} p99 ${ms(f.freshnessP99Ms)}, max lag ${n0(f.maxLag)}` +
    `${f.lagAtEnd ? ` (${n0(f.lagAtEnd)} left after the drain)` : ''}, ${n0(f.batches)} micro-batches ` +
    `(${n0(f.events / Math.max(1, f.batches))} events each, longest gap ${ms(f.longestGapMs)})`
  );
}

async function main(): Promise<void> {
  const numbers = { seconds, keys, partitions, commitInterval, maxBatch };
  for (const [name, value] of Object.entries(numbers))
    if (!(value > 0) || !Number.isFinite(value))
      throw new Error(`--${name} must be a positive number, got ${value}`);
  if (rates.some((r) => !Number.isInteger(r) || r <= 0))
    throw new Error(`--rates must be positive integers (events/s), got ${rates.join(',')}`);
  if (!Number.isInteger(backlog) || backlog < 0)
    throw new Error(`--backlog must be a whole number of events (0: skip), got ${backlog}`);
  if (only !== '' && only !== 'platform' && only !== 'floor')
    throw new Error(`--only must be platform or floor, got ${only}`);
  const loadBefore = loadAverage();
  const bench = await setUpStreamBench(keys);
  try {
    await run(bench, loadBefore);
  } finally {
    await bench.close();
  }
}

async function run(bench: StreamBench, loadBefore: string): Promise<void> {
  const { deps, nc, source, target, events, floor, suffix } = bench;
  const durationMs = seconds * 1000;
  const warmMs = Math.min(3000, durationMs * 0.2);
  const drainMs = 5000;
  let runs = 0;
  /** Runs a fresh pipeline (its own checkpoints and consumers, forgotten afterwards). */
  const platform = async <T>(drive: (start: StartConsumer<PlatformFigures>) => Promise<T>): Promise<T> => {
    const spec = parseStreamPipelineSpec({
      name: `bench_stream_${suffix}_${runs++}`,
      source: { name: source.spec.name, version: source.spec.version },
      featureGroup: { name: target.spec.name, version: target.spec.version },
      transformation: 'bench_windows',
      partitions,
      commitIntervalSeconds: commitInterval,
      maxBatchEvents: maxBatch,
    });
    try {
      return await drive((startAfter) => startPipeline(deps, spec, startAfter));
    } finally {
      await forgetPipeline(deps, nc, spec, source.spec);
    }
  };
  const floorSide: StartConsumer<FloorFigures> = (startAfter) =>
    startFloorConsumer(
      { nc, pool: bench.database.pool, floor, maxBatchEvents: maxBatch, consumer: `floor_${runs++}` },
      startAfter,
    );
  const platformTarget = { nc, natsUrl: deps.natsUrl, stream: events.stream, subject: events.subject, keys };
  const floorTarget = { nc, natsUrl: deps.natsUrl, stream: floor.stream, subject: floor.subject, keys };
  const live = (rate: number, duration: number) => ({
    rate,
    durationMs: duration,
    warmMs: Math.min(warmMs, duration * 0.2),
    drainMs,
  });

  out(
    `bench/stream: ${WINDOWS.features.length} sliding windows (count 1m, max 1m, sum 5m, mean 5m) over ${n0(keys)} keys; ` +
      `runStreamPartition in this process (${partitions} partition${partitions > 1 ? 's' : ''}, micro-batches <= ${maxBatch} events, ` +
      `offline commit every ${commitInterval} s); ${seconds} s per rate, throughput over the steady part (from ${warmMs / 1000} s)`,
  );
  out(
    `floor: the same events through a plain JetStream consumer (ack per micro-batch) and a raw pg upsert of each micro-batch, no platform code. ` +
      `Both sides are fed by the same raw publisher (a worker thread of this process); the platform's producer is measured on its own`,
  );
  out(`machine: ${os.cpus().length} cores, load average ${loadBefore} (1/5/15 min) before the run`);
  out(
    `targets: >= ${n0(TARGET_RATE)} events/s sustained; p99 freshness <= ${TARGET_P99_MS} ms at ${n0(TARGET_P99_RATE)} events/s`,
  );
  // Warm-up (JIT, connections, DuckDB) of both sides at the first rate; not reported.
  const warmup = Math.min(2000, durationMs);
  if (only !== 'platform') await driveLive(floorTarget, live(rates[0]!, warmup), floorSide);
  if (only !== 'floor') await platform((start) => driveLive(platformTarget, live(rates[0]!, warmup), start));

  const results: { rate: number; ours?: RunFigures & { side: PlatformFigures }; base?: RunFigures }[] = [];
  const points: SweepPoint[] = [];
  for (const rate of rates) {
    // The floor first, then the platform: both see the same machine within a minute.
    const [base, baseRss] = await withPeakRss(async () =>
      only === 'platform' ? undefined : await driveLive(floorTarget, live(rate, durationMs), floorSide),
    );
    const [ours, oursRss] = await withPeakRss(async () =>
      only === 'floor'
        ? undefined
        : await platform((start) => driveLive(platformTarget, live(rate, durationMs), start)),
    );
    results.push({ rate, ours, base });
    points.push({
      rate,
      ours,
      base,
      peakRss: { ours: ours ? oursRss : 0, base: base ? baseRss : 0 },
    });
    out(`  ${n0(rate)} events/s:`);
    out(
      `    peak RSS of this process (publisher thread included): ${ours ? `platform ${(oursRss / 2 ** 20).toFixed(0)} MiB` : ''}` +
        `${ours && base ? ', ' : ''}${base ? `floor ${(baseRss / 2 ** 20).toFixed(0)} MiB` : ''}`,
    );
    if (ours) {
      const s = ours.side;
      out(
        `    platform ${describe(ours)}; ${s.commits} offline commit(s) (the final one took ${ms(s.finalCommitMs)})${s.deadLetters ? `, ${s.deadLetters} dead letters` : ''}`,
      );
      out(`             ${formatCpu(ours.cpu, ours.publisherCores)}`);
    }
    if (base) {
      out(
        `    floor    ${describe(base)}; received p50 ${ms(base.side.receivedP50Ms)} p99 ${ms(base.side.receivedP99Ms)} before the upsert`,
      );
      out(`             ${formatCpu(base.cpu, base.publisherCores)}`);
    }
    if (ours && base) {
      out(
        `    ratio    consumed ${ratio(ours.consumedRate, base.consumedRate)}, freshness p50 ${ratio(ours.freshnessP50Ms, base.freshnessP50Ms)} ` +
          `p99 ${ratio(ours.freshnessP99Ms, base.freshnessP99Ms)}, max lag ${ratio(ours.maxLag, Math.max(1, base.maxLag))}  (platform / floor, same run)`,
      );
      // The platform's producer alone (nothing consuming), against the raw publisher's CPU per event.
      const producerMs = Math.min(3000, durationMs);
      const producer = await runPublisher({
        mode: 'platform',
        natsUrl: deps.natsUrl,
        spec: source.spec,
        subject: events.subject,
        rate,
        durationMs: producerMs,
        keys,
      });
      const achieved = producer.acked / producer.publishSeconds;
      const perEvent = (producer.threadCores * 1e6) / achieved;
      const rawPerEvent = (base.publisherCores * 1e6) / base.publishRate;
      out(
        `    producer FeatureEventProducer.send alone (${producerMs / 1000} s): ${n0(achieved)}/s, ${perEvent.toFixed(1)} µs CPU/event ` +
          `| raw publish ${rawPerEvent.toFixed(1)} µs/event | ratio ${ratio(perEvent, rawPerEvent)}`,
      );
    }
  }

  if (rates.length > 1 || plot) for (const l of sweepTable(points)) out(l);
  if (plot) {
    fs.writeFileSync(
      plot,
      sweepChartSvg(points, `${n0(keys)} keys, ${seconds} s per rate, ${os.cpus().length} cores`),
    );
    out(`wrote ${plot}`);
  }

  let capacity: number | undefined;
  if (backlog > 0) {
    out(
      `capacity: a backlog of ${n0(backlog)} events published first, then consumed as fast as each side can:`,
    );
    const timeoutMs = 60_000;
    const base =
      only === 'platform'
        ? undefined
        : await driveBacklog(floorTarget, { events: backlog, timeoutMs }, floorSide);
    const ours =
      only === 'floor'
        ? undefined
        : await platform((start) => driveBacklog(platformTarget, { events: backlog, timeoutMs }, start));
    const line = (f: { eventsPerSecond: number; drained: boolean; events: number }) =>
      `${n0(f.eventsPerSecond)} events/s${f.drained ? '' : ` (only ${n0(f.events)} read in ${timeoutMs / 1000} s)`}`;
    if (ours) out(`    platform ${line(ours)}; ${formatCpu(ours.cpu, 0)}`);
    if (base) out(`    floor    ${line(base)}; ${formatCpu(base.cpu, 0)}`);
    if (ours && base)
      out(`    ratio    ${ratio(ours.eventsPerSecond, base.eventsPerSecond)}  (platform / floor, same run)`);
    capacity = ours?.eventsPerSecond;
  }
  if (only === 'floor') return;

  const measured = results.map((r) => ({ rate: r.rate, ours: r.ours!, base: r.base }));
  const atRate = measured.filter((r) => r.rate >= TARGET_RATE);
  const rateMet = atRate.some((r) => sustained(r.ours) && r.ours.publishRate >= 0.95 * TARGET_RATE);
  const best = measured
    .filter((r) => sustained(r.ours))
    .reduce<number | null>((m, r) => Math.max(m ?? 0, r.ours.consumedRate), null);
  out(
    `target >= ${n0(TARGET_RATE)} events/s sustained: ${
      atRate.length === 0
        ? `not measured (no rate >= ${n0(TARGET_RATE)})`
        : `${rateMet ? 'MET' : 'NOT MET'} (${atRate
            .map(
              (r) =>
                `at ${n0(r.rate)}/s: ${n0(r.ours.consumedRate)}/s consumed of ${n0(r.ours.publishRate)}/s published`,
            )
            .join('; ')}; best rate kept up with: ${best === null ? 'none' : `${n0(best)}/s`}` +
          `${capacity === undefined ? '' : `; capacity on a backlog ${n0(capacity)}/s`})`
    }`,
  );
  const low = measured.find((r) => r.rate === TARGET_P99_RATE);
  out(
    `target p99 freshness <= ${TARGET_P99_MS} ms at ${n0(TARGET_P99_RATE)} events/s: ${
      low
        ? `${low.ours.freshnessP99Ms !== null && low.ours.freshnessP99Ms <= TARGET_P99_MS ? 'MET' : 'NOT MET'} (${ms(low.ours.freshnessP99Ms)}` +
          `${low.base ? `; floor ${ms(low.base.freshnessP99Ms)}` : ''})`
        : `not measured (no run at ${n0(TARGET_P99_RATE)}/s)`
    }`,
  );
  out(
    `load average after: ${loadAverage()} (this machine is shared: "other processes" in the cpu lines is what else ran)`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench/stream failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
