/** Serialized form of a {@link QuantileSketch}: sparse `[bucket index, count]` pairs. */
export interface QuantileSketchState {
  /** Relative accuracy α: every quantile is within α·|value| of a true sample value at that rank. */
  readonly alpha: number;
  readonly positive: readonly (readonly [number, number])[];
  readonly negative: readonly (readonly [number, number])[];
  /** Values with |x| below {@link MIN_INDEXABLE}, zero included. */
  readonly zero: number;
}

/** Default relative accuracy: 1 %. A feature spanning 1e-3…1e6 needs at most ~1,000 buckets. */
export const QUANTILE_ALPHA = 0.01;
/** Magnitudes below this fall into the zero bucket. */
export const MIN_INDEXABLE = 1e-9;

/**
 * A DDSketch-style quantile sketch: log-spaced buckets of relative width α, counts per bucket.
 *
 * Why this and not a KLL sketch or a fixed-bin histogram: bucket boundaries depend only on α, never
 * on the data, so (a) merging is the exact sum of counts — a merge of per-commit sketches equals the
 * sketch of all their rows, in any order, with no randomness; (b) a batch's buckets are one
 * `GROUP BY` in DuckDB, so no values cross into JavaScript; (c) unlike a fixed-bin histogram it needs
 * no range agreed in advance (commits with very different ranges merge without re-binning).
 * The price is relative (not rank) error: the value returned for a quantile is within α·|v| of the
 * true value. Non-finite values are never added (they are counted separately by the caller).
 */
export class QuantileSketch {
  private readonly positive = new Map<number, number>();
  private readonly negative = new Map<number, number>();
  private zero = 0;
  private readonly logGamma: number;
  private readonly gamma: number;

  constructor(readonly alpha: number = QUANTILE_ALPHA) {
    if (!(alpha > 0 && alpha < 1)) throw new RangeError(`quantile sketch accuracy ${alpha} is not in (0, 1)`);
    this.gamma = (1 + alpha) / (1 - alpha);
    this.logGamma = Math.log(this.gamma);
  }

  /** Number of values added. */
  get count(): number {
    let n = this.zero;
    for (const c of this.positive.values()) n += c;
    for (const c of this.negative.values()) n += c;
    return n;
  }

  /** Adds one finite value (non-finite ones are ignored). */
  add(value: number, count = 1): this {
    if (!Number.isFinite(value)) return this;
    const magnitude = Math.abs(value);
    if (magnitude < MIN_INDEXABLE) this.zero += count;
    else {
      const index = Math.ceil(Math.log(magnitude) / this.logGamma);
      const side = value > 0 ? this.positive : this.negative;
      side.set(index, (side.get(index) ?? 0) + count);
    }
    return this;
  }

  /** Adds `count` to a bucket (used to load buckets computed in SQL). */
  addBucket(sign: -1 | 0 | 1, index: number, count: number): this {
    if (sign === 0) this.zero += count;
    else {
      const side = sign > 0 ? this.positive : this.negative;
      side.set(index, (side.get(index) ?? 0) + count);
    }
    return this;
  }

  /** Adds the other sketch's counts; both must have the same α. */
  merge(other: QuantileSketch): this {
    if (other.alpha !== this.alpha)
      throw new RangeError(`cannot merge quantile sketches of accuracy ${this.alpha} and ${other.alpha}`);
    for (const [i, c] of other.positive) this.positive.set(i, (this.positive.get(i) ?? 0) + c);
    for (const [i, c] of other.negative) this.negative.set(i, (this.negative.get(i) ?? 0) + c);
    this.zero += other.zero;
    return this;
  }

  /** `(value, count)` per bucket in ascending value order; a bucket's value is its midpoint estimate. */
  buckets(): { value: number; count: number }[] {
    const mid = (i: number) => (2 * this.gamma ** i) / (this.gamma + 1);
    const neg = [...this.negative.entries()]
      .sort((a, b) => b[0] - a[0])
      .map(([i, c]) => ({ value: -mid(i), count: c }));
    const pos = [...this.positive.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([i, c]) => ({ value: mid(i), count: c }));
    return [...neg, ...(this.zero > 0 ? [{ value: 0, count: this.zero }] : []), ...pos];
  }

  /** The value at quantile `q` ∈ [0, 1] (nearest rank, lower), or null when empty. */
  quantile(q: number): number | null {
    const n = this.count;
    if (n === 0) return null;
    const rank = Math.floor(q * (n - 1));
    let seen = 0;
    for (const b of this.buckets()) {
      seen += b.count;
      if (seen > rank) return b.value;
    }
    return null;
  }

  /** The serialized form (buckets sorted, so equal sketches serialize equally). */
  toJSON(): QuantileSketchState {
    const sorted = (m: Map<number, number>) =>
      [...m.entries()].sort((a, b) => a[0] - b[0]).map(([i, c]) => [i, c] as const);
    return {
      alpha: this.alpha,
      positive: sorted(this.positive),
      negative: sorted(this.negative),
      zero: this.zero,
    };
  }

  /** Loads a serialized sketch. */
  static fromJSON(state: QuantileSketchState): QuantileSketch {
    const sketch = new QuantileSketch(state.alpha);
    for (const [i, c] of state.positive) sketch.addBucket(1, i, c);
    for (const [i, c] of state.negative) sketch.addBucket(-1, i, c);
    sketch.zero = state.zero;
    return sketch;
  }

  /**
   * SQL selecting `(sign, idx, n)` per non-empty bucket of the finite values of `expression`
   * (already quoted, DOUBLE) in `relation`, bucketed exactly as {@link add} does.
   */
  static bucketsSql(relation: string, expression: string, alpha: number = QUANTILE_ALPHA): string {
    const logGamma = Math.log((1 + alpha) / (1 - alpha));
    return `SELECT CASE WHEN abs(x) < ${MIN_INDEXABLE} THEN 0 ELSE sign(x) END::INTEGER AS sign,
        CASE WHEN abs(x) < ${MIN_INDEXABLE} THEN 0 ELSE ceil(ln(abs(x)) / ${logGamma})::INTEGER END AS idx, count(*) AS n
      FROM (SELECT (${expression})::DOUBLE AS x FROM ${relation}) WHERE isfinite(x) GROUP BY ALL`;
  }
}
