/**
 * Rolling figures over the last `windowMs`: an event rate and latency percentiles, cheap enough to
 * update per event and read per heartbeat. Samples are kept per second; a second keeps at most
 * `maxSamplesPerSecond` (evenly thinned), so memory stays bounded at any rate.
 */
export class RollingStats {
  private readonly seconds = new Map<number, { count: number; samples: number[]; seen: number }>();

  constructor(
    private readonly windowMs = 60_000,
    private readonly maxSamplesPerSecond = 2000,
  ) {}

  /** Counts `events` at `nowMs`, with optional latency samples (ms). */
  record(nowMs: number, events: number, latencies: readonly number[] = []): void {
    const second = Math.floor(nowMs / 1000);
    let bucket = this.seconds.get(second);
    if (!bucket) {
      bucket = { count: 0, samples: [], seen: 0 };
      this.seconds.set(second, bucket);
      this.evict(nowMs);
    }
    bucket.count += events;
    for (const value of latencies) {
      bucket.seen += 1;
      if (bucket.samples.length < this.maxSamplesPerSecond) bucket.samples.push(value);
      else {
        // Reservoir sampling: every sample of the second has the same chance to be kept.
        const slot = Math.floor(Math.random() * bucket.seen);
        if (slot < this.maxSamplesPerSecond) bucket.samples[slot] = value;
      }
    }
  }

  private evict(nowMs: number): void {
    const oldest = Math.floor((nowMs - this.windowMs) / 1000);
    for (const second of this.seconds.keys()) if (second < oldest) this.seconds.delete(second);
  }

  /** Events per second over the window (over the time since the first event, if shorter). */
  rate(nowMs: number): number {
    this.evict(nowMs);
    let total = 0;
    let first = Infinity;
    for (const [second, bucket] of this.seconds) {
      total += bucket.count;
      first = Math.min(first, second);
    }
    if (total === 0) return 0;
    const spanSeconds = Math.max(1, Math.min(this.windowMs / 1000, nowMs / 1000 - first));
    return total / spanSeconds;
  }

  /** The p-th percentiles (0–100) of the latency samples in the window; null when there are none. */
  percentiles(nowMs: number, ps: readonly number[]): (number | null)[] {
    this.evict(nowMs);
    const all: number[] = [];
    for (const bucket of this.seconds.values()) all.push(...bucket.samples);
    if (all.length === 0) return ps.map(() => null);
    all.sort((a, b) => a - b);
    return ps.map((p) => all[Math.min(all.length - 1, Math.max(0, Math.ceil((p / 100) * all.length) - 1))]!);
  }
}
