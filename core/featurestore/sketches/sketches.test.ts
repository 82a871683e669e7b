import { DuckSession } from '../../duckdb';
import { mergeAllColumnSketches, mergeColumnSketches } from './column-sketch';
import { HyperLogLog } from './hyperloglog';
import { mergeMoments, momentsOf, sampleStddev } from './moments';
import { QUANTILE_ALPHA, QuantileSketch } from './quantile-sketch';
import { sketchRelation } from './sql';

// A deterministic pseudo-random sequence (mulberry32), so the error bounds below are checked on fixed data.
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('HyperLogLog', () => {
  it.each([100, 5_000, 50_000])('estimates %i distinct values within 3 standard errors (7 %)', (n) => {
    const hll = new HyperLogLog();
    for (let i = 0; i < n; i++) hll.add(`value-${i}`).add(`value-${i}`);
    expect(Math.abs(hll.estimate() - n) / n).toBeLessThan(0.07);
  });

  it('merging the sketches of overlapping parts gives the sketch of the whole, register for register', () => {
    const whole = new HyperLogLog();
    const a = new HyperLogLog();
    const b = new HyperLogLog();
    for (let i = 0; i < 30_000; i++) {
      whole.add(String(i));
      (i < 20_000 ? a : b).add(String(i));
      if (i % 3 === 0) b.add(String(i)); // overlap: counted once
    }
    const merged = HyperLogLog.fromJSON(a.toJSON()).merge(b);
    expect(merged.toJSON()).toEqual(whole.toJSON());
    expect(new HyperLogLog().merge(b).merge(a).toJSON()).toEqual(whole.toJSON());
  });

  it('refuses to merge sketches of different precision', () => {
    expect(() => new HyperLogLog(11).merge(new HyperLogLog(12))).toThrow(/precision 11 and 12/);
  });
});

describe('QuantileSketch', () => {
  it('every quantile is within α of the exact value at that rank, for a skewed mixed-sign sample', () => {
    const next = random(7);
    const values = Array.from(
      { length: 50_000 },
      (_, i) => (i % 10 === 0 ? -1 : 1) * Math.exp(next() * 12 - 4),
    );
    values.push(0, 0, 0);
    const sketch = new QuantileSketch();
    for (const v of values) sketch.add(v);
    const sorted = [...values].sort((x, y) => x - y);
    for (const q of [0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1]) {
      const exact = sorted[Math.floor(q * (sorted.length - 1))]!;
      expect(Math.abs(sketch.quantile(q)! - exact)).toBeLessThanOrEqual(
        QUANTILE_ALPHA * Math.abs(exact) + 1e-12,
      );
    }
  });

  it('a merge of parts equals the sketch of the whole exactly, in any order; non-finite values are ignored', () => {
    const next = random(3);
    const values = Array.from({ length: 10_000 }, () => (next() - 0.3) * 1000);
    const whole = new QuantileSketch();
    const parts = [new QuantileSketch(), new QuantileSketch(), new QuantileSketch()];
    values.forEach((v, i) => {
      whole.add(v);
      parts[i % 3]!.add(v);
    });
    parts[1]!.add(Number.NaN).add(Number.POSITIVE_INFINITY);
    const merged = new QuantileSketch().merge(parts[2]!).merge(parts[0]!).merge(parts[1]!);
    expect(merged.toJSON()).toEqual(whole.toJSON());
    expect(QuantileSketch.fromJSON(merged.toJSON()).quantile(0.5)).toBe(whole.quantile(0.5));
  });
});

describe('moments', () => {
  it('merge of parts equals the moments of the whole (count exactly, mean and stddev to 1e-12)', () => {
    const next = random(11);
    const values = Array.from({ length: 9_999 }, () => next() * 1e6 - 3e5);
    const whole = momentsOf(values);
    const merged = [0, 1, 2].map((k) => momentsOf(values.filter((_, i) => i % 3 === k))).reduce(mergeMoments);
    expect(merged.n).toBe(whole.n);
    expect(merged.mean).toBeCloseTo(whole.mean, 6);
    expect(Math.abs(sampleStddev(merged)! - sampleStddev(whole)!) / sampleStddev(whole)!).toBeLessThan(1e-12);
  });
});

describe('sketchRelation (DuckDB) and merging column sketches', () => {
  let duck: DuckSession;
  beforeAll(async () => {
    duck = await DuckSession.open({ threads: 1 });
    await duck.run(`CREATE TABLE t AS SELECT i, (i % 97)::DOUBLE * 1.5 - 20 AS x, 'k' || (i % 1234) AS s,
        CASE WHEN i % 10 = 0 THEN NULL ELSE i END AS maybe FROM range(6000) r(i)`);
  });
  afterAll(() => duck.close());

  const columns = [
    { name: 'x', type: 'double' as const },
    { name: 's', type: 'string' as const },
    { name: 'maybe', type: 'bigint' as const },
  ];

  it('registers and buckets built in SQL equal the ones built in TypeScript from the same hashes and values', async () => {
    const sketches = await sketchRelation(duck, 't', columns);
    const tag = (await duck.one<{ tag: string }>(HyperLogLog.duckHashTagSql))!.tag;
    const hll = new HyperLogLog(undefined, undefined, tag);
    for (const { h } of await duck.all<{ h: bigint }>('SELECT hash(s) AS h FROM t')) hll.addHash(h);
    const q = new QuantileSketch();
    for (let i = 0; i < 6000; i++) q.add((i % 97) * 1.5 - 20);
    expect(sketches.s!.hll).toEqual(hll.toJSON());
    expect(sketches.x!.quantiles).toEqual(q.toJSON());
    expect(Math.abs(hll.estimate() - 1234) / 1234).toBeLessThan(0.07);
  });

  it('registers from the smallest word per register equal the ones ranked per value (registersSql)', async () => {
    for (const column of ['s', 'x']) {
      const ranked = await duck.all<{ idx: number; rank: number }>(HyperLogLog.registersSql('t', column));
      const words = await duck.all<{ idx: number; w: bigint }>(HyperLogLog.minWordsSql('t', column));
      const byIdx = (rows: { idx: number; rank: number }[]) =>
        rows.map((r) => [Number(r.idx), Number(r.rank)]).sort((a, b) => a[0]! - b[0]!);
      expect(byIdx(words.map((r) => ({ idx: r.idx, rank: HyperLogLog.rankOfWord(BigInt(r.w)) })))).toEqual(
        byIdx(ranked),
      );
    }
    // Word edges: all zero, one, the largest word, and a power of two.
    expect([0n, 1n, (1n << 53n) - 1n, 1n << 40n].map((w) => HyperLogLog.rankOfWord(w))).toEqual([
      54, 53, 1, 13,
    ]);
  });

  it('sketches of different hash families do not mix: the larger family is kept (a lower bound)', async () => {
    const { s } = await sketchRelation(duck, 't', columns);
    const other = new HyperLogLog(); // md5 family
    for (let i = 0; i < 10; i++) other.add(`z${i}`);
    const merged = mergeColumnSketches(s!, { ...s!, rows: 10, nulls: 0, hll: other.toJSON() });
    expect(merged.hll).toEqual(s!.hll);
    expect(() => HyperLogLog.fromJSON(s!.hll!).merge(other)).toThrow(/hash families/);
  });

  it('the merge of the sketches of three slices equals the sketch of the whole table', async () => {
    const whole = await sketchRelation(duck, 't', columns);
    const parts = [];
    for (let k = 0; k < 3; k++) {
      await duck.run(`CREATE OR REPLACE TABLE part${k} AS SELECT * FROM t WHERE i % 3 = ${k}`);
      parts.push(await sketchRelation(duck, `part${k}`, columns));
    }
    for (const { name } of columns) {
      const merged = mergeAllColumnSketches(parts.map((p) => p[name]!))!;
      const pairwise = mergeColumnSketches(
        mergeColumnSketches(parts[2]![name]!, parts[0]![name]!),
        parts[1]![name]!,
      );
      const w = whole[name]!;
      for (const m of [merged, pairwise]) {
        expect({ rows: m.rows, nulls: m.nulls, min: m.min, max: m.max, nonFinite: m.nonFinite }).toEqual({
          rows: w.rows,
          nulls: w.nulls,
          min: w.min,
          max: w.max,
          nonFinite: w.nonFinite,
        });
        expect(m.hll).toEqual(w.hll);
        expect(m.quantiles).toEqual(w.quantiles);
        if (w.moments) {
          expect(m.moments!.n).toBe(w.moments.n);
          expect(m.moments!.mean).toBeCloseTo(w.moments.mean, 9);
          expect(m.moments!.m2 / w.moments.m2).toBeCloseTo(1, 9);
        }
      }
    }
  });

  it('NaN, ±Infinity and huge finite values never make it fail; they are counted apart', async () => {
    await duck.run(`CREATE TABLE nf AS SELECT * FROM (VALUES (1.0::DOUBLE), ('NaN'::DOUBLE), ('Infinity'::DOUBLE),
      ('-Infinity'::DOUBLE), (1e300), (-1e300), (NULL)) v(x)`);
    const { x } = await sketchRelation(duck, 'nf', [{ name: 'x', type: 'double' }]);
    expect(x).toMatchObject({
      rows: 7,
      nulls: 1,
      nonFinite: { nan: 1, posInf: 1, negInf: 1 },
      min: -1e300,
      max: 1e300,
    });
    expect(x!.moments!.n).toBe(3);
    // (1 + 1e300 − 1e300) / 3 cancels in floating point; what matters is a finite answer, not an error.
    expect(Number.isFinite(x!.moments!.mean)).toBe(true);
  });
});
