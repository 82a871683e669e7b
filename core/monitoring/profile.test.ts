import { withDuck, type DuckSession } from '../duckdb';
import { normalFrom, seededRandom } from '../ml/random';
import { checkWindow } from './checks';
import { categoricalDrift, numericDrift } from './drift';
import {
  numericProfileOf,
  profileRelation,
  profileWindow,
  type DataProfile,
  type NumericProfile,
} from './profile';
import { ksTwoSample, normalizedWasserstein, wasserstein } from './statistics';

const normal = (seed: number, n: number, mean = 0, sd = 1) => {
  const next = normalFrom(seededRandom(seed));
  return Array.from({ length: n }, () => mean + sd * next());
};

/** Loads columns of equal length into a DuckDB table `name` (numbers inlined as DOUBLE literals). */
async function table(
  duck: DuckSession,
  name: string,
  columns: Record<string, readonly (number | string | null)[]>,
): Promise<void> {
  const literal = (v: number | string | null) =>
    v === null
      ? 'NULL'
      : typeof v === 'string'
        ? `'${v}'`
        : Number.isNaN(v)
          ? "'NaN'::DOUBLE"
          : v.toExponential();
  const lists = Object.entries(columns).map(([c, vs]) => `unnest([${vs.map(literal).join(',')}]) AS "${c}"`);
  await duck.run(`CREATE OR REPLACE TABLE ${name} AS SELECT ${lists.join(', ')}`);
}

describe('reference profiles', () => {
  it('DuckDB and in-memory profiles of the same numbers have the same bins (ties and all)', async () => {
    const values = normal(3, 5000).map((v) => Math.round(v * 20) / 20); // many ties
    await withDuck(async (duck) => {
      await table(duck, 't', { x: values });
      const fromDuck = (await profileRelation(duck, 't', [{ name: 'x', kind: 'numeric' }])).columns
        .x as NumericProfile;
      const inMemory = numericProfileOf(values);
      expect(fromDuck.edges).toEqual(inMemory.edges);
      expect(fromDuck.counts).toEqual(inMemory.counts);
      expect(fromDuck.counts.reduce((a, b) => a + b, 0)).toBe(5000);
      expect(fromDuck.min).toBe(Math.min(...values));
      expect(fromDuck.max).toBe(fromDuck.edges.at(-1));
      expect(fromDuck.std).toBeCloseTo(inMemory.std!, 9);
    });
  });

  it('keeps about 1,000 equal-frequency bins, counts missing and non-finite values as nulls', async () => {
    const values: (number | null)[] = normal(4, 20_000);
    values[0] = null;
    values[1] = Number.NaN;
    await withDuck(async (duck) => {
      await table(duck, 't', { x: values });
      const p = (await profileRelation(duck, 't', [{ name: 'x', kind: 'numeric' }])).columns
        .x as NumericProfile;
      expect(p.count).toBe(19_998);
      expect(p.nulls).toBe(2);
      expect(p.edges).toHaveLength(1000);
      expect(Math.max(...p.counts)).toBeLessThanOrEqual(20);
    });
  });
});

describe('drift from binned profiles agrees with the raw-sample statistics', () => {
  const reference = normal(10, 20_000);
  it.each([
    ['no shift, 500 values', normal(11, 500)],
    ['0.3 sd shift, 5,000 values', normal(12, 5000, 0.3)],
    ['twice the spread, 2,000 values', normal(13, 2000, 0, 2)],
    ['far outside the range', normal(14, 1000, 8)],
  ])('%s', async (_name, current) => {
    await withDuck(async (duck) => {
      await table(duck, 'ref', { x: reference });
      await table(duck, 'cur', { x: current });
      const profile = await profileRelation(duck, 'ref', [{ name: 'x', kind: 'numeric' }]);
      const window = await profileWindow(duck, 'cur', profile);
      const check = checkWindow(profile, window).columns[0]!;
      const binned = check.drift!.statistics as {
        ks: { statistic: number; pValue: number };
        wasserstein: number;
        normalizedWasserstein: number;
      };
      const raw = ksTwoSample(reference, current);
      // Exact at the 1,000 bin edges: within one bin's share of the reference (0.1 %).
      expect(Math.abs(binned.ks.statistic - raw.statistic)).toBeLessThanOrEqual(0.0011);
      expect(Math.abs(binned.wasserstein - wasserstein(reference, current))).toBeLessThanOrEqual(
        0.02 * wasserstein(reference, current) + 0.002,
      );
      expect(binned.normalizedWasserstein).toBeCloseTo(normalizedWasserstein(reference, current), 2);
      // The same decision as the raw-sample test.
      expect(check.drift!.drift).toBe(numericDrift(reference, current).drift);
    });
  });

  it('categorical: chi-square and Jensen–Shannon from counts equal the raw-sample test; new categories are reported', async () => {
    const ref = Array.from({ length: 4000 }, (_, i) => ['a', 'b', 'c', 'd'][i % 4]!);
    const cur = Array.from({ length: 800 }, (_, i) => (i % 40 === 0 ? 'z' : ['a', 'b', 'c', 'd'][i % 4]!));
    await withDuck(async (duck) => {
      await table(duck, 'ref', { c: ref });
      await table(duck, 'cur', { c: cur });
      const profile = await profileRelation(duck, 'ref', [{ name: 'c', kind: 'categorical' }]);
      const check = checkWindow(profile, await profileWindow(duck, 'cur', profile)).columns[0]!;
      const raw = categoricalDrift(ref, cur);
      expect(check.drift!.score).toBeCloseTo(raw.score, 12);
      expect(check.drift!.drift).toBe(true);
      expect(check.unseen).toBeCloseTo(20 / 800, 12);
      expect(check.unseenExamples).toEqual(['z']);
      expect(check.problems).toEqual(['drift', 'unseen_categories']);
    });
  });
});

describe('window checks at default thresholds', () => {
  let profile: DataProfile;
  const reference = normal(20, 10_000);
  const categories = (seed: number, n: number) => {
    const random = seededRandom(seed);
    return Array.from({ length: n }, () => (random() < 0.7 ? 'x' : random() < 0.5 ? 'y' : 'z'));
  };

  it('at most 5 false alarms in 100 no-drift windows, and every planted shift is caught', async () => {
    await withDuck(async (duck) => {
      await table(duck, 'ref', { v: reference, c: categories(1, 10_000) });
      profile = await profileRelation(duck, 'ref', [
        { name: 'v', kind: 'numeric' },
        { name: 'c', kind: 'categorical' },
      ]);
      let alarms = 0;
      let caught = 0;
      for (let s = 0; s < 100; s++) {
        await table(duck, 'w', { v: normal(100 + s, 300), c: categories(100 + s, 300) });
        const calm = checkWindow(profile, await profileWindow(duck, 'w', profile));
        if (calm.columns.some((c) => c.problems.length > 0)) alarms++;
        await table(duck, 'w', { v: normal(200 + s, 300, 0.5), c: categories(200 + s, 300) });
        const shifted = checkWindow(profile, await profileWindow(duck, 'w', profile));
        if (shifted.columns.find((c) => c.column === 'v')!.problems.includes('drift')) caught++;
      }
      expect(alarms).toBeLessThanOrEqual(5);
      expect(caught).toBe(100);
    });
  });

  it('flags missing values, values outside the training range, and honours per-column thresholds', async () => {
    await withDuck(async (duck) => {
      const values: (number | null)[] = normal(30, 1000);
      for (let i = 0; i < 100; i++) values[i] = null;
      for (let i = 100; i < 130; i++) values[i] = 50;
      await table(duck, 'w', { v: values, c: categories(30, 1000) });
      const window = await profileWindow(duck, 'w', profile);
      const v = checkWindow(profile, window).columns.find((c) => c.column === 'v')!;
      expect(v.nullRate).toBeCloseTo(0.1, 12);
      expect(v.outOfRange).toBeCloseTo(30 / 900, 12);
      expect(v.problems).toEqual(expect.arrayContaining(['null_rate', 'out_of_range']));
      const relaxed = checkWindow(profile, window, { v: { nullRateIncrease: 0.2, outOfRange: 0.05 } });
      expect(relaxed.columns.find((c) => c.column === 'v')!.problems).not.toContain('null_rate');
      expect(relaxed.columns.find((c) => c.column === 'v')!.problems).not.toContain('out_of_range');
    });
  });
});
