import { seededRandom } from '../random';
import { binEdges, binOf, binOfPadded, padEdges, sortFloat32 } from './gbdt-bins';

describe('gbdt binning', () => {
  it('radix-sorts float32 values exactly like TypedArray#sort (signed zeros and infinities too)', () => {
    const random = seededRandom(3);
    for (const n of [0, 1, 7, 5000]) {
      const values = Float32Array.from({ length: n }, (_, i) =>
        i % 7 === 0
          ? -0
          : i % 11 === 0
            ? 0
            : i % 13 === 0
              ? -Infinity
              : (random() - 0.5) * 10 ** ((i % 9) - 4),
      );
      const expected = values.slice().sort();
      const sorted = sortFloat32(values.slice(), new Uint32Array(n), new Uint32Array(n));
      expect(Array.from(sorted, (v) => Object.is(v, -0))).toEqual(
        Array.from(expected, (v) => Object.is(v, -0)),
      );
      expect(Array.from(sorted)).toEqual(Array.from(expected));
    }
  });

  it('gives each distinct value its own bin when they fit, quantiles otherwise', () => {
    const X = Float64Array.from([3, 1, Number.NaN, 2, 1, 3]);
    expect(Array.from(binEdges(X, 6, 1, 16)[0]!)).toEqual([1, 2]);
    const many = Float64Array.from({ length: 1000 }, (_, i) => i);
    const edges = binEdges(many, 1000, 1, 8)[0]!;
    expect(edges).toHaveLength(6);
    expect(Array.from(edges)).toEqual([...edges].sort((a, b) => a - b));
  });

  it('bins with padded edges exactly as the binary search does', () => {
    const random = seededRandom(4);
    const values = [Number.NaN, Infinity, -Infinity, 0, -0, 1e-45, -1e-45, 3.4e38, 0.1, -0.1];
    for (let i = 0; i < 20_000; i++) values.push((random() - 0.5) * 10 ** Math.floor(random() * 6 - 3));
    const sorted = Float32Array.from(values.filter((v) => !Number.isNaN(v))).sort();
    for (const n of [0, 1, 2, 3, 127, 128, 200, 254, 255]) {
      // Repeated points and +Infinity as a point too (quantiles of data with infinities).
      const edges = Float32Array.from(
        { length: n },
        (_, b) => sorted[Math.floor(((b + 1) * sorted.length) / (n + 1))]!,
      );
      if (n === 3) edges[2] = Infinity;
      const padded = padEdges(edges);
      for (const v of [...values, ...edges]) expect(binOfPadded(padded, v)).toBe(binOf(edges, v));
    }
  });
});
