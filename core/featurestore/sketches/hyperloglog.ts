import { createHash } from 'node:crypto';

/** Serialized form of a {@link HyperLogLog} (stored in `feature_statistics.statistics`). */
export interface HyperLogLogState {
  /** Precision: the sketch has 2^p registers. */
  readonly p: number;
  /**
   * The hash family the registers were filled with: `md5` (TypeScript {@link HyperLogLog.add}) or
   * `duckdb-<probe>` (DuckDB's `hash()`, tagged with the hash of a fixed probe string so sketches
   * from a DuckDB version that hashes differently are recognised). Only equal families merge.
   * Absent means `md5`.
   */
  readonly hash?: string;
  /** Registers, one byte each, base64. */
  readonly registers: string;
}

/**
 * Default precision: 2^11 = 2048 registers, standard error 1.04/√2048 ≈ 2.3 %, 2.7 KB of base64 per
 * feature and commit. Higher precision multiplies storage per commit for little practical gain.
 */
export const HLL_PRECISION = 11;

/**
 * A HyperLogLog distinct-count sketch over 64-bit hashes. Sketches of batches are built in DuckDB
 * with its `hash()` (measured: 9 ms per million values, against 1.9 s for MD5 of the value's text),
 * tagged with the hash family (see {@link HyperLogLogState.hash}); {@link add} hashes text with MD5
 * for sketches built in TypeScript. Guarantees: `merge` of sketches of one family is exact (the
 * register-wise max), commutative and associative — a merge of the parts' sketches is the sketch of
 * the whole; {@link estimate} has a standard error of about 1.04/√(2^p).
 */
export class HyperLogLog {
  readonly registers: Uint8Array;

  constructor(
    readonly p: number = HLL_PRECISION,
    registers?: Uint8Array,
    readonly hash: string = 'md5',
  ) {
    if (!Number.isInteger(p) || p < 4 || p > 16)
      throw new RangeError(`HyperLogLog precision ${p} is not in 4..16`);
    this.registers = registers ?? new Uint8Array(1 << p);
    if (this.registers.length !== 1 << p)
      throw new RangeError(
        `HyperLogLog of precision ${p} needs ${1 << p} registers, got ${this.registers.length}`,
      );
  }

  /** Adds a value by its text (the same text DuckDB's `::VARCHAR` gives, for SQL-built sketches to agree). */
  add(text: string): this {
    if (this.hash !== 'md5')
      throw new RangeError(`this HyperLogLog holds ${this.hash} hashes; add() hashes with md5`);
    return this.addHash(createHash('md5').update(text).digest().readBigUInt64LE(8));
  }

  /** Adds a 64-bit hash: the top p bits pick the register, the rank of the rest is its leading zeros + 1. */
  addHash(hash: bigint): this {
    const rest = 64 - this.p;
    const index = Number(hash >> BigInt(rest));
    const w = hash & ((1n << BigInt(rest)) - 1n);
    const rank = w === 0n ? rest + 1 : rest - (w.toString(2).length - 1);
    if (rank > this.registers[index]!) this.registers[index] = rank;
    return this;
  }

  /** Sets a register to at least `rank` (used to load registers computed in SQL). */
  raise(index: number, rank: number): this {
    if (rank > this.registers[index]!) this.registers[index] = rank;
    return this;
  }

  /** Register-wise max; both sketches must have the same precision. */
  merge(other: HyperLogLog): this {
    if (other.p !== this.p)
      throw new RangeError(`cannot merge HyperLogLog sketches of precision ${this.p} and ${other.p}`);
    if (other.hash !== this.hash)
      throw new RangeError(
        `cannot merge HyperLogLog sketches of hash families ${this.hash} and ${other.hash}`,
      );
    for (let i = 0; i < this.registers.length; i++)
      if (other.registers[i]! > this.registers[i]!) this.registers[i] = other.registers[i]!;
    return this;
  }

  /** Estimated number of distinct values (linear counting for small cardinalities). */
  estimate(): number {
    const m = this.registers.length;
    let sum = 0;
    let zeros = 0;
    for (const r of this.registers) {
      sum += 2 ** -r;
      if (r === 0) zeros++;
    }
    const alpha = m >= 128 ? 0.7213 / (1 + 1.079 / m) : m === 64 ? 0.709 : m === 32 ? 0.697 : 0.673;
    const raw = (alpha * m * m) / sum;
    if (raw <= 2.5 * m && zeros > 0) return Math.round(m * Math.log(m / zeros));
    return Math.round(raw);
  }

  /** A copy. */
  clone(): HyperLogLog {
    return new HyperLogLog(this.p, Uint8Array.from(this.registers), this.hash);
  }

  /** The serialized form. */
  toJSON(): HyperLogLogState {
    return { p: this.p, hash: this.hash, registers: Buffer.from(this.registers).toString('base64') };
  }

  /** Loads a serialized sketch. */
  static fromJSON(state: HyperLogLogState): HyperLogLog {
    return new HyperLogLog(
      state.p,
      Uint8Array.from(Buffer.from(state.registers, 'base64')),
      state.hash ?? 'md5',
    );
  }

  /** SQL returning the DuckDB hash family tag (column `tag`) for {@link HyperLogLogState.hash}. */
  static readonly duckHashTagSql = `SELECT 'duckdb-' || lower(hex(hash('fti-hll-probe'))) AS tag`;

  /**
   * SQL selecting `(idx, rank)` pairs — one per non-empty register — of the non-null values of
   * `expression` (already quoted) in `relation`, hashed with DuckDB's `hash()`; {@link addHash} of
   * those hashes fills the same registers.
   */
  static registersSql(relation: string, expression: string, p: number = HLL_PRECISION): string {
    const rest = 64 - p;
    const mask = `((1::UBIGINT << ${rest}) - 1)`;
    return `WITH h AS (SELECT hash(${expression}) AS h FROM ${relation} WHERE ${expression} IS NOT NULL),
      w AS (SELECT (h >> ${rest})::INTEGER AS idx, h & ${mask} AS w FROM h),
      k AS (SELECT idx, w, CASE WHEN w = 0 THEN NULL ELSE floor(log2(w::DOUBLE))::INTEGER END AS k FROM w)
      SELECT idx, max(CASE WHEN w = 0 THEN ${rest + 1}
        -- log2 of a double rounds up just below powers of two: step back when 2^k exceeds w.
        WHEN (1::UBIGINT << k) > w THEN ${rest} - (k - 1) ELSE ${rest} - k END)::INTEGER AS rank
      FROM k GROUP BY idx`;
  }

  /**
   * SQL selecting `(idx, w)` pairs — per non-empty register, the smallest remainder word of the
   * hashes landing there — of the non-null values of `expression` (already quoted) in `relation`.
   * A register's rank only grows as its word shrinks, so {@link rankOfWord} of `w` is the rank
   * {@link registersSql} computes, without a logarithm per value (about 9× faster: 1M doubles
   * 53 ms → 6 ms on 2 cores).
   */
  static minWordsSql(relation: string, expression: string, p: number = HLL_PRECISION): string {
    const rest = 64 - p;
    return `SELECT (h >> ${rest})::INTEGER AS idx, min(h & ((1::UBIGINT << ${rest}) - 1)) AS w
      FROM (SELECT hash(${expression}) AS h FROM ${relation} WHERE ${expression} IS NOT NULL) GROUP BY idx`;
  }

  /** The register rank of a remainder word of `64 - p` bits: leading zeros + 1 (all zero: `65 - p`). */
  static rankOfWord(w: bigint, p: number = HLL_PRECISION): number {
    const rest = 64 - p;
    return w === 0n ? rest + 1 : rest - w.toString(2).length + 1;
  }
}
