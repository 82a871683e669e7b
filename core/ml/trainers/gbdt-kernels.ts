// The row-parallel operations of GBDT training. Each runs on one thread's share of the rows and
// writes only memory that share owns, so threads never wait for each other inside an operation.
// Histograms sum gradients quantized to integers (exact in a float64 below 2^53): any split of the
// rows over threads, in any order, gives bit-identical sums, so a seed gives the same model for
// every thread count and every thread timing.
import { CTRL, HIST_SLOTS, LOSS_CHUNK, OP, type GbdtState } from './gbdt-state';

/** Runs the operation in `s.ctrl[CTRL.op]` for thread `t` of `s.shape.threads`. */
export function runOp(s: GbdtState, t: number): void {
  switch (s.ctrl[CTRL.op]) {
    case OP.gradients:
      return gradients(s, t);
    case OP.partition:
      return partition(s, t);
    case OP.histogram:
      return histogram(s, t);
    case OP.apply:
      return apply(s, t);
    default:
      throw new Error(`unknown gbdt operation ${s.ctrl[CTRL.op]}`);
  }
}

/** The range of `n` items thread `t` of `T` owns. */
export function share(n: number, t: number, T: number): [number, number] {
  return [Math.floor((n * t) / T), Math.floor((n * (t + 1)) / T)];
}

/**
 * Gradients and hessians of every row from the current scores, each loss chunk's sum (the loss of
 * the scores) and, per output column, the largest |gradient| and hessian of this thread's rows.
 */
function gradients(s: GbdtState, t: number): void {
  const { rows, K, task, threads } = s.shape;
  const { y, scores, gh, lossChunks, stats } = s;
  const [c0, c1] = share(Math.ceil(rows / LOSS_CHUNK), t, threads);
  for (let k = 0; k < K; k++) {
    stats[(t * K + k) * 2] = 0;
    stats[(t * K + k) * 2 + 1] = 0;
  }
  for (let c = c0; c < c1; c++) {
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
 * Jobs `[node, feature, bin, left, right]`: this thread's rows of `node` with bin ≤ `bin` move to
 * the front of its segment (order kept), the others after them; the two parts become the children's
 * segments, and `counts` gets the rows sent left.
 */
function partition(s: GbdtState, t: number): void {
  const { threads: T, rows } = s.shape;
  const { jobs, seg, index, scratch, columnBins, counts } = s;
  const n = s.ctrl[CTRL.jobs]!;
  for (let j = 0; j < n; j++) {
    const node = jobs[j * 5]!;
    const f = jobs[j * 5 + 1]!;
    const b = jobs[j * 5 + 2]!;
    const start = seg[(node * T + t) * 2]!;
    const end = seg[(node * T + t) * 2 + 1]!;
    const column = columnBins.subarray(f * rows, (f + 1) * rows);
    let li = start;
    let ri = start;
    for (let i = start; i < end; i++) {
      const r = index[i]!;
      if (column[r]! <= b) index[li++] = r;
      else scratch[ri++] = r;
    }
    index.set(scratch.subarray(start, ri), li);
    const left = jobs[j * 5 + 3]!;
    const right = jobs[j * 5 + 4]!;
    seg[(left * T + t) * 2] = start;
    seg[(left * T + t) * 2 + 1] = li;
    seg[(right * T + t) * 2] = li;
    seg[(right * T + t) * 2 + 1] = end;
    counts[j * T + t] = li - start;
  }
}

/**
 * Jobs `[node]`: slot j of this thread's partial histograms gets the quantized gradient and hessian
 * sums of this thread's rows of node j, per sampled feature and bin.
 */
function histogram(s: GbdtState, t: number): void {
  const { threads: T, cols, K, maxBins: B } = s.shape;
  const { jobs, seg, index, bins, gh, ghq, features, histSize } = s;
  const h = s.partials[t]!;
  const n = s.ctrl[CTRL.jobs]!;
  if (n > HIST_SLOTS) throw new Error('too many histogram jobs');
  if (s.ctrl[CTRL.quantize] === 1) {
    // The root holds every sampled row: quantize them once for the whole tree.
    const k = s.ctrl[CTRL.k]!;
    const gs = s.scale[0]!;
    const hs = s.scale[1]!;
    const root = jobs[0]!;
    const end = seg[(root * T + t) * 2 + 1]!;
    for (let i = seg[(root * T + t) * 2]!; i < end; i++) {
      const r = index[i]!;
      ghq[r * 2] = Math.round(gh[(r * K + k) * 2]! * gs);
      ghq[r * 2 + 1] = Math.round(gh[(r * K + k) * 2 + 1]! * hs);
    }
  }
  const nf = s.ctrl[CTRL.features]!;
  const offsets = new Int32Array(nf);
  const stride = B * 2;
  for (let j = 0; j < n; j++) {
    const node = jobs[j * 5]!;
    const start = seg[(node * T + t) * 2]!;
    const end = seg[(node * T + t) * 2 + 1]!;
    const o = j * histSize;
    h.fill(0, o, o + histSize);
    // The hot loop of training: one row's bins are adjacent, its gradient read once.
    if (nf === cols) {
      for (let i = start; i < end; i++) {
        const r = index[i]!;
        const g = ghq[r * 2]!;
        const hh = ghq[r * 2 + 1]!;
        const base = r * cols;
        let off = o;
        for (let f = 0; f < cols; f++, off += stride) {
          const a = off + (bins[base + f]! << 1);
          h[a]! += g;
          h[a + 1]! += hh;
        }
      }
    } else {
      for (let q = 0; q < nf; q++) offsets[q] = o + features[q]! * stride;
      for (let i = start; i < end; i++) {
        const r = index[i]!;
        const g = ghq[r * 2]!;
        const hh = ghq[r * 2 + 1]!;
        const base = r * cols;
        for (let q = 0; q < nf; q++) {
          const a = offsets[q]! + (bins[base + features[q]!]! << 1);
          h[a]! += g;
          h[a + 1]! += hh;
        }
      }
    }
  }
}

/**
 * Adds the grown tree to the scores: jobs `[leaf]` add the leaf's value to this thread's rows of
 * the leaf; rows outside the sample (when subsampling) walk the tree.
 */
function apply(s: GbdtState, t: number): void {
  const { threads: T, rows, cols, K } = s.shape;
  const { jobs, seg, index, scores, treeValue } = s;
  const k = s.ctrl[CTRL.k]!;
  const n = s.ctrl[CTRL.jobs]!;
  for (let j = 0; j < n; j++) {
    const node = jobs[j * 5]!;
    const v = treeValue[node]!;
    const end = seg[(node * T + t) * 2 + 1]!;
    for (let i = seg[(node * T + t) * 2]!; i < end; i++) scores[index[i]! * K + k]! += v;
  }
  if (s.ctrl[CTRL.partialSample] !== 1) return;
  const { sampledMask, bins, treeFeature, treeBin, treeLeft, treeRight } = s;
  const [r0, r1] = share(rows, t, T);
  for (let r = r0; r < r1; r++) {
    if (sampledMask[r] === 1) continue;
    let node = 0;
    while (treeFeature[node]! >= 0)
      node = bins[r * cols + treeFeature[node]!]! <= treeBin[node]! ? treeLeft[node]! : treeRight[node]!;
    scores[r * K + k]! += treeValue[node]!;
  }
}
