// The GBDT trainer's working memory, shared between the training thread and its histogram helper
// threads (gbdt-worker.ts): every array lives in a SharedArrayBuffer, so helpers read the bins and
// gradients and write their partial histograms without copies. One layout, used by both sides.

/** Bumped whenever the layout or the operations change: a helper compiled from other sources is refused. */
export const GBDT_STATE_VERSION = 2;

/** Rows per loss chunk: chunk sums are added in chunk order, so the loss does not depend on the thread count. */
export const LOSS_CHUNK = 4096;

/** Histogram jobs (node histograms built) per operation; a level with more runs several operations. */
export const HIST_SLOTS = 64;

/** Partition/apply jobs per operation. */
export const MAX_JOBS = 4096;

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
} as const;

/** Operations a helper runs on its share of the rows. */
export const OP = { gradients: 1, partition: 2, histogram: 3, apply: 4, stop: 9 } as const;

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
}

/** The buffers themselves (what a helper receives as workerData). */
export interface GbdtBuffers {
  readonly version: number;
  readonly shape: GbdtShape;
  readonly buffers: Readonly<
    Record<keyof Omit<GbdtState, 'shape' | 'histSize' | 'partials'>, SharedArrayBuffer>
  >;
  readonly partials: readonly SharedArrayBuffer[];
}

/**
 * Typed views over the buffers. Row indices in `index` are split into one contiguous region per
 * thread; a thread only ever reorders its own region, so a node's rows are one segment per thread
 * (`seg[(node * threads + t) * 2]` .. `+ 1`) and no thread waits for another inside an operation.
 */
export interface GbdtState {
  readonly shape: GbdtShape;
  /** `cols * maxBins * 2`: per feature and bin, the (quantized) gradient and hessian sums. */
  readonly histSize: number;
  readonly ctrl: Int32Array;
  /** Quantization scale of gradients and hessians for the tree being grown (powers of two). */
  readonly scale: Float64Array;
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
  readonly lossChunks: Float64Array;
  /** The sampled rows, reordered in place as nodes split. */
  readonly index: Uint32Array;
  readonly scratch: Uint32Array;
  /** 1 for rows in this round's sample (only read when `ctrl[partialSample]` is 1). */
  readonly sampledMask: Uint8Array;
  readonly seg: Int32Array;
  /** Operation arguments, 5 ints per job. */
  readonly jobs: Int32Array;
  /** Rows sent left per partition job and thread. */
  readonly counts: Int32Array;
  readonly features: Int32Array;
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
  const { threads: T, rows, cols, K, maxBins, maxNodes } = shape;
  const histSize = cols * maxBins * 2;
  return {
    version: GBDT_STATE_VERSION,
    shape,
    buffers: {
      ctrl: sab(16 * 4),
      scale: sab(2 * 8),
      bins: sab(rows * cols),
      columnBins: sab(rows * cols),
      y: sab(rows * 8),
      scores: sab(rows * K * 8),
      gh: sab(rows * K * 2 * 8),
      ghq: sab(rows * 2 * 8),
      stats: sab(T * K * 2 * 8),
      lossChunks: sab(Math.ceil(rows / LOSS_CHUNK) * 8),
      index: sab(rows * 4),
      scratch: sab(rows * 4),
      sampledMask: sab(rows),
      seg: sab(maxNodes * T * 2 * 4),
      jobs: sab(MAX_JOBS * 5 * 4),
      counts: sab(MAX_JOBS * T * 4),
      features: sab(cols * 4),
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
    scale: new Float64Array(x.scale),
    bins: new Uint8Array(x.bins),
    columnBins: new Uint8Array(x.columnBins),
    y: new Float64Array(x.y),
    scores: new Float64Array(x.scores),
    gh: new Float64Array(x.gh),
    ghq: new Float64Array(x.ghq),
    stats: new Float64Array(x.stats),
    lossChunks: new Float64Array(x.lossChunks),
    index: new Uint32Array(x.index),
    scratch: new Uint32Array(x.scratch),
    sampledMask: new Uint8Array(x.sampledMask),
    seg: new Int32Array(x.seg),
    jobs: new Int32Array(x.jobs),
    counts: new Int32Array(x.counts),
    features: new Int32Array(x.features),
    treeFeature: new Int32Array(x.treeFeature),
    treeBin: new Int32Array(x.treeBin),
    treeLeft: new Int32Array(x.treeLeft),
    treeRight: new Int32Array(x.treeRight),
    treeValue: new Float64Array(x.treeValue),
    partials: b.partials.map((p) => new Float64Array(p)),
  };
}
