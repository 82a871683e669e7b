import { assertTrainable } from './task';

const data = (X: number[], y: number[], cols = 2) => ({
  X: Float64Array.from(X),
  rows: y.length,
  cols,
  y: Float64Array.from(y),
});

describe('assertTrainable', () => {
  it('accepts missing features (NaN) but names infinite ones with the row and the fix', () => {
    expect(() =>
      assertTrainable(data([1, Number.NaN, 2, 3], [0, 1]), 'binary', 'train', ['a', 'b'], 2),
    ).not.toThrow();
    expect(() =>
      assertTrainable(data([1, 2, Infinity, 3], [0, 1]), 'binary', 'train', ['a', 'b'], 2),
    ).toThrow(/feature "a" is infinite at row 2; clean it in the feature pipeline or add a transformation/);
  });

  it('rejects no rows, missing labels, a constant label and out-of-range classes', () => {
    expect(() => assertTrainable(data([], []), 'binary', 'train', ['a', 'b'], 2)).toThrow(
      /train split has no rows/,
    );
    expect(() =>
      assertTrainable(data([1, 2, 3, 4], [0, Number.NaN]), 'binary', 'train', ['a', 'b'], 2),
    ).toThrow(/label is missing or not finite at row 2/);
    expect(() => assertTrainable(data([1, 2, 3, 4], [1, 1]), 'binary', 'train', ['a', 'b'], 2)).toThrow(
      /the label is constant \(1\)/,
    );
    expect(() => assertTrainable(data([1, 2, 3, 4], [0, 3]), 'multiclass', 'train', ['a', 'b'], 3)).toThrow(
      /not a class index below 3/,
    );
    expect(() =>
      assertTrainable(data([1, 2, 3, 4], [0.5, 2.5]), 'regression', 'train', ['a', 'b']),
    ).not.toThrow();
  });
});
