import {
  baseRateLogLoss,
  logLoss,
  RARE_FRAUD_COLUMNS,
  rareFraudLike,
} from '../../../test/support/imbalanced';
import { rocAuc } from '../metrics';
import { verifyOnnxModel } from '../onnx/runtime';
import { seededRandom } from '../random';
import type { Dataset } from '../task';
import { gbdt } from './gbdt';

function synthetic(
  rows: number,
  cols: number,
  label: (x: number[]) => number,
  seed = 1,
  missing = 0,
): Dataset {
  const random = seededRandom(seed);
  const X = new Float64Array(rows * cols);
  const y = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    const x = Array.from({ length: cols }, () => random() * 4 - 2);
    y[i] = label(x);
    X.set(
      x.map((v) => (random() < missing ? Number.NaN : v)),
      i * cols,
    );
  }
  return { X, rows, cols, y };
}

const names = (n: number) => Array.from({ length: n }, (_, i) => `f${i}`);

describe('gbdt trainer', () => {
  it('learns a non-linear binary function with missing values; the ONNX export reproduces it', async () => {
    const fn = ([a, b, c]: number[]) => (a! * b! > 0.3 || c! > 1.5 ? 1 : 0);
    const train = synthetic(4000, 4, fn, 1, 0.05);
    const validation = synthetic(1000, 4, fn, 2, 0.05);
    const model = await gbdt.train(
      { task: 'binary', numClasses: 2, featureNames: names(4), train, validation },
      gbdt.paramsSchema.parse({ numTrees: 60, maxDepth: 4 }),
      { seed: 3 },
    );
    const p = model.predict(validation.X, validation.rows).probabilities!;
    let correct = 0;
    for (let i = 0; i < validation.rows; i++)
      correct += (p[i * 2 + 1]! > 0.5 ? 1 : 0) === validation.y[i] ? 1 : 0;
    expect(correct / validation.rows).toBeGreaterThan(0.9);
    expect(
      await verifyOnnxModel(
        model.onnx,
        'binary',
        4,
        validation,
        model.predict(validation.X, validation.rows),
      ),
    ).toBeLessThan(1e-5);
    expect(model.history.filter((h) => h.key === 'validation_loss').length).toBeGreaterThan(0);
  });

  it('regression and multiclass; early stopping keeps the best round', async () => {
    const reg = synthetic(3000, 3, ([a, b]) => Math.sin(a!) * 3 + b! * b!);
    const regModel = await gbdt.train(
      {
        task: 'regression',
        numClasses: 0,
        featureNames: names(3),
        train: reg,
        validation: synthetic(500, 3, ([a, b]) => Math.sin(a!) * 3 + b! * b!, 9),
      },
      gbdt.paramsSchema.parse({ numTrees: 300, learningRate: 0.3, earlyStoppingRounds: 5 }),
      { seed: 1 },
    );
    expect(Number(regModel.info.rounds)).toBeLessThan(300);
    const pred = regModel.predict(Float64Array.of(1, 1, 0), 1).prediction![0]!;
    expect(Math.abs(pred - (Math.sin(1) * 3 + 1))).toBeLessThan(0.4);
    await verifyOnnxModel(regModel.onnx, 'regression', 3, reg, regModel.predict(reg.X, reg.rows));

    const multi = synthetic(3000, 2, ([a, b]) => (a! > 0.5 ? 2 : b! > 0 ? 1 : 0), 4);
    const multiModel = await gbdt.train(
      { task: 'multiclass', numClasses: 3, featureNames: names(2), train: multi },
      gbdt.paramsSchema.parse({ numTrees: 30, maxDepth: 3, subsample: 0.8, colsample: 1 }),
      { seed: 1 },
    );
    expect(multiModel.info.trees).toBe(90);
    await verifyOnnxModel(multiModel.onnx, 'multiclass', 2, multi, multiModel.predict(multi.X, multi.rows));
  });

  it('stays well below the base-rate log loss on rare positives concentrated in one region (capped Newton step)', async () => {
    // Example 1's challenger (60 trees, depth 4, learning rate 0.2) scored ROC AUC 0.15: a leaf of a
    // few hundred rows with a fifth positive has a hessian sum near 1, so its uncapped step is ~+13
    // logits and every negative in it is scored ~1. XGBoost does the same without max_delta_step.
    const train = rareFraudLike(100_000, 1);
    const validation = rareFraudLike(20_000, 2);
    const test = rareFraudLike(50_000, 3);
    const input = {
      task: 'binary' as const,
      numClasses: 2,
      featureNames: RARE_FRAUD_COLUMNS,
      train,
      validation,
    };
    const challenger = { numTrees: 60, maxDepth: 4, learningRate: 0.2 };
    const positive = (model: {
      predict: (X: Float64Array, n: number) => { probabilities?: Float64Array };
    }) => {
      const p = model.predict(test.X, test.rows).probabilities!;
      return Float64Array.from({ length: test.rows }, (_, i) => p[i * 2 + 1]!);
    };
    const base = baseRateLogLoss(test.y);

    const uncapped = await gbdt.train(input, gbdt.paramsSchema.parse({ ...challenger, maxDeltaStep: 0 }), {
      seed: 1,
    });
    // The data does provoke the overshoot: the first uncapped tree is worse than predicting the rate.
    expect(uncapped.history.find((h) => h.key === 'train_loss')!.value).toBeGreaterThan(
      2 * baseRateLogLoss(train.y),
    );

    const model = await gbdt.train(input, gbdt.paramsSchema.parse(challenger), { seed: 1 });
    const p = positive(model);
    expect(logLoss(test.y, p)).toBeLessThan(0.5 * base);
    expect(rocAuc(test.y, p)).toBeGreaterThan(0.97);
    expect(Number(model.info.rounds)).toBeGreaterThan(10);
  });

  it('trains the same model on one thread and on helper threads (exact histogram sums)', async () => {
    // Helpers run the compiled gbdt-worker.js (npm run build); without it the run falls back to
    // one thread and this compares one thread with itself.
    const data = synthetic(6000, 5, ([a, b, c]) => (a! * b! > 0.2 ? 2 : c! > 0 ? 1 : 0), 5, 0.03);
    const validation = synthetic(1000, 5, ([a, b, c]) => (a! * b! > 0.2 ? 2 : c! > 0 ? 1 : 0), 6, 0.03);
    const input = {
      task: 'multiclass' as const,
      numClasses: 3,
      featureNames: names(5),
      train: data,
      validation,
    };
    const params = { numTrees: 12, maxDepth: 5, subsample: 0.7, colsample: 0.8, earlyStoppingRounds: 3 };
    const one = await gbdt.train(input, gbdt.paramsSchema.parse({ ...params, threads: 1 }), { seed: 4 });
    const three = await gbdt.train(input, gbdt.paramsSchema.parse({ ...params, threads: 3 }), { seed: 4 });
    expect(Buffer.from(three.onnx).equals(Buffer.from(one.onnx))).toBe(true);
    expect(three.history).toEqual(one.history);
    const reg = synthetic(5000, 3, ([a, b]) => Math.sin(a!) * 3 + b!);
    const regInput = { task: 'regression' as const, numClasses: 0, featureNames: names(3), train: reg };
    const [r1, r2] = await Promise.all(
      [1, 2].map((threads) =>
        gbdt.train(regInput, gbdt.paramsSchema.parse({ numTrees: 10, threads }), { seed: 2 }),
      ),
    );
    expect(Buffer.from(r2!.onnx).equals(Buffer.from(r1!.onnx))).toBe(true);
  });

  it('is reproducible for a seed and validates hyperparameters', async () => {
    const data = synthetic(500, 3, ([a]) => (a! > 0 ? 1 : 0));
    const params = gbdt.paramsSchema.parse({ numTrees: 5, subsample: 0.5, colsample: 0.7 });
    const a = await gbdt.train(
      { task: 'binary', numClasses: 2, featureNames: names(3), train: data },
      params,
      { seed: 7 },
    );
    const b = await gbdt.train(
      { task: 'binary', numClasses: 2, featureNames: names(3), train: data },
      params,
      { seed: 7 },
    );
    expect(Buffer.from(a.onnx).equals(Buffer.from(b.onnx))).toBe(true);
    expect(() => gbdt.paramsSchema.parse({ maxDepth: 0 })).toThrow();
    expect(() => gbdt.paramsSchema.parse({ trees: 10 })).toThrow();
    expect(() => gbdt.paramsSchema.parse({ maxDeltaStep: -1 })).toThrow();
  });
});
