import {
  applyStep,
  encodeRow,
  fitTransformations,
  parseSteps,
  passthrough,
  UnknownCategoryError,
  type RawValue,
} from './model-transforms';

function fit(declared: Record<string, unknown>, data: Record<string, RawValue[]>) {
  return fitTransformations(Object.keys(data), declared, (f) => data[f]!);
}

describe('model-dependent transformations', () => {
  it('standard scaler uses the population mean and std; constant columns keep std 1', () => {
    const f = fit(
      { x: { kind: 'standard_scaler' }, c: { kind: 'standard_scaler' } },
      { x: [1, 2, 3, null], c: [5, 5] },
    );
    expect(f.steps.x).toEqual([{ kind: 'standard_scaler', mean: 2, std: Math.sqrt(2 / 3) }]);
    expect(encodeRow(f, { x: 3, c: 5 })).toEqual([1 / Math.sqrt(2 / 3), 0]);
    expect(encodeRow(f, { x: null, c: 5 })[0]).toBeNaN();
  });

  it('min-max and robust scalers', () => {
    const f = fit(
      { a: { kind: 'min_max_scaler' }, b: { kind: 'robust_scaler' } },
      { a: [10, 20, 30], b: [1, 2, 3, 4, 5] },
    );
    expect(f.steps.b).toEqual([{ kind: 'robust_scaler', median: 3, iqr: 2 }]);
    expect(encodeRow(f, { a: 25, b: 7 })).toEqual([0.75, 2]);
  });

  it('one-hot sorts categories, expands outputs, and applies the unknown policy', () => {
    const f = fit({ cat: { kind: 'one_hot' } }, { cat: ['b', 'a', 'b', null] });
    expect(f.outputs).toEqual(['cat=a', 'cat=b']);
    expect(encodeRow(f, { cat: 'b' })).toEqual([0, 1]);
    expect(encodeRow(f, { cat: 'zzz' })).toEqual([0, 0]);
    const strict = fit({ cat: { kind: 'one_hot', unknown: 'error' } }, { cat: ['a'] });
    expect(() => encodeRow(strict, { cat: 'x' })).toThrow(UnknownCategoryError);
    expect(() => encodeRow(strict, { cat: 'x' })).toThrow(/category "x" was not seen in the training split/);
  });

  it('one-hot keeps the most frequent categories only', () => {
    const f = fit({ c: { kind: 'one_hot', maxCategories: 2 } }, { c: ['x', 'y', 'y', 'z', 'z', 'z'] });
    expect(f.outputs).toEqual(['c=y', 'c=z']);
  });

  it('label encoding maps sorted categories to indexes, unknown to -1 or an error', () => {
    const f = fit({ c: { kind: 'label_encoder' } }, { c: ['m', 'f', 'm'] });
    expect(encodeRow(f, { c: 'm' })).toEqual([1]);
    expect(encodeRow(f, { c: 'other' })).toEqual([-1]);
    const strict = fit({ c: { kind: 'label_encoder', unknown: 'error' } }, { c: ['m'] });
    expect(() => encodeRow(strict, { c: 'other' })).toThrow(/unknown policy: error/);
  });

  it('imputers fill nulls with mean, median, mode or a constant; chains fit on the previous output', () => {
    const f = fit(
      {
        mean: { kind: 'impute', strategy: 'mean' },
        median: [{ kind: 'impute', strategy: 'median' }, { kind: 'standard_scaler' }],
        mode: { kind: 'impute', strategy: 'mode' },
        constant: [{ kind: 'impute', strategy: 'constant', value: 'none' }, { kind: 'label_encoder' }],
      },
      { mean: [1, 2, null], median: [1, 2, 10, null], mode: [3, 4, 4, null], constant: ['x', null] },
    );
    expect(f.steps.mean).toEqual([{ kind: 'impute', value: 1.5 }]);
    // The scaler saw the imputed value (2) for the null: mean of [1, 2, 10, 2].
    expect(f.steps.median![1]).toMatchObject({ kind: 'standard_scaler', mean: 3.75 });
    expect(f.steps.mode).toEqual([{ kind: 'impute', value: 4 }]);
    expect(f.steps.constant![1]).toMatchObject({ categories: ['none', 'x'] });
    const row = encodeRow(f, { mean: null, median: null, mode: null, constant: null });
    expect(row[0]).toBe(1.5);
    expect(row[2]).toBe(4);
    expect(row[3]).toBe(0);
  });

  it('log transform is ln(x + offset); out-of-domain values become missing', () => {
    const step = { kind: 'log' as const, offset: 1 };
    expect(applyStep('x', step, Math.E - 1)).toBeCloseTo(1);
    expect(applyStep('x', step, -1)).toBeNull();
  });

  it('binning with explicit boundaries or fitted quantiles', () => {
    const f = fit(
      { a: { kind: 'binning', boundaries: [0, 10] }, q: { kind: 'binning', bins: 4 } },
      { a: [1], q: [1, 2, 3, 4, 5, 6, 7, 8, 9] },
    );
    expect(encodeRow(f, { a: -5, q: 1 })).toEqual([0, 0]);
    expect(encodeRow(f, { a: 10, q: 9 })).toEqual([2, 3]);
    expect(f.steps.q).toEqual([{ kind: 'binning', boundaries: [3, 5, 7] }]);
  });

  it('passthrough encodes numbers, booleans and bigints; text without an encoder names the fix', () => {
    const f = passthrough(['n', 'b', 'big', 's']);
    expect(encodeRow(f, { n: 1.5, b: true, big: 7n, s: '2' })).toEqual([1.5, 1, 7, 2]);
    expect(() => encodeRow(f, { n: 1, b: true, big: 1n, s: 'visa' })).toThrow(
      /declare a one_hot or label_encoder transformation/,
    );
  });

  it('rejects malformed declarations with the feature and step named', () => {
    expect(() => parseSteps('amount', { kind: 'zscore' })).toThrow(/transformation 1 of feature "amount"/);
    expect(() => parseSteps('amount', [{ kind: 'impute', strategy: 'constant' }])).toThrow(/needs a value/);
    expect(() => parseSteps('amount', { kind: 'binning' })).toThrow(/needs boundaries or bins/);
    expect(() => parseSteps('amount', { kind: 'binning', boundaries: [2, 1] })).toThrow(/strictly ascending/);
  });
});
