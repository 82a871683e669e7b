import { seededRandom } from '../ml/random';
import {
  applyCalibrator,
  assertCalibrator,
  eceNoiseFloor,
  expectedCalibrationError,
  fitCalibrator,
  InvalidInputError,
} from './calibration';

describe('isotonic calibrator (pool-adjacent-violators)', () => {
  it('matches a hand-worked fit', () => {
    // x: 0.1 0.2 0.3 0.4 0.5 0.6, y: 0 1 0 0 1 1. Blocks left to right:
    //   {0.1: 0}  {0.2: 1}                 0 < 1, keep
    //   {0.3: 0}  1 ≥ 0 → pool {0.2–0.3: 1/2}; 0 < 1/2, keep
    //   {0.4: 0}  1/2 ≥ 0 → pool {0.2–0.4: (1+0+0)/3 = 1/3}; 0 < 1/3, keep
    //   {0.5: 1}  1/3 < 1, keep
    //   {0.6: 1}  1 ≥ 1 → pool {0.5–0.6: 1}
    // Each block keeps its first and last input: thresholds 0.1 | 0.2 0.4 | 0.5 0.6.
    const c = fitCalibrator([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], [0, 1, 0, 0, 1, 1]);
    expect(c.thresholds).toEqual([0.1, 0.2, 0.4, 0.5, 0.6]);
    expect(c.values).toEqual([0, 1 / 3, 1 / 3, 1, 1]);
    // Flat inside a block, linear between blocks: 0.45 is halfway from (0.4, 1/3) to (0.5, 1) → 2/3.
    expect(applyCalibrator(c, 0.3)).toBeCloseTo(1 / 3, 12);
    expect(applyCalibrator(c, 0.45)).toBeCloseTo(2 / 3, 12);
    expect(applyCalibrator(c, 0.15)).toBeCloseTo(1 / 6, 12);
    // Clipped outside the fitted range.
    expect(applyCalibrator(c, 0)).toBe(0);
    expect(applyCalibrator(c, 1)).toBe(1);
  });

  it('pools tied inputs before fitting, whatever the input order', () => {
    // x = 0.2 twice (labels 1, 0) pools to {0.2: 1/2, weight 2}; {0.5: 0}: 1/2 ≥ 0 → pool
    // {0.2–0.5: (1+0+0)/3 = 1/3}; {0.8: 1} stays. Thresholds 0.2 0.5 | 0.8.
    const c = fitCalibrator([0.8, 0.2, 0.5, 0.2], [1, 1, 0, 0]);
    expect(c.thresholds).toEqual([0.2, 0.5, 0.8]);
    expect(c.values).toEqual([1 / 3, 1 / 3, 1]);
    // 0.65: halfway from (0.5, 1/3) to (0.8, 1) → 2/3; 0.1 clips to 1/3.
    expect(applyCalibrator(c, 0.65)).toBeCloseTo(2 / 3, 12);
    expect(applyCalibrator(c, 0.1)).toBeCloseTo(1 / 3, 12);
  });

  it('equals the min–max characterization of isotonic regression on random data', () => {
    // Independent of PAV: f(x_i) = max_{j ≤ i} min_{k ≥ i} mean(y_j..y_k) (Barlow et al., 1972).
    for (const seed of [1, 2, 3]) {
      const random = seededRandom(seed);
      const n = 40;
      const x = Array.from({ length: n }, (_, i) => (i + random() * 0.5) / n).sort((a, b) => a - b);
      const y = x.map((p) => (random() < p ? 1 : 0));
      const c = fitCalibrator(x, y);
      assertCalibrator(c);
      let fittedSum = 0;
      for (let i = 0; i < n; i++) {
        let best = -Infinity;
        for (let j = 0; j <= i; j++) {
          let worst = Infinity;
          for (let k = i; k < n; k++) {
            let s = 0;
            for (let m = j; m <= k; m++) s += y[m]!;
            worst = Math.min(worst, s / (k - j + 1));
          }
          best = Math.max(best, worst);
        }
        const fitted = applyCalibrator(c, x[i]!);
        expect(fitted).toBeCloseTo(best, 12);
        fittedSum += fitted;
      }
      // Least squares under the constraint keeps the label total.
      expect(fittedSum).toBeCloseTo(
        y.reduce((a: number, b) => a + b, 0),
        9,
      );
    }
  });

  it('survives JSON and rejects bad input by index and value', () => {
    const c = fitCalibrator([0.1, 0.9, 0.4], [0, 1, 1]);
    expect(JSON.parse(JSON.stringify(c))).toEqual(c);
    expect(() => fitCalibrator([0.1, Number.NaN], [0, 1])).toThrow(/probabilities\[1\] is NaN/);
    expect(() => fitCalibrator([0.1, 0.2], [0, 2])).toThrow(/labels\[1\] is 2/);
    expect(() => fitCalibrator([0.1], [0, 1])).toThrow(RangeError);
    expect(() => fitCalibrator([], [])).toThrow(RangeError);
    expect(() => applyCalibrator(c, 1.5)).toThrow(InvalidInputError);
    expect(() => assertCalibrator({ kind: 'isotonic', thresholds: [0.5, 0.2], values: [0, 1] })).toThrow(
      RangeError,
    );
  });
});

describe('expected calibration error', () => {
  it('matches a hand-worked value', () => {
    // 10 equal-width bins. bin 0: 0.05 → y − p = −0.05; bin 1: 0.15, 0.15 → (1 − 0.15) + (0 − 0.15) = 0.7;
    // bin 9: 0.95 → 1 − 0.95 = 0.05. ECE = (0.05 + 0.7 + 0.05) / 4 = 0.2.
    expect(expectedCalibrationError([0.05, 0.15, 0.15, 0.95], [0, 1, 0, 1])).toBeCloseTo(0.2, 12);
    // p = 1 falls in the last bin.
    expect(expectedCalibrationError([1, 1], [1, 1])).toBe(0);
    expect(expectedCalibrationError([], [])).toBeNaN();
    expect(() => expectedCalibrationError([0.5], [1], 0)).toThrow(RangeError);
    expect(() => expectedCalibrationError([0.5, -0.1], [1, 0])).toThrow(/probabilities\[1\] is -0.1/);
  });

  it('stays under the noise floor for a calibrated model and far above it for a distorted one', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const random = seededRandom(seed);
      const n = 20_000;
      const p = Float64Array.from({ length: n }, () => random());
      const y = p.map((v) => (random() < v ? 1 : 0));
      const floor = eceNoiseFloor(n);
      expect(expectedCalibrationError(p, y)).toBeLessThan(floor);
      expect(
        expectedCalibrationError(
          p.map((v) => v ** 3),
          y,
        ),
      ).toBeGreaterThan(10 * floor);
    }
  });
});
