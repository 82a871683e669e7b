import { evaluate, evaluateSlices, prAuc, rocAuc } from './metrics';

const probs = (p1: number[]) => ({
  rows: p1.length,
  classes: 2,
  probabilities: Float64Array.from(p1.flatMap((p) => [1 - p, p])),
});

describe('metrics (hand-computed)', () => {
  it('ROC AUC counts correctly ordered pairs, ties as half', () => {
    // positives 0.8, 0.4; negatives 0.6, 0.2: pairs (0.8>0.6, 0.8>0.2, 0.4<0.6, 0.4>0.2) = 3/4
    expect(rocAuc([1, 0, 1, 0], [0.8, 0.6, 0.4, 0.2])).toBeCloseTo(0.75);
    expect(rocAuc([1, 0], [0.5, 0.5])).toBeCloseTo(0.5);
    expect(rocAuc([1, 1], [0.1, 0.2])).toBeNaN();
  });

  it('average precision', () => {
    // ranking: 1 (P), 0.6 (N), 0.4 (P): AP = 1/2·1 + 1/2·2/3 = 0.8333
    expect(prAuc([1, 0, 1], [0.9, 0.6, 0.4])).toBeCloseTo(5 / 6);
  });

  it('binary classification metrics and confusion matrix', () => {
    const y = Float64Array.of(1, 1, 0, 0, 1);
    const e = evaluate('binary', y, probs([0.9, 0.4, 0.3, 0.6, 0.8]));
    // predicted 1,0,0,1,1: tp=2 fn=1 tn=1 fp=1
    expect(e.confusionMatrix).toEqual([
      [1, 1],
      [1, 2],
    ]);
    expect(e.metrics.accuracy).toBeCloseTo(0.6);
    expect(e.metrics.precision).toBeCloseTo(2 / 3);
    expect(e.metrics.recall).toBeCloseTo(2 / 3);
    expect(e.metrics.f1).toBeCloseTo(2 / 3);
    expect(e.metrics.log_loss).toBeCloseTo(
      -(Math.log(0.9) + Math.log(0.4) + Math.log(0.7) + Math.log(0.4) + Math.log(0.8)) / 5,
    );
  });

  it('regression metrics', () => {
    const e = evaluate('regression', Float64Array.of(1, 2, 3), {
      rows: 3,
      prediction: Float64Array.of(1, 3, 2),
    });
    expect(e.metrics.mae).toBeCloseTo(2 / 3);
    expect(e.metrics.rmse).toBeCloseTo(Math.sqrt(2 / 3));
    expect(e.metrics.r2).toBeCloseTo(0); // SSE 2, SST 2
  });

  it('multiclass macro metrics', () => {
    const P = Float64Array.of(0.8, 0.1, 0.1, 0.1, 0.8, 0.1, 0.1, 0.1, 0.8, 0.6, 0.3, 0.1);
    const e = evaluate('multiclass', Float64Array.of(0, 1, 2, 2), { rows: 4, classes: 3, probabilities: P });
    expect(e.metrics.accuracy).toBeCloseTo(0.75);
    expect(e.confusionMatrix![2]).toEqual([1, 0, 1]);
  });

  it('slice metrics report the largest gap', () => {
    const y = Float64Array.from({ length: 40 }, (_, i) => i % 2);
    // slice a: perfect; slice b: always wrong
    const p = Array.from({ length: 40 }, (_, i) => (i < 20 ? (i % 2 ? 0.9 : 0.1) : i % 2 ? 0.1 : 0.9));
    const s = evaluateSlices(
      'binary',
      y,
      probs(p),
      'group',
      Array.from({ length: 40 }, (_, i) => (i < 20 ? 'a' : 'b')),
      10,
    );
    expect(s.slices.a!.metrics.accuracy).toBe(1);
    expect(s.slices.b!.metrics.accuracy).toBe(0);
    expect(s.gaps.accuracy).toBe(1);
  });
});
