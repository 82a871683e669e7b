// The streaming benchmark as the publish rate grows: per rate, each side's freshness, CPU per event
// and peak memory, as a table and as an SVG chart (bench/stream.ts --sizes=… --plot=FILE.svg).
import { lineChartSvg } from './plot';
import { stackSvgs } from './plot-stack';
import type { RunFigures } from './stream-measure';

/** One publish rate of a sweep: each side's run (absent when only one side ran) and peak RSS. */
export interface SweepPoint {
  readonly rate: number;
  readonly ours?: RunFigures;
  readonly base?: RunFigures;
  /** The process's peak RSS (bytes) while each side ran at this rate (the publisher thread included). */
  readonly peakRss: { readonly ours: number; readonly base: number };
}

/**
 * Runs `fn`, sampling this process's RSS every 20 ms (and at both ends); returns its result and the
 * peak in bytes: a high-water mark, since memory freed by an earlier run may still be resident.
 */
export async function withPeakRss<T>(fn: () => Promise<T>): Promise<[T, number]> {
  let peak = 0;
  const sample = () => (peak = Math.max(peak, process.memoryUsage().rss));
  sample();
  const timer = setInterval(sample, 20);
  try {
    return [await fn(), peak];
  } finally {
    clearInterval(timer);
    sample();
  }
}

/**
 * CPU per consumed event in µs: this process without its publisher thread, plus NATS and PostgreSQL,
 * over the events consumed per second (other processes on the machine excluded). Null off Linux.
 */
export function cpuPerEventUs(f: RunFigures | undefined): number | null {
  if (!f?.cpu || f.consumedRate <= 0) return null;
  const cores = Math.max(0, f.cpu.bench - f.publisherCores) + f.cpu.nats + f.cpu.postgres;
  return (cores / f.consumedRate) * 1e6;
}

const n0 = (v: number) => Math.round(v).toLocaleString('en-US');
const num = (v: number | null | undefined, digits = 0) => (v == null ? '-' : v.toFixed(digits));
const x = (a: number | null | undefined, b: number | null | undefined) =>
  a == null || b == null || b === 0 ? '-' : `${(a / b).toFixed(2)}x`;
const mib = (bytes: number) => (bytes ? (bytes / 2 ** 20).toFixed(0) : '-');

/** The sweep's table, one line per rate (platform / floor, same run). */
export function sweepTable(points: readonly SweepPoint[]): string[] {
  return [
    'bench/stream sweep (platform | floor | ratio; freshness = event time → online, ms; CPU µs per consumed event):',
    '  rate/s | consumed/s | freshness p50 | freshness p99 | CPU µs/event | peak RSS MiB',
    ...points.map(({ rate, ours, base, peakRss }) => {
      const cpuOurs = cpuPerEventUs(ours);
      const cpuBase = cpuPerEventUs(base);
      return (
        `  ${n0(rate)} | ${ours ? n0(ours.consumedRate) : '-'} ${base ? n0(base.consumedRate) : '-'} ${x(ours?.consumedRate, base?.consumedRate)}` +
        ` | ${num(ours?.freshnessP50Ms)} ${num(base?.freshnessP50Ms)} ${x(ours?.freshnessP50Ms, base?.freshnessP50Ms)}` +
        ` | ${num(ours?.freshnessP99Ms)} ${num(base?.freshnessP99Ms)} ${x(ours?.freshnessP99Ms, base?.freshnessP99Ms)}` +
        ` | ${num(cpuOurs, 1)} ${num(cpuBase, 1)} ${x(cpuOurs, cpuBase)}` +
        ` | ${mib(peakRss.ours)} ${mib(peakRss.base)}`
      );
    }),
  ];
}

/** The sweep as one SVG: freshness, CPU per event and peak RSS against the publish rate. */
export function sweepChartSvg(points: readonly SweepPoint[], about: string): string {
  const series = (name: string, value: (p: SweepPoint) => number | null | undefined) => ({
    name,
    points: points.flatMap((p) => {
      const v = value(p);
      return v == null || v <= 0 ? [] : [[p.rate, v] as const];
    }),
  });
  return stackSvgs([
    lineChartSvg({
      title: `streaming pipeline: freshness as the rate grows (${about})`,
      xLabel: 'events published per second',
      yLabel: 'ms, event time → online',
      log: { x: true, y: true },
      series: [
        series('platform p50', (p) => p.ours?.freshnessP50Ms),
        series('platform p99', (p) => p.ours?.freshnessP99Ms),
        series('floor p50', (p) => p.base?.freshnessP50Ms),
        series('floor p99', (p) => p.base?.freshnessP99Ms),
      ],
    }),
    lineChartSvg({
      title: 'CPU per consumed event (consumer + NATS + PostgreSQL)',
      xLabel: 'events published per second',
      yLabel: 'µs of CPU per event',
      log: { x: true, y: true },
      series: [
        series('platform', (p) => cpuPerEventUs(p.ours)),
        series('floor', (p) => cpuPerEventUs(p.base)),
      ],
    }),
    lineChartSvg({
      title: 'peak RSS of the benchmark process',
      xLabel: 'events published per second',
      yLabel: 'MiB',
      log: { x: true },
      series: [
        series('platform', (p) => p.peakRss.ours / 2 ** 20),
        series('floor', (p) => p.peakRss.base / 2 ** 20),
      ],
    }),
  ]);
}
