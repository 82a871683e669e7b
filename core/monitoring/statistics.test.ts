import fs from 'node:fs';
import path from 'node:path';
import {
  chiSquare,
  gammaQ,
  jensenShannon,
  ksTwoSample,
  normalizedWasserstein,
  psi,
  std,
  wasserstein,
} from './statistics';

interface Fixtures {
  readonly scipy: string;
  readonly numeric: readonly {
    name: string;
    reference: number[];
    current: number[];
    ks_statistic: number;
    ks_pvalue_limit: number;
    ks_pvalue_scipy: number;
    wasserstein: number;
    reference_std: number;
  }[];
  readonly categorical: readonly {
    name: string;
    reference: number[];
    current: number[];
    chi2_statistic: number;
    chi2_pvalue: number;
    jensen_shannon: number;
  }[];
}

// Values scipy computed for the same samples (test/fixtures/drift/make-fixtures.py writes them).
const fixtures = JSON.parse(
  fs.readFileSync(path.join(__dirname, '../../test/fixtures/drift/drift-statistics.json'), 'utf8'),
) as Fixtures;
const close = (actual: number, expected: number, relative = 1e-9) =>
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(
    relative * Math.max(1e-12, Math.abs(expected)) + 1e-15,
  );

describe('drift statistics match scipy', () => {
  it.each(fixtures.numeric.map((c) => [c.name, c] as const))('numeric: %s', (_name, c) => {
    const ks = ksTwoSample(c.reference, c.current);
    close(ks.statistic, c.ks_statistic, 1e-9);
    close(ks.pValue, c.ks_pvalue_limit, 1e-7);
    // ks_2samp's 'asymp' uses the finite-n distribution kstwo(round(en)): close, not equal.
    expect(Math.abs(ks.pValue - c.ks_pvalue_scipy)).toBeLessThan(0.05);
    close(wasserstein(c.reference, c.current), c.wasserstein, 1e-9);
    close(std(c.reference), c.reference_std, 1e-9);
    close(normalizedWasserstein(c.reference, c.current), c.wasserstein / c.reference_std, 1e-9);
  });

  it.each(fixtures.categorical.map((c) => [c.name, c] as const))('categorical: %s', (_name, c) => {
    const chi = chiSquare(c.reference, c.current);
    close(chi.statistic, c.chi2_statistic, 1e-9);
    close(chi.pValue, c.chi2_pvalue, 1e-7);
    close(jensenShannon(c.reference, c.current), c.jensen_shannon, 1e-9);
  });

  it('computes the regularized upper incomplete gamma and PSI on known values', () => {
    // chi2.sf(3.84, 1) = 0.05004352124870519; chi2.sf(10, 4) = 0.04042768199451279 (scipy).
    close(gammaQ(0.5, 3.84 / 2), 0.05004352124870519, 1e-9);
    close(gammaQ(2, 10 / 2), 0.04042768199451279, 1e-9);
    expect(psi([50, 50], [50, 50])).toBe(0);
    // (0.6-0.5)ln(0.6/0.5) + (0.4-0.5)ln(0.4/0.5)
    close(psi([50, 50], [60, 40]), 0.1 * Math.log(1.2) - 0.1 * Math.log(0.8), 1e-12);
  });
});
