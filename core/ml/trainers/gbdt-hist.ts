// Histograms and split search, the bulk of GBDT training, as parallel operations. `histogram` is
// row-parallel: each item adds a group of a node's row blocks into the claiming thread's partial
// histogram of the node. `split` is feature-parallel: each item adds the threads' partials of one
// feature of one node, derives the sibling's by subtraction from the parent, and scans both for
// their best split on that feature. The coordinator then only picks, per node, the best feature.
import { claim, itemStarts, jobOf, share } from './gbdt-items';
import { CTRL, HIST_SLOTS, JOB_INTS, PARAM, POOL_CHUNK_SLOTS, type GbdtState } from './gbdt-state';

/**
 * Jobs `[node, .., items]`: slot j of the claiming threads' partial histograms gets the quantized
 * gradient and hessian sums of node j's rows, per sampled feature and bin (`touched` says which
 * threads wrote slot j). With `ctrl[quantize]` (the root), the rows' gradients are quantized first
 * and their sums go to `rootSums`.
 */
export function histogram(s: GbdtState, t: number): void {
  const { cols, K, maxBins: B, blocks: P } = s.shape;
  const { jobs, seg, index, bins, gh, ghq, features, histSize, touched } = s;
  const h = s.partials[t]!;
  const n = s.ctrl[CTRL.jobs]!;
  if (n > HIST_SLOTS) throw new Error('too many histogram jobs');
  for (let j = 0; j < n; j++) touched[t * HIST_SLOTS + j] = 0;
  const quantize = s.ctrl[CTRL.quantize] === 1;
  const k = s.ctrl[CTRL.k]!;
  const gs = s.params[PARAM.gScale]!;
  const hs = s.params[PARAM.hScale]!;
  let gSum = 0;
  let hSum = 0;
  const nf = s.ctrl[CTRL.features]!;
  const offsets = new Int32Array(nf);
  const stride = B * 2;
  const starts = itemStarts(s);
  const total = starts[n]!;
  for (let w = claim(s); w < total; w = claim(s)) {
    const j = jobOf(starts, w);
    const node = jobs[j * JOB_INTS]!;
    const o = j * histSize;
    if (touched[t * HIST_SLOTS + j] === 0) {
      h.fill(0, o, o + histSize);
      touched[t * HIST_SLOTS + j] = 1;
    }
    for (let q = 0; q < nf; q++) offsets[q] = o + features[q]! * stride;
    const [p0, p1] = share(P, w - starts[j]!, jobs[j * JOB_INTS + 5]!);
    for (let p = p0; p < p1; p++) {
      const start = seg[(node * P + p) * 2]!;
      const end = seg[(node * P + p) * 2 + 1]!;
      if (quantize) {
        // The root holds every sampled row: quantize them once for the whole tree.
        for (let i = start; i < end; i++) {
          const r = index[i]!;
          const g = Math.round(gh[(r * K + k) * 2]! * gs);
          const hh = Math.round(gh[(r * K + k) * 2 + 1]! * hs);
          ghq[r * 2] = g;
          ghq[r * 2 + 1] = hh;
          gSum += g;
          hSum += hh;
        }
      }
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
  if (quantize) {
    s.rootSums[t * 2] = gSum;
    s.rootSums[t * 2 + 1] = hSum;
  }
}

/**
 * Jobs `[built node, derived node or -1, built pool slot, derived pool slot (the parent's), ..]`,
 * job j's partials in slot j. Items are (job, sampled feature): the feature's bins of the built
 * node are the sum of the threads' partials (exact, in any order), the derived node's are the
 * parent's minus them (in place: the parent's histogram becomes the derived node's); each node's
 * best split on the feature goes to `splitGain`/`splitBin`/`splitGH` at `(j * 2 + side) * cols + f`.
 */
export function split(s: GbdtState): void {
  const { cols, maxBins: B, threads: T } = s.shape;
  const { jobs, pool, partials, touched, features, edgeCount, histSize } = s;
  const n = s.ctrl[CTRL.jobs]!;
  const nf = s.ctrl[CTRL.features]!;
  const total = n * nf;
  for (let w = claim(s); w < total; w = claim(s)) {
    const j = Math.floor(w / nf);
    const f = features[w - j * nf]!;
    const at = j * JOB_INTS;
    const built = jobs[at]!;
    const derived = jobs[at + 1]!;
    const base = f * B * 2;
    // Bins 0 (missing) .. nEdges + 1: the rest of the feature's bins are never used.
    const len = (edgeCount[f]! + 2) * 2;
    const smallSlot = jobs[at + 2]!;
    const sp = pool[Math.floor(smallSlot / POOL_CHUNK_SLOTS)]!;
    const small = (smallSlot % POOL_CHUNK_SLOTS) * histSize + base;
    let first = true;
    for (let t = 0; t < T; t++) {
      if (touched[t * HIST_SLOTS + j] !== 1) continue;
      const p = partials[t]!;
      const o = j * histSize + base;
      if (first) sp.set(p.subarray(o, o + len), small);
      else for (let i = 0; i < len; i++) sp[small + i]! += p[o + i]!;
      first = false;
    }
    if (first) sp.fill(0, small, small + len);
    bestOnFeature(s, sp, small, built, j * 2 * cols + f, edgeCount[f]!);
    if (derived < 0) continue;
    const largeSlot = jobs[at + 3]!;
    const lp = pool[Math.floor(largeSlot / POOL_CHUNK_SLOTS)]!;
    const large = (largeSlot % POOL_CHUNK_SLOTS) * histSize + base;
    for (let i = 0; i < len; i++) lp[large + i]! -= sp[small + i]!;
    bestOnFeature(s, lp, large, derived, (j * 2 + 1) * cols + f, edgeCount[f]!);
  }
}

/**
 * The best split of `node` on one feature whose bins start at `h[base]`: left = bins 0..b (missing
 * values always go left), first best bin on ties; gain -Infinity when no bin qualifies.
 */
function bestOnFeature(
  s: GbdtState,
  h: Float64Array,
  base: number,
  node: number,
  out: number,
  nEdges: number,
): void {
  const { params, nodeGH } = s;
  const invG = 1 / params[PARAM.gScale]!;
  const invH = 1 / params[PARAM.hScale]!;
  const l2 = params[PARAM.l2]!;
  const maxDelta = params[PARAM.maxDelta]!;
  const minChildWeight = params[PARAM.minChildWeight]!;
  const minSplitGain = params[PARAM.minSplitGain]!;
  const G = nodeGH[node * 2]!;
  const H = nodeGH[node * 2 + 1]!;
  const parent = gainOf(G * invG, H * invH, l2, maxDelta);
  let bestGain = -Infinity;
  let bestBin = 0;
  let bestGL = 0;
  let bestHL = 0;
  let GL = h[base]!;
  let HL = h[base + 1]!;
  // An empty bin changes neither side, so its split scores the same as the one before it and cannot
  // be strictly better: skip it (from b = 2: the split before b = 1, missing values alone, is not a
  // candidate).
  for (let b = 1; b <= nEdges; b++) {
    const g = h[base + b * 2]!;
    const hh = h[base + b * 2 + 1]!;
    if (g === 0 && hh === 0 && b > 1) continue;
    GL += g;
    HL += hh;
    const hl = HL * invH;
    const hr = (H - HL) * invH;
    if (hl < minChildWeight || hr < minChildWeight) continue;
    const gain = gainOf(GL * invG, hl, l2, maxDelta) + gainOf((G - GL) * invG, hr, l2, maxDelta) - parent;
    if (gain > minSplitGain && gain > bestGain) {
      bestGain = gain;
      bestBin = b;
      bestGL = GL;
      bestHL = HL;
    }
  }
  s.splitGain[out] = bestGain;
  s.splitBin[out] = bestBin;
  s.splitGH[out * 2] = bestGL;
  s.splitGH[out * 2 + 1] = bestHL;
}

/** A node's Newton step, capped at maxDelta when > 0 (XGBoost's CalcWeight). */
export function weightOf(G: number, H: number, l2: number, maxDelta: number): number {
  const w = -G / (H + l2);
  return maxDelta > 0 ? Math.max(-maxDelta, Math.min(maxDelta, w)) : w;
}

/** A node's loss reduction at its (capped) step (XGBoost's CalcGain / CalcGainGivenWeight). */
export function gainOf(G: number, H: number, l2: number, maxDelta: number): number {
  if (maxDelta <= 0) return (G * G) / (H + l2);
  const w = weightOf(G, H, l2, maxDelta);
  return -(2 * G * w + (H + l2) * w * w);
}
