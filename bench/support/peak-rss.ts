// Peak memory of a benchmark's measured phase, for the size sweeps' peak-RSS columns and charts.

/**
 * Samples this process's resident set size every `intervalMs` until the returned function is
 * called; that call stops sampling and returns the peak seen, in bytes (at least the RSS at start
 * and at stop).
 */
export function rssSampler(intervalMs = 20): () => number {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), intervalMs);
  return () => {
    clearInterval(timer);
    return Math.max(peak, process.memoryUsage().rss);
  };
}
