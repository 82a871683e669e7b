// The GBDT trainer's working memory, shared between the training thread and its helper threads
// (gbdt-worker.ts): every array lives in a SharedArrayBuffer, so helpers read the bins and
// gradients and write histograms and split candidates without copies. One layout, used by both sides.

/** Bumped whenever the layout or the operations change: a helper compiled from other sources is refused. */
export const GBDT_STATE_VERSION = 3;

/** Rows per loss chunk: chunk sums are added in chunk order, so the loss does not depend on the thread count. */
export const LOSS_CHUNK = 4096;

/** Rows per work item of row-wise operations (binning, the walk of unsampled rows). */
export const ROW_CHUNK = 4096;

/** Histogram jobs (node histograms built) per operation; a level with more runs several operations. */
export const HIST_SLOTS = 64;

/** Partition/apply jobs per operation. */
export const MAX_JOBS = 4096;

/** Node histograms per pool chunk (the pool grows by chunks, sent to the helpers as it does). */
export const POOL_CHUNK_SLOTS = 16;

/** Ints per job in `jobs`. */
export const JOB_INTS = 6;

/**
 * Fewest rows worth a work item of their own in the histogram, partition and apply operations: a
 * node's blocks are grouped into items of about this many rows (a small node is one item, built by
 * one thread, with no partial histogram to add from the other threads).
 */
export const ITEM_ROWS = 4096;

/** Indices into `ctrl`. */
export const CTRL = {
  /** Bumped by the coordinator for every operation; helpers wait on it. */
  seq: 0,
  op: 1,
  /** Helpers that finished the current operation. */
  done: 2,
  /** Set by a helper whose operation threw (the message is lost; the coordinator fails the run). */
  error: 3,
  /** Jobs in `jobs` for this operation. */
  jobs: 4,
  /** Output column (class) of the tree being grown. */
  k: 5,
  /** Features in `features` (the tree's column sample). */
  features: 6,
  /** 1 when some rows are not sampled (apply walks them through the tree). */
  partialSample: 7,
  /** 1 when a histogram operation also quantizes its rows' gradients into `ghq` (the root's). */
  quantize: 8,
  /** The next work item to claim (reset to 0 by the coordinator before each operation). */
  next: 9,
  /** Chunks in the histogram pool (a helper with fewer reads the new ones from its port first). */
  poolChunks: 10,
} as const;

/** Indices into `params` (float64 arguments of the split search). */
export const PARAM = {
  /** Quantization scales of gradients and hessians for the tree being grown (powers of two). */
  gScale: 0,
  hScale: 1,
  l2: 2,
  /** Cap on a leaf's Newton step (0 = none). */
  maxDelta: 3,
  minChildWeight: 4,
  minSplitGain: 5,
} as const;

/** Operations; each thread claims work items of the current one until none are left. */
export const OP = {
  gradients: 1,
  partition: 2,
  histogram: 3,
  apply: 4,
  split: 5,
  edges: 6,
  bin: 7,
  stop: 9,
} as const;

/** Sizes of a training run's working memory. */
export interface GbdtShape {
  readonly threads: number;
  readonly rows: number;
  readonly cols: number;
  /** Output columns (classes for multiclass, else 1). */
  readonly K: number;
  readonly maxBins: number;
  /** 0 regression, 1 binary, 2 multiclass. */
  readonly task: 0 | 1 | 2;
  /** Upper bound on node ids in one tree. */
  readonly maxNodes: number;
  /** Row blocks: each reorders its own region of `index`, so a node's rows are one segment per block. */
  readonly blocks: number;
}

type StateArrays = Omit<GbdtState, 'shape' | 'histSize' | 'partials' | 'pool'>;

/** The buffers themselves (what a helper receives as workerData). */
export interface GbdtBuffers {
  readonly version: number;
  readonly shape: GbdtShape;
  readonly buffers: Readonly<Record<keyof StateArrays, SharedArrayBuffer>>;
  readonly partials: readonly SharedArrayBuffer[];
}

/**
 * Typed views over the buffers. Row indices in `index` are split into `blocks` contiguous regions;
 * an operation only ever reorders a region as a whole on one thread, so a node's rows are one
 * segment per block (`seg[(node * blocks + p) * 2]` .. `+ 1`), whichever thread did the work.
 */
export interface GbdtState {
  readonly shape: GbdtShape;
  /** `cols * maxBins * 2`: per feature and bin, the (quantized) gradient and hessian sums. */
  readonly histSize: number;
  readonly ctrl: Int32Array;
  /** See PARAM. */
  readonly params: Float64Array;
  /** The training matrix as float32 (what binning compares), row-major; NaN = missing. */
  readonly raw: Float32Array;
  /** Per feature, its split points: `edges[f * maxBins + i]`, `edgeCount[f]` of them. */
  readonly edges: Float32Array;
  readonly edgeCount: Int32Array;
  /** Row-major bins `bins[r * cols + f]` (0 = missing). */
  readonly bins: Uint8Array;
  /** Column-major copy: partitioning reads one feature for many rows. */
  readonly columnBins: Uint8Array;
  readonly y: Float64Array;
  readonly scores: Float64Array;
  /** Interleaved gradient and hessian per row and output column: `gh[(r * K + k) * 2]`. */
  readonly gh: Float64Array;
  /** The tree's quantized gradient and hessian per row (`ghq[r * 2]`), written with the root's histogram. */
  readonly ghq: Float64Array;
  /** Per thread and output column: the largest |gradient| and hessian (to pick the scale). */
  readonly stats: Float64Array;
  /** Per thread: the sums of the quantized gradients and hessians it quantized (the root's totals). */
  readonly rootSums: Float64Array;
  readonly lossChunks: Float64Array;
  /** The sampled rows, reordered in place as nodes split. */
  readonly index: Uint32Array;
  readonly scratch: Uint32Array;
  /** 1 for rows in this round's sample (only read when `ctrl[partialSample]` is 1). */
  readonly sampledMask: Uint8Array;
  readonly seg: Int32Array;
  /** Operation arguments, JOB_INTS ints per job. */
  readonly jobs: Int32Array;
  /** Rows sent left per partition job and block. */
  readonly counts: Int32Array;
  readonly features: Int32Array;
  /** Per thread and histogram slot: 1 when the thread wrote its partial histogram of the slot. */
  readonly touched: Int32Array;
  /** Quantized gradient and hessian sums per node (`nodeGH[node * 2]`), set before its split search. */
  readonly nodeGH: Float64Array;
  /** Per split job, side (0 built, 1 derived) and feature: the best gain, bin and left sums. */
  readonly splitGain: Float64Array;
  readonly splitBin: Int32Array;
  readonly splitGH: Float64Array;
  /**
   * Node histograms, `histSize` each: slot i is at `(i % POOL_CHUNK_SLOTS) * histSize` of chunk
   * `pool[i / POOL_CHUNK_SLOTS]`. Grows as trees need (a growable buffer would do, but V8 12's
   * optimized code reads length-tracking views many times slower).
   */
  readonly pool: Float64Array[];
  /** The tree being grown, flat (apply walks unsampled rows through it). */
  readonly treeFeature: Int32Array;
  readonly treeBin: Int32Array;
  readonly treeLeft: Int32Array;
  readonly treeRight: Int32Array;
  readonly treeValue: Float64Array;
  /** One buffer of HIST_SLOTS partial histograms per thread. */
  readonly partials: readonly Float64Array[];
}

const sab = (bytes: number) => new SharedArrayBuffer(Math.max(8, bytes));

/** Allocates zeroed buffers for `shape`. */
export function allocateState(shape: GbdtShape): GbdtBuffers {
  const { threads: T, rows, cols, K, maxBins, maxNodes, blocks } = shape;
  const histSize = cols * maxBins * 2;
  return {
    version: GBDT_STATE_VERSION,
    shape,
    buffers: {
      ctrl: sab(16 * 4),
      params: sab(8 * 8),
      raw: sab(rows * cols * 4),
      edges: sab(cols * maxBins * 4),
      edgeCount: sab(cols * 4),
      bins: sab(rows * cols),
      columnBins: sab(rows * cols),
      y: sab(rows * 8),
      scores: sab(rows * K * 8),
      gh: sab(rows * K * 2 * 8),
      ghq: sab(rows * 2 * 8),
      stats: sab(T * K * 2 * 8),
      rootSums: sab(T * 2 * 8),
      lossChunks: sab(Math.ceil(rows / LOSS_CHUNK) * 8),
      index: sab(rows * 4),
      scratch: sab(rows * 4),
      sampledMask: sab(rows),
      seg: sab(maxNodes * blocks * 2 * 4),
      jobs: sab(MAX_JOBS * JOB_INTS * 4),
      counts: sab(MAX_JOBS * blocks * 4),
      features: sab(cols * 4),
      touched: sab(T * HIST_SLOTS * 4),
      nodeGH: sab(maxNodes * 2 * 8),
      splitGain: sab(HIST_SLOTS * 2 * cols * 8),
      splitBin: sab(HIST_SLOTS * 2 * cols * 4),
      splitGH: sab(HIST_SLOTS * 2 * cols * 2 * 8),
      treeFeature: sab(maxNodes * 4),
      treeBin: sab(maxNodes * 4),
      treeLeft: sab(maxNodes * 4),
      treeRight: sab(maxNodes * 4),
      treeValue: sab(maxNodes * 8),
    },
    partials: Array.from({ length: T }, () => sab(HIST_SLOTS * histSize * 8)),
  };
}

/** Typed views over `b` (the same on every thread). */
export function viewState(b: GbdtBuffers): GbdtState {
  const x = b.buffers;
  return {
    shape: b.shape,
    histSize: b.shape.cols * b.shape.maxBins * 2,
    ctrl: new Int32Array(x.ctrl),
    params: new Float64Array(x.params),
    raw: new Float32Array(x.raw),
    edges: new Float32Array(x.edges),
    edgeCount: new Int32Array(x.edgeCount),
    bins: new Uint8Array(x.bins),
    columnBins: new Uint8Array(x.columnBins),
    y: new Float64Array(x.y),
    scores: new Float64Array(x.scores),
    gh: new Float64Array(x.gh),
    ghq: new Float64Array(x.ghq),
    stats: new Float64Array(x.stats),
    rootSums: new Float64Array(x.rootSums),
    lossChunks: new Float64Array(x.lossChunks),
    index: new Uint32Array(x.index),
    scratch: new Uint32Array(x.scratch),
    sampledMask: new Uint8Array(x.sampledMask),
    seg: new Int32Array(x.seg),
    jobs: new Int32Array(x.jobs),
    counts: new Int32Array(x.counts),
    features: new Int32Array(x.features),
    touched: new Int32Array(x.touched),
    nodeGH: new Float64Array(x.nodeGH),
    splitGain: new Float64Array(x.splitGain),
    splitBin: new Int32Array(x.splitBin),
    splitGH: new Float64Array(x.splitGH),
    pool: [],
    treeFeature: new Int32Array(x.treeFeature),
    treeBin: new Int32Array(x.treeBin),
    treeLeft: new Int32Array(x.treeLeft),
    treeRight: new Int32Array(x.treeRight),
    treeValue: new Float64Array(x.treeValue),
    partials: b.partials.map((p) => new Float64Array(p)),
  };
}
