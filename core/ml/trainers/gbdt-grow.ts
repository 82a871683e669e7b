// Depth-wise growth of one GBDT tree over the shared state: per level, the best split of every
// node from its histogram, one partition operation for all the level's splits, then one histogram
// operation for the smaller child of each split (the larger one is its parent minus it).
import { share } from './gbdt-kernels';
import type { Tree } from './gbdt-onnx';
import { CTRL, HIST_SLOTS, MAX_JOBS, OP } from './gbdt-state';
import type { GbdtTeam } from './gbdt-team';

/** What growth needs besides the shared state. */
export interface GrowOptions {
  readonly maxDepth: number;
  readonly maxLeaves: number;
  readonly learningRate: number;
  readonly minChildWeight: number;
  readonly minSplitGain: number;
  readonly edges: readonly Float32Array[];
  /** A node's (capped) Newton step. */
  readonly weightOf: (G: number, H: number) => number;
  /** A node's loss reduction at its (capped) step. */
  readonly gainOf: (G: number, H: number) => number;
}

interface NodeWork {
  readonly id: number;
  /** Quantized gradient and hessian sums (exact integers). */
  readonly G: number;
  readonly H: number;
  readonly depth: number;
  hist?: Float64Array;
}

interface Split {
  readonly f: number;
  readonly b: number;
  readonly gain: number;
  readonly GL: number;
  readonly HL: number;
}

/**
 * The largest power of two `s` with `n` values of magnitude ≤ `max`, each rounded after scaling by
 * `s`, summing below 2^52: sums of quantized values are then exact, whatever their order.
 */
export function quantizationScale(max: number, n: number): number {
  if (!(max > 0)) return 1;
  const e = Math.floor(Math.log2(2 ** 51 / (max * Math.max(1, n))));
  return 2 ** Math.max(-1000, Math.min(1000, e));
}

/** Grows trees for one training run; reuses its histogram buffers from tree to tree. */
export class TreeGrower {
  private readonly free: Float64Array[] = [];
  private readonly T: number;

  constructor(
    private readonly team: GbdtTeam,
    private readonly o: GrowOptions,
  ) {
    this.T = team.state.shape.threads;
  }

  /**
   * Grows the tree of output column `k` over the first `sampled` rows of `state.index` (reordered
   * in place) with the features in `features`, and leaves each leaf's rows as its segments.
   */
  grow(k: number, sampled: number, features: readonly number[]): Tree {
    const s = this.team.state;
    const { T, o } = this;
    const { K, cols, maxBins: B } = s.shape;
    let gMax = 0;
    let hMax = 0;
    for (let t = 0; t < T; t++) {
      gMax = Math.max(gMax, s.stats[(t * K + k) * 2]!);
      hMax = Math.max(hMax, s.stats[(t * K + k) * 2 + 1]!);
    }
    s.scale[0] = quantizationScale(gMax, sampled);
    s.scale[1] = quantizationScale(hMax, sampled);
    const invG = 1 / s.scale[0];
    const invH = 1 / s.scale[1];
    s.ctrl[CTRL.k] = k;
    s.ctrl[CTRL.features] = features.length;
    s.features.set(features);
    if (features.length > cols) throw new Error('more features than columns');

    const tree: Tree = { feature: [], threshold: [], bin: [], left: [], right: [], value: [], target: k };
    const newNode = () => {
      tree.feature.push(-1);
      tree.threshold.push(0);
      tree.bin.push(0);
      tree.left.push(0);
      tree.right.push(0);
      tree.value.push(0);
      return tree.feature.length - 1;
    };
    const root = newNode();
    for (let t = 0; t < T; t++) {
      const [a, b] = share(sampled, t, T);
      s.seg[(root * T + t) * 2] = a;
      s.seg[(root * T + t) * 2 + 1] = b;
    }
    s.ctrl[CTRL.quantize] = 1;
    const [rootHist] = this.histograms([root]);
    s.ctrl[CTRL.quantize] = 0;
    // Any feature's bins add up to the node's totals.
    let G = 0;
    let H = 0;
    const f0 = features[0]! * B * 2;
    for (let b = 0; b < B; b++) {
      G += rootHist![f0 + b * 2]!;
      H += rootHist![f0 + b * 2 + 1]!;
    }
    const leafValue = (node: NodeWork) =>
      Math.fround(o.weightOf(node.G * invG, node.H * invH) * o.learningRate);

    let level: NodeWork[] = [{ id: root, G, H, depth: 0, hist: rootHist! }];
    let leaves = 1;
    while (level.length > 0) {
      // Best split of every node on this level, then split the best ones while leaves remain.
      const candidates = level.map((node) => ({
        node,
        split: node.depth < o.maxDepth ? this.bestSplit(node, features, invG, invH) : undefined,
      }));
      candidates.sort((a, b) => (b.split?.gain ?? -1) - (a.split?.gain ?? -1));
      const splits: { node: NodeWork; split: Split; left: number; right: number }[] = [];
      for (const { node, split } of candidates) {
        if (!split || leaves >= o.maxLeaves) {
          tree.value[node.id] = leafValue(node);
          this.release(node);
          continue;
        }
        leaves += 1;
        const left = newNode();
        const right = newNode();
        tree.feature[node.id] = split.f;
        tree.bin[node.id] = split.b;
        tree.threshold[node.id] = o.edges[split.f]![split.b - 1]!;
        tree.left[node.id] = left;
        tree.right[node.id] = right;
        splits.push({ node, split, left, right });
      }
      const leftRows = this.partition(splits.map((x) => [x.node.id, x.split.f, x.split.b, x.left, x.right]));
      const next: NodeWork[] = [];
      const build: { small: NodeWork; large: NodeWork; parent: Float64Array }[] = [];
      splits.forEach(({ node, split, left: leftId, right: rightId }, i) => {
        const depth = node.depth + 1;
        const left: NodeWork = { id: leftId, G: split.GL, H: split.HL, depth };
        const right: NodeWork = { id: rightId, G: node.G - split.GL, H: node.H - split.HL, depth };
        next.push(left, right);
        // Histogram subtraction: build the smaller child, derive the larger.
        if (depth < o.maxDepth) {
          const nLeft = leftRows[i]!;
          const nRight = this.rowsOf(node.id) - nLeft;
          const [small, large] = nLeft <= nRight ? [left, right] : [right, left];
          build.push({ small, large, parent: node.hist! });
          node.hist = undefined;
        } else this.release(node);
      });
      for (let at = 0; at < build.length; at += HIST_SLOTS) {
        const batch = build.slice(at, at + HIST_SLOTS);
        const hists = this.histograms(batch.map((x) => x.small.id));
        batch.forEach(({ small, large, parent }, j) => {
          const h = hists[j]!;
          for (let i = 0; i < parent.length; i++) parent[i]! -= h[i]!;
          small.hist = h;
          large.hist = parent;
        });
      }
      level = next;
    }
    return tree;
  }

  /** Adds the tree's leaf values to the scores of its rows (and walks unsampled rows through it). */
  apply(tree: Tree, walkUnsampled: boolean): void {
    const s = this.team.state;
    const n = tree.feature.length;
    const leaves: number[] = [];
    for (let i = 0; i < n; i++) {
      s.treeValue[i] = tree.value[i]!;
      if (tree.feature[i]! < 0) leaves.push(i);
    }
    if (walkUnsampled) {
      s.treeFeature.set(tree.feature);
      s.treeBin.set(tree.bin);
      s.treeLeft.set(tree.left);
      s.treeRight.set(tree.right);
    }
    s.ctrl[CTRL.k] = tree.target;
    for (let at = 0; at < leaves.length; at += MAX_JOBS) {
      const batch = leaves.slice(at, at + MAX_JOBS);
      batch.forEach((leaf, j) => (s.jobs[j * 5] = leaf));
      s.ctrl[CTRL.jobs] = batch.length;
      s.ctrl[CTRL.partialSample] = walkUnsampled && at + MAX_JOBS >= leaves.length ? 1 : 0;
      this.team.run(OP.apply);
    }
  }

  private rowsOf(node: number): number {
    const { seg } = this.team.state;
    let n = 0;
    for (let t = 0; t < this.T; t++) n += seg[(node * this.T + t) * 2 + 1]! - seg[(node * this.T + t) * 2]!;
    return n;
  }

  /** Partitions every job's node; returns the rows sent left per job. */
  private partition(jobs: readonly (readonly number[])[]): number[] {
    const s = this.team.state;
    const left: number[] = [];
    for (let at = 0; at < jobs.length; at += MAX_JOBS) {
      const batch = jobs.slice(at, at + MAX_JOBS);
      batch.forEach((job, j) => s.jobs.set(job, j * 5));
      s.ctrl[CTRL.jobs] = batch.length;
      this.team.run(OP.partition);
      for (let j = 0; j < batch.length; j++) {
        let n = 0;
        for (let t = 0; t < this.T; t++) n += s.counts[j * this.T + t]!;
        left.push(n);
      }
    }
    return left;
  }

  /** Full histograms of up to HIST_SLOTS nodes: every thread's partial, added. */
  private histograms(nodes: readonly number[]): Float64Array[] {
    const s = this.team.state;
    nodes.forEach((node, j) => (s.jobs[j * 5] = node));
    s.ctrl[CTRL.jobs] = nodes.length;
    this.team.run(OP.histogram);
    const size = s.histSize;
    return nodes.map((_, j) => {
      const h = this.free.pop() ?? new Float64Array(size);
      h.set(s.partials[0]!.subarray(j * size, (j + 1) * size));
      for (let t = 1; t < this.T; t++) {
        const p = s.partials[t]!;
        const o = j * size;
        for (let i = 0; i < size; i++) h[i]! += p[o + i]!;
      }
      return h;
    });
  }

  private release(node: NodeWork): void {
    if (node.hist) this.free.push(node.hist);
    node.hist = undefined;
  }

  private bestSplit(
    node: NodeWork,
    features: readonly number[],
    invG: number,
    invH: number,
  ): Split | undefined {
    const { o } = this;
    const B = this.team.state.shape.maxBins;
    const h = node.hist!;
    const parent = o.gainOf(node.G * invG, node.H * invH);
    let best: Split | undefined;
    let bestGain = -Infinity;
    for (const f of features) {
      const nEdges = o.edges[f]!.length;
      const base = f * B * 2;
      let GL = h[base]!;
      let HL = h[base + 1]!;
      // Left = bins 0..b (missing values always go left). An empty bin changes neither side, so
      // its split scores the same as the one before it and cannot be strictly better: skip it
      // (from b = 2: the split before b = 1, missing values alone, is not a candidate).
      for (let b = 1; b <= nEdges; b++) {
        const g = h[base + b * 2]!;
        const hh = h[base + b * 2 + 1]!;
        if (g === 0 && hh === 0 && b > 1) continue;
        GL += g;
        HL += hh;
        const hl = HL * invH;
        const hr = (node.H - HL) * invH;
        if (hl < o.minChildWeight || hr < o.minChildWeight) continue;
        const gain = o.gainOf(GL * invG, hl) + o.gainOf((node.G - GL) * invG, hr) - parent;
        if (gain > o.minSplitGain && gain > bestGain) {
          bestGain = gain;
          best = { f, b, gain, GL, HL };
        }
      }
    }
    return best;
  }
}
