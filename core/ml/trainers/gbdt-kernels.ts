// The parallel operations of GBDT training. An operation is a list of work items; every thread
// claims the next item from a shared counter until none are left, so a thread slowed down (by a
// skewed split, or by another process on its core) does less and nobody waits for it. An item only
// writes memory that item owns (a block's region of the index, a chunk's loss, a thread's partial
// histogram), and histograms sum gradients quantized to integers (exact in a float64 below 2^53):
// whichever thread takes which item, the sums are bit-identical, so a seed gives the same model for
// every thread count and every timing.
import { edgesOp, binOp } from './gbdt-bins';
import { histogram, split } from './gbdt-hist';
import { claim, itemStarts, jobOf, share } from './gbdt-items';
import { CTRL, JOB_INTS, LOSS_CHUNK, OP, ROW_CHUNK, type GbdtState } from './gbdt-state';

/** Runs thread `t`'s part of the operation in `s.ctrl[CTRL.op]`: items claimed until none are left. */
export function runOp(s: GbdtState, t: number): void {
  switch (s.ctrl[CTRL.op]) {
    case OP.gradients:
      return gradients(s, t);
    case OP.partition:
      return partition(s);
    case OP.histogram:
      return histogram(s, t);
    case OP.split:
      return split(s);
    case OP.apply:
      return apply(s);
    case OP.edges:
      return edgesOp(s);
    case OP.bin:
      return binOp(s);
    default:
      throw new Error(`unknown gbdt operation ${s.ctrl[CTRL.op]}`);
  }
}

/**
 * Gradients and hessians of every row from the current scores, each loss chunk's sum (the loss of
 * the scores) and, per output column, the largest |gradient| and hessian of the rows this thread did.
 */
function gradients(s: GbdtState, t: number): void {
  const { rows, K, task } = s.shape;
  const { y, scores, gh, lossChunks, stats } = s;
  const chunks = Math.ceil(rows / LOSS_CHUNK);
  for (let k = 0; k < K; k++) {
    stats[(t * K + k) * 2] = 0;
    stats[(t * K + k) * 2 + 1] = 0;
  }
  for (let c = claim(s); c < chunks; c = claim(s)) {
    const end = Math.min(rows, (c + 1) * LOSS_CHUNK);
    let total = 0;
    if (task === 0) {
      let gMax = stats[t * 2]!;
      for (let i = c * LOSS_CHUNK; i < end; i++) {
        const g = scores[i]! - y[i]!;
        gh[i * 2] = g;
        gh[i * 2 + 1] = 1;
        total += g * g;
        gMax = Math.max(gMax, Math.abs(g));
      }
      stats[t * 2] = gMax;
      stats[t * 2 + 1] = 1;
    } else if (task === 1) {
      let gMax = stats[t * 2]!;
      let hMax = stats[t * 2 + 1]!;
      for (let i = c * LOSS_CHUNK; i < end; i++) {
        const p = 1 / (1 + Math.exp(-scores[i]!));
        const g = p - y[i]!;
        const h = Math.max(p * (1 - p), 1e-16);
        gh[i * 2] = g;
        gh[i * 2 + 1] = h;
        total -= y[i] === 1 ? Math.log(Math.max(p, 1e-15)) : Math.log(Math.max(1 - p, 1e-15));
        gMax = Math.max(gMax, Math.abs(g));
        hMax = Math.max(hMax, h);
      }
      stats[t * 2] = gMax;
      stats[t * 2 + 1] = hMax;
    } else {
      for (let i = c * LOSS_CHUNK; i < end; i++) {
        let max = -Infinity;
        for (let k = 0; k < K; k++) max = Math.max(max, scores[i * K + k]!);
        let sum = 0;
        for (let k = 0; k < K; k++) sum += Math.exp(scores[i * K + k]! - max);
        for (let k = 0; k < K; k++) {
          const p = Math.exp(scores[i * K + k]! - max) / sum;
          const g = p - (y[i] === k ? 1 : 0);
          const h = Math.max(2 * p * (1 - p), 1e-16);
          const at = (i * K + k) * 2;
          gh[at] = g;
          gh[at + 1] = h;
          const st = (t * K + k) * 2;
          stats[st] = Math.max(stats[st]!, Math.abs(g));
          stats[st + 1] = Math.max(stats[st + 1]!, h);
        }
        total -= scores[i * K + y[i]!]! - max - Math.log(sum);
      }
    }
    lossChunks[c] = total;
  }
}

/**
 * Jobs `[node, feature, bin, left, right, items]`: in each block, the node's rows with bin ≤ `bin`
 * move to the front of its segment (order kept), the others after them; the two parts become the
 * children's segments, and `counts` gets the rows sent left per block.
 */
function partition(s: GbdtState): void {
  const { rows, blocks: P } = s.shape;
  const { jobs, seg, index, scratch, columnBins, counts } = s;
  const starts = itemStarts(s);
  const total = starts[starts.length - 1]!;
  for (let w = claim(s); w < total; w = claim(s)) {
    const j = jobOf(starts, w);
    const at = j * JOB_INTS;
    const node = jobs[at]!;
    const f = jobs[at + 1]!;
    const b = jobs[at + 2]!;
    const left = jobs[at + 3]!;
    const right = jobs[at + 4]!;
    const column = columnBins.subarray(f * rows, (f + 1) * rows);
    const [p0, p1] = share(P, w - starts[j]!, jobs[at + 5]!);
    for (let p = p0; p < p1; p++) {
      const start = seg[(node * P + p) * 2]!;
      const end = seg[(node * P + p) * 2 + 1]!;
      let li = start;
      let ri = start;
      // Branch-free: a split sends rows either way unpredictably, and a mispredicted branch per row
      // cost more than writing every row to both arrays (li ≤ i: the row was already read).
      for (let i = start; i < end; i++) {
        const r = index[i]!;
        const left = column[r]! <= b ? 1 : 0;
        index[li] = r;
        scratch[ri] = r;
        li += left;
        ri += 1 - left;
      }
      index.set(scratch.subarray(start, ri), li);
      seg[(left * P + p) * 2] = start;
      seg[(left * P + p) * 2 + 1] = li;
      seg[(right * P + p) * 2] = li;
      seg[(right * P + p) * 2 + 1] = end;
      counts[j * P + p] = li - start;
    }
  }
}

/**
 * Adds the grown tree to the scores: jobs `[leaf, .., items]` add the leaf's value to the leaf's
 * rows; then, when subsampling, rows outside the sample walk the tree (in ROW_CHUNK items).
 */
function apply(s: GbdtState): void {
  const { rows, cols, K, blocks: P } = s.shape;
  const { jobs, seg, index, scores, treeValue } = s;
  const k = s.ctrl[CTRL.k]!;
  const starts = itemStarts(s);
  const leafItems = starts[starts.length - 1]!;
  const walk = s.ctrl[CTRL.partialSample] === 1 ? Math.ceil(rows / ROW_CHUNK) : 0;
  const { sampledMask, bins, treeFeature, treeBin, treeLeft, treeRight } = s;
  for (let w = claim(s); w < leafItems + walk; w = claim(s)) {
    if (w < leafItems) {
      const j = jobOf(starts, w);
      const node = jobs[j * JOB_INTS]!;
      const v = treeValue[node]!;
      const [p0, p1] = share(P, w - starts[j]!, jobs[j * JOB_INTS + 5]!);
      for (let p = p0; p < p1; p++) {
        const end = seg[(node * P + p) * 2 + 1]!;
        for (let i = seg[(node * P + p) * 2]!; i < end; i++) scores[index[i]! * K + k]! += v;
      }
      continue;
    }
    const r0 = (w - leafItems) * ROW_CHUNK;
    const r1 = Math.min(rows, r0 + ROW_CHUNK);
    for (let r = r0; r < r1; r++) {
      if (sampledMask[r] === 1) continue;
      let node = 0;
      while (treeFeature[node]! >= 0)
        node = bins[r * cols + treeFeature[node]!]! <= treeBin[node]! ? treeLeft[node]! : treeRight[node]!;
      scores[r * K + k]! += treeValue[node]!;
    }
  }
}
