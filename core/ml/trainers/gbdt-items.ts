// Work items of the parallel GBDT operations: every thread claims the next item from a shared
// counter until none are left, and node jobs are cut into items that group a node's row blocks.
import { CTRL, JOB_INTS, type GbdtState } from './gbdt-state';

/** The next unclaimed work item of the current operation (≥ the item count once all are taken). */
export function claim(s: GbdtState): number {
  return Atomics.add(s.ctrl, CTRL.next, 1);
}

/** The range of `n` items part `t` of `T` owns. */
export function share(n: number, t: number, T: number): [number, number] {
  return [Math.floor((n * t) / T), Math.floor((n * (t + 1)) / T)];
}

/**
 * Work items of the node jobs in `jobs` (`jobs[j * JOB_INTS + 5]` items each, grouping the node's
 * blocks): `starts[j]` is job j's first item, `starts[n]` the total.
 */
export function itemStarts(s: GbdtState): Int32Array {
  const n = s.ctrl[CTRL.jobs]!;
  const starts = new Int32Array(n + 1);
  for (let j = 0; j < n; j++) starts[j + 1] = starts[j]! + s.jobs[j * JOB_INTS + 5]!;
  return starts;
}

/** The job of item `w` (`starts` from itemStarts). */
export function jobOf(starts: Int32Array, w: number): number {
  let lo = 0;
  let hi = starts.length - 2;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= w) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
