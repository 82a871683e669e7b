import { normalFrom, seededRandom } from '../ml/random';
import { categoricalDrift, numericDrift } from './drift';

const normal = (seed: number, n: number, mean = 0, sd = 1) => {
  const next = normalFrom(seededRandom(seed));
  return Float64Array.from({ length: n }, () => mean + sd * next());
};
const categories = (seed: number, n: number, weights: readonly number[]) => {
  const random = seededRandom(seed);
  const total = weights.reduce((a, b) => a + b, 0);
  return Array.from({ length: n }, () => {
    let u = random() * total;
    for (const [i, w] of weights.entries()) if ((u -= w) < 0) return `c${i}`;
    return `c${weights.length - 1}`;
  });
};

describe('drift detection at default thresholds', () => {
  it.each([
    ['small samples (KS)', 300],
    ['large samples (normalized Wasserstein)', 5000],
  ])(
    'numeric, %s: at most 5 %% false alarms on 100 no-drift samples; a 0.5 sd shift always caught',
    (_, n) => {
      const reference = normal(1, 5000);
      let alarms = 0;
      let caught = 0;
      for (let s = 0; s < 100; s++) {
        if (numericDrift(reference, normal(1000 + s, n)).drift) alarms++;
        if (numericDrift(reference, normal(2000 + s, n, 0.5)).drift) caught++;
      }
      expect(alarms).toBeLessThanOrEqual(5);
      expect(caught).toBe(100);
    },
  );

  it.each([
    ['small samples (chi-square)', 300],
    ['large samples (Jensen-Shannon)', 5000],
  ])(
    'categorical, %s: at most 5 %% false alarms on 100 no-drift samples; a new mix always caught',
    (_, n) => {
      const weights = [50, 30, 15, 5];
      const reference = categories(1, 5000, weights);
      let alarms = 0;
      let caught = 0;
      for (let s = 0; s < 100; s++) {
        if (categoricalDrift(reference, categories(1000 + s, n, weights)).drift) alarms++;
        if (categoricalDrift(reference, categories(2000 + s, n, [20, 30, 25, 25])).drift) caught++;
      }
      expect(alarms).toBeLessThanOrEqual(5);
      expect(caught).toBe(100);
    },
  );

  it('reports the method, score, threshold and PSI; a category never seen in the reference is drift', () => {
    const result = numericDrift(normal(1, 1000), normal(2, 200, 1));
    expect(result).toMatchObject({ method: 'ks', threshold: 0.01, drift: true, currentSize: 200 });
    expect(result.psi).toBeGreaterThan(0.25);
    const unseen = categoricalDrift(['a', 'b', 'a', 'b'], ['a', 'b', 'c']);
    expect(unseen).toMatchObject({ method: 'chisquare', drift: true, score: 0 });
    expect(numericDrift(normal(1, 1000), normal(3, 2000), { method: 'ks', threshold: 0.01 }).method).toBe(
      'ks',
    );
  });
});
