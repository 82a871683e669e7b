// Where the machine's CPU went during a benchmark run: this process (and its consumer thread), the
// NATS server, PostgreSQL, and everything else (other sessions on a shared machine), read from
// /proc. Linux only; elsewhere the figures are absent and the benchmark says so.
import fs from 'node:fs';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';

/** Clock ticks per second of /proc's utime/stime (USER_HZ, 100 on every Linux we run on). */
const TICKS_PER_SECOND = 100;

type Group = 'bench' | 'nats' | 'postgres' | 'other';

/** CPU used over a span, in cores (1.0 = one core busy the whole span). */
export interface CpuUse {
  readonly seconds: number;
  readonly bench: number;
  /** Of which this process's main thread (where the consumer runs; the publisher has its own). */
  readonly mainThread: number;
  readonly nats: number;
  readonly postgres: number;
  readonly other: number;
  /** The whole machine (all processes, from /proc/stat), and how many cores it has. */
  readonly machine: number;
  readonly cores: number;
  /**
   * Share of the span the main thread's event loop was running code (0–1), waiting for a core
   * included: near 1, the consumer could not take more.
   */
  readonly mainThreadBusy: number;
  /** Share of the span the main thread was ready to run but waited for a core (CPU contention). */
  readonly mainThreadWaiting: number;
}

interface Sample {
  readonly at: number;
  /** CPU ticks so far of every process, by pid, with its group. */
  readonly processes: ReadonlyMap<number, { readonly group: Group; readonly ticks: number }>;
  /** Ticks of this process's main thread (the consumer's event loop). */
  readonly mainThread: number;
  /** Nanoseconds the main thread spent runnable but waiting for a core (/proc schedstat). */
  readonly mainThreadWaitNs: number;
  readonly machineTicks: number;
  readonly cores: number;
  readonly elu: EventLoopUtilization;
}

function groupOf(pid: number, comm: string): Group {
  if (pid === process.pid) return 'bench';
  if (comm === 'nats-server') return 'nats';
  if (comm === 'postgres' || comm === 'postmaster') return 'postgres';
  return 'other';
}

/** Command name and CPU ticks (user + system) of a /proc/…/stat file; undefined once it is gone. */
function readStat(file: string): { comm: string; ticks: number } | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined; // exited meanwhile
  }
  // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split at the last ')'.
  const close = stat.lastIndexOf(')');
  const fields = stat.slice(close + 2).split(' ');
  // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after "state".
  return { comm: stat.slice(stat.indexOf('(') + 1, close), ticks: Number(fields[11]) + Number(fields[12]) };
}

/** CPU ticks of the calling thread so far (0 off Linux). */
function threadTicks(): number {
  return readStat('/proc/thread-self/stat')?.ticks ?? 0;
}

/** Starts measuring the calling thread's CPU; the returned function gives cores used since. */
export function measureThreadCpu(): () => number {
  const ticks = threadTicks();
  const at = performance.now();
  return () => (threadTicks() - ticks) / TICKS_PER_SECOND / ((performance.now() - at) / 1000);
}

function sample(): Sample | undefined {
  if (process.platform !== 'linux') return undefined;
  const processes = new Map<number, { group: Group; ticks: number }>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(`/proc/${entry}/stat`);
    if (stat) processes.set(Number(entry), { group: groupOf(Number(entry), stat.comm), ticks: stat.ticks });
  }
  const mainThread = threadTicks();
  let mainThreadWaitNs = 0;
  try {
    mainThreadWaitNs = Number(fs.readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[1]);
  } catch {
    // schedstat is optional (kernel config)
  }
  const cpuLines = fs.readFileSync('/proc/stat', 'utf8').split('\n');
  const total = cpuLines[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: busy = all but idle and iowait.
  const busy = total.slice(0, 8).reduce((a, b) => a + b, 0) - total[3]! - total[4]!;
  const cores = cpuLines.filter((l) => /^cpu\d+ /.test(l)).length;
  return {
    at: performance.now(),
    processes,
    mainThread,
    mainThreadWaitNs,
    machineTicks: busy,
    cores,
    elu: performance.eventLoopUtilization(),
  };
}

/** Starts measuring; the returned function gives the CPU used since (undefined off Linux). */
export function measureCpu(): () => CpuUse | undefined {
  const start = sample();
  return () => {
    const end = sample();
    if (!start || !end) return undefined;
    const seconds = (end.at - start.at) / 1000;
    const cores = (ticks: number) => ticks / TICKS_PER_SECOND / seconds;
    // Per process, so one that exits during the span (a PostgreSQL backend) does not count negative;
    // what exited processes used is lost.
    const groups: Record<Group, number> = { bench: 0, nats: 0, postgres: 0, other: 0 };
    for (const [pid, { group, ticks }] of end.processes)
      groups[group] += ticks - (start.processes.get(pid)?.ticks ?? 0);
    return {
      seconds,
      bench: cores(groups.bench),
      mainThread: cores(end.mainThread - start.mainThread),
      nats: cores(groups.nats),
      postgres: cores(groups.postgres),
      other: cores(groups.other),
      machine: cores(end.machineTicks - start.machineTicks),
      cores: end.cores,
      mainThreadBusy: performance.eventLoopUtilization(end.elu, start.elu).utilization,
      mainThreadWaiting: (end.mainThreadWaitNs - start.mainThreadWaitNs) / 1e9 / seconds,
    };
  };
}

/**
 * One line: `cpu 1.62/2 cores: consumer (main thread) 0.71 (its event loop 78% busy), publisher
 * thread 0.30, other threads 0.10, nats-server 0.31, postgres 0.15, other processes 0.05`.
 */
export function formatCpu(use: CpuUse | undefined, publisherCores: number): string {
  if (!use) return 'cpu: not measured (needs Linux /proc)';
  const c = (v: number) => v.toFixed(2);
  return (
    `cpu ${c(use.machine)}/${use.cores} cores: consumer (main thread) ${c(use.mainThread)} (its event loop ${(use.mainThreadBusy * 100).toFixed(0)}% busy, ${(use.mainThreadWaiting * 100).toFixed(0)}% waiting for a core), ` +
    `publisher thread ${c(publisherCores)}, other threads ${c(Math.max(0, use.bench - use.mainThread - publisherCores))}, ` +
    `nats-server ${c(use.nats)}, postgres ${c(use.postgres)}, other processes ${c(use.other)}`
  );
}
