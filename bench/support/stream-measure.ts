// Figures both sides of the streaming benchmark report the same way: the rate over the steady part
// of a run, percentiles, the stream's lag polled from the broker, and the run's summary shape.
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { CpuUse } from './stream-cpu';

/** A cumulative count observed at a time (ms since epoch). */
export interface CountSample {
  readonly at: number;
  readonly count: number;
}

/** What one run (the platform's pipeline, or the floor) achieved at one publish rate. */
export interface RunFigures {
  /** Events the stream acknowledged per second of publishing, and the publisher thread's CPU (cores). */
  readonly publishRate: number;
  readonly publisherCores: number;
  /** Events consumed (visible online) per second over the steady part of the publishing period. */
  readonly consumedRate: number;
  /** Event time → row visible online, ms. */
  readonly freshnessP50Ms: number | null;
  readonly freshnessP99Ms: number | null;
  /** Most events stored and not yet processed, polled every 250 ms; and at the end of the drain. */
  readonly maxLag: number;
  readonly lagAtEnd: number;
  /** Micro-batches processed, and the longest time between two of them while publishing. */
  readonly batches: number;
  readonly longestGapMs: number;
  readonly events: number;
  readonly cpu: CpuUse | undefined;
}

/** Events per second between `from` and `to`, from the samples nearest inside that span. */
export function rateBetween(samples: readonly CountSample[], from: number, to: number): number {
  const inside = samples.filter((s) => s.at >= from && s.at <= to);
  // Before the first sample in the span the count is the last sample's before it (or 0).
  const before = [...samples].reverse().find((s) => s.at < from);
  const first = before ?? inside[0];
  const last = inside.at(-1);
  if (!first || !last || last.at <= first.at) return 0;
  return ((last.count - first.count) * 1000) / (last.at - first.at);
}

/** The q-quantile (0–1) of ascending `sorted`; null when empty. */
export function quantile(sorted: ArrayLike<number>, q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** Longest time between consecutive samples within [from, to]. */
export function longestGap(samples: readonly CountSample[], from: number, to: number): number {
  let longest = 0;
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1]!;
    const b = samples[i]!;
    if (b.at < from || a.at > to) continue;
    longest = Math.max(longest, b.at - a.at);
  }
  return longest;
}

/**
 * Polls the stream's last sequence every 250 ms and records the largest gap to what the consumer
 * has processed (`processed()`: its highest processed sequence); `stop` returns the gap then.
 */
export function watchLag(
  nc: NatsConnection,
  stream: string,
  processed: () => number,
): { max(): number; stop(): Promise<number> } {
  let max = 0;
  let last = 0;
  let stopped = false;
  const poll = async () => {
    const jsm = await jetstreamManager(nc);
    last = Math.max(0, (await jsm.streams.info(stream)).state.last_seq - processed());
    max = Math.max(max, last);
  };
  // A failed poll ends the loop; its error surfaces from stop() rather than as an unhandled rejection.
  const loop = (async () => {
    while (!stopped) {
      await poll();
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  loop.catch(() => undefined);
  return {
    max: () => max,
    async stop() {
      if (stopped) return last;
      stopped = true;
      await loop;
      await poll();
      return last;
    },
  };
}
