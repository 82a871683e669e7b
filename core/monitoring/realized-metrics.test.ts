import { realizedMetrics } from './realized-metrics';

// Live windows often hold no fraud at all: a metric whose denominator is empty must be absent, not
// 0 — a "recall 0" on a day without positives would fire a performance alert for nothing.
describe('realizedMetrics', () => {
  const probabilities = (p: readonly number[]) => Float64Array.from(p.flatMap((x) => [1 - x, x]));

  it('leaves out recall, F1 and the AUCs when the labels hold no positive', () => {
    const m = realizedMetrics(
      'binary',
      2,
      Float64Array.from([0, 0, 0]),
      probabilities([0.1, 0.7, 0.2]),
      null,
    );
    expect(m.recall).toBeUndefined();
    expect(m.f1).toBeUndefined();
    expect(m.roc_auc).toBeUndefined();
    expect(m.pr_auc).toBeUndefined();
    expect(m.precision).toBe(0);
    expect(m.accuracy).toBeCloseTo(2 / 3, 12);
  });

  it('leaves out precision when nothing was predicted positive, and keeps a real recall of 0', () => {
    const m = realizedMetrics(
      'binary',
      2,
      Float64Array.from([1, 0, 0]),
      probabilities([0.1, 0.2, 0.3]),
      null,
    );
    expect(m.precision).toBeUndefined();
    expect(m.recall).toBe(0);
    expect(m.roc_auc).toBe(0);
  });

  it('reports every metric when both classes are present', () => {
    const m = realizedMetrics(
      'binary',
      2,
      Float64Array.from([1, 0, 1, 0]),
      probabilities([0.9, 0.2, 0.4, 0.6]),
      null,
    );
    expect(m).toMatchObject({ precision: 0.5, recall: 0.5, f1: 0.5, roc_auc: 0.75 });
  });
});
