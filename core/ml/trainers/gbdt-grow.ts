// Depth-wise growth of one GBDT tree over the shared state. Per level: pick each node's best split
// from the per-feature candidates the helpers found, one partition operation for all the level's
// splits, then per batch of up to HIST_SLOTS splits one histogram operation for the smaller
// children and one split operation (which also derives the larger children by subtraction and
// scans both). This thread only decides; the row and bin work runs on every thread.
import type { Tree } from './gbdt-onnx';
import { share } from './gbdt-items';
import { weightOf } from './gbdt-hist';
import { CTRL, HIST_SLOTS, ITEM_ROWS, JOB_INTS, MAX_JOBS, OP, PARAM } from './gbdt-state';
import type { GbdtTeam } from './gbdt-team';

/** What growth needs besides the shared state. */
export interface GrowOptions {
  readonly maxDepth: number;
  readonly maxLeaves: number;
  readonly learningRate: number;
  readonly minChildWeight: number;
  readonly minSplitGain: number;
  readonly l2: number;
  /** Cap on a leaf's Newton step (0 = none). */
  readonly maxDelta: number;
  readonly edges: readonly Float32Array[];
}

interface NodeWork {
  readonly id: number;
  /** Quantized gradient and hessian sums (exact integers). */
  readonly G: number;
  readonly H: number;
  readonly depth: number;
  readonly rows: number;
  /** Its histogram's pool slot (-1: none). */
  slot: number;
  split?: Split;
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

/** Work items for a node of `rows` rows: about ITEM_ROWS rows each, at most one per block. */
function itemsFor(rows: number, blocks: number): number {
  return Math.max(1, Math.min(blocks, Math.ceil(rows / ITEM_ROWS)));
}

/** Grows trees for one training run; reuses its histogram pool slots from tree to tree. */
export class TreeGrower {
  private readonly free: number[] = [];
  private slots = 0;
  /** Rows per node of the tree being grown (apply groups a leaf's blocks by them). */
  private readonly nodeRows: Int32Array;

  constructor(
    private readonly team: GbdtTeam,
    private readonly o: GrowOptions,
  ) {
    const { params, shape } = team.state;
    params[PARAM.l2] = o.l2;
    params[PARAM.maxDelta] = o.maxDelta;
    params[PARAM.minChildWeight] = o.minChildWeight;
    params[PARAM.minSplitGain] = o.minSplitGain;
    this.nodeRows = new Int32Array(shape.maxNodes);
  }

  /**
   * Grows the tree of output column `k` over the first `sampled` rows of `state.index` (reordered
   * in place) with the features in `features`, and leaves each leaf's rows as its segments.
   */
  grow(k: number, sampled: number, features: readonly number[]): Tree {
    const s = this.team.state;
    const { o } = this;
    const { K, cols, threads: T, blocks: P } = s.shape;
    let gMax = 0;
    let hMax = 0;
    for (let t = 0; t < T; t++) {
      gMax = Math.max(gMax, s.stats[(t * K + k) * 2]!);
      hMax = Math.max(hMax, s.stats[(t * K + k) * 2 + 1]!);
    }
    s.params[PARAM.gScale] = quantizationScale(gMax, sampled);
    s.params[PARAM.hScale] = quantizationScale(hMax, sampled);
    const invG = 1 / s.params[PARAM.gScale]!;
    const invH = 1 / s.params[PARAM.hScale]!;
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
    for (let p = 0; p < P; p++) {
      const [a, b] = share(sampled, p, P);
      s.seg[(root * P + p) * 2] = a;
      s.seg[(root * P + p) * 2 + 1] = b;
    }
    const rootSlot = this.alloc();
    s.ctrl[CTRL.quantize] = 1;
    this.histograms([{ id: root, rows: sampled }]);
    s.ctrl[CTRL.quantize] = 0;
    let G = 0;
    let H = 0;
    for (let t = 0; t < T; t++) {
      G += s.rootSums[t * 2]!;
      H += s.rootSums[t * 2 + 1]!;
    }
    const rootNode: NodeWork = { id: root, G, H, depth: 0, rows: sampled, slot: rootSlot };
    this.nodeRows[root] = sampled;
    this.splits([{ built: rootNode }], features);
    const leafValue = (node: NodeWork) =>
      Math.fround(weightOf(node.G * invG, node.H * invH, o.l2, o.maxDelta) * o.learningRate);

    let level: NodeWork[] = [rootNode];
    let leaves = 1;
    while (level.length > 0) {
      // Split the best nodes of this level while leaves remain.
      const candidates = level.slice();
      candidates.sort((a, b) => (b.split?.gain ?? -1) - (a.split?.gain ?? -1));
      const splits: { node: NodeWork; split: Split; left: number; right: number }[] = [];
      for (const node of candidates) {
        const split = node.split;
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
      const leftRows = this.partition(splits);
      const next: NodeWork[] = [];
      const build: { built: NodeWork; derived: NodeWork; parent: number }[] = [];
      splits.forEach(({ node, split, left: leftId, right: rightId }, i) => {
        const depth = node.depth + 1;
        const nLeft = leftRows[i]!;
        const nRight = node.rows - nLeft;
        const left: NodeWork = { id: leftId, G: split.GL, H: split.HL, depth, rows: nLeft, slot: -1 };
        const right: NodeWork = {
          id: rightId,
          G: node.G - split.GL,
          H: node.H - split.HL,
          depth,
          rows: nRight,
          slot: -1,
        };
        this.nodeRows[leftId] = nLeft;
        this.nodeRows[rightId] = nRight;
        next.push(left, right);
        // Histogram subtraction: build the smaller child, derive the larger.
        if (depth < o.maxDepth) {
          const [built, derived] = nLeft <= nRight ? [left, right] : [right, left];
          build.push({ built, derived, parent: node.slot });
          node.slot = -1;
        } else this.release(node);
      });
      for (let at = 0; at < build.length; at += HIST_SLOTS) {
        const batch = build.slice(at, at + HIST_SLOTS);
        for (const x of batch) {
          x.built.slot = this.alloc();
          x.derived.slot = x.parent;
        }
        this.histograms(batch.map((x) => x.built));
        this.splits(batch, features);
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
    const P = s.shape.blocks;
    for (let at = 0; at < Math.max(1, leaves.length); at += MAX_JOBS) {
      const batch = leaves.slice(at, at + MAX_JOBS);
      batch.forEach((leaf, j) => {
        s.jobs[j * JOB_INTS] = leaf;
        s.jobs[j * JOB_INTS + 5] = itemsFor(this.nodeRows[leaf]!, P);
      });
      s.ctrl[CTRL.jobs] = batch.length;
      s.ctrl[CTRL.partialSample] = walkUnsampled && at + MAX_JOBS >= leaves.length ? 1 : 0;
      this.team.run(OP.apply);
    }
  }

  /** Partitions every split node; returns the rows sent left per split. */
  private partition(
    splits: readonly { node: NodeWork; split: Split; left: number; right: number }[],
  ): number[] {
    const s = this.team.state;
    const P = s.shape.blocks;
    const left: number[] = [];
    for (let at = 0; at < splits.length; at += MAX_JOBS) {
      const batch = splits.slice(at, at + MAX_JOBS);
      batch.forEach((x, j) =>
        s.jobs.set(
          [x.node.id, x.split.f, x.split.b, x.left, x.right, itemsFor(x.node.rows, P)],
          j * JOB_INTS,
        ),
      );
      s.ctrl[CTRL.jobs] = batch.length;
      this.team.run(OP.partition);
      for (let j = 0; j < batch.length; j++) {
        let n = 0;
        for (let p = 0; p < P; p++) n += s.counts[j * P + p]!;
        left.push(n);
      }
    }
    return left;
  }

  /** Builds the partial histograms of up to HIST_SLOTS nodes (slot j of each thread's partials). */
  private histograms(nodes: readonly { id: number; rows: number }[]): void {
    const s = this.team.state;
    const P = s.shape.blocks;
    nodes.forEach((node, j) => {
      s.jobs[j * JOB_INTS] = node.id;
      s.jobs[j * JOB_INTS + 5] = itemsFor(node.rows, P);
    });
    s.ctrl[CTRL.jobs] = nodes.length;
    this.team.run(OP.histogram);
  }

  /**
   * After `histograms` of the built nodes: their histograms (and the derived siblings', from the
   * parent's) into the pool, and every node's best split over `features` (first best in feature
   * order on ties, as the scan's first best bin).
   */
  private splits(
    batch: readonly { built: NodeWork; derived?: NodeWork }[],
    features: readonly number[],
  ): void {
    const s = this.team.state;
    const { cols } = s.shape;
    batch.forEach(({ built, derived }, j) => {
      s.jobs.set([built.id, derived?.id ?? -1, built.slot, derived?.slot ?? -1, 0, 0], j * JOB_INTS);
      s.nodeGH[built.id * 2] = built.G;
      s.nodeGH[built.id * 2 + 1] = built.H;
      if (derived) {
        s.nodeGH[derived.id * 2] = derived.G;
        s.nodeGH[derived.id * 2 + 1] = derived.H;
      }
    });
    s.ctrl[CTRL.jobs] = batch.length;
    this.team.run(OP.split);
    batch.forEach(({ built, derived }, j) => {
      built.split = this.best(j * 2, features, cols);
      if (derived) derived.split = this.best(j * 2 + 1, features, cols);
    });
  }

  /** The best of the per-feature candidates of split job side `js` (features in order, strict >). */
  private best(js: number, features: readonly number[], cols: number): Split | undefined {
    const s = this.team.state;
    let best: Split | undefined;
    let bestGain = -Infinity;
    for (const f of features) {
      const at = js * cols + f;
      const gain = s.splitGain[at]!;
      if (gain > bestGain) {
        bestGain = gain;
        best = { f, b: s.splitBin[at]!, gain, GL: s.splitGH[at * 2]!, HL: s.splitGH[at * 2 + 1]! };
      }
    }
    return best;
  }

  private alloc(): number {
    const slot = this.free.pop();
    if (slot !== undefined) return slot;
    this.team.ensurePool(this.slots + 1);
    return this.slots++;
  }

  private release(node: NodeWork): void {
    if (node.slot >= 0) this.free.push(node.slot);
    node.slot = -1;
  }
}
