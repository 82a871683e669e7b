import { verifyOnnxModel } from '../onnx/runtime';
import { seededRandom } from '../random';
import type { Dataset } from '../task';
import { linearRegression, logisticRegression } from './linear';

function synthetic(rows: number, cols: number, label: (x: number[]) => number, seed = 1): Dataset {
  const random = seededRandom(seed);
  const X = new Float64Array(rows * cols);
  const y = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    const x = Array.from({ length: cols }, () => random() * 4 - 2);
    X.set(x, i * cols);
    y[i] = label(x);
  }
  return { X, rows, cols, y };
}

describe('linear trainers', () => {
  it('ridge regression recovers a linear function exactly and its ONNX reproduces it', async () => {
    const train = synthetic(500, 3, ([a, b, c]) => 2 * a! - 3 * b! + 0.5 * c! + 1);
    const model = await linearRegression.train(
      { task: 'regression', numClasses: 0, featureNames: ['a', 'b', 'c'], train },
      linearRegression.paramsSchema.parse({}),
      { seed: 1 },
    );
    const p = model.predict(Float64Array.of(1, 1, 1), 1);
    expect(p.prediction![0]).toBeCloseTo(0.5, 4);
    const diff = await verifyOnnxModel(
      model.onnx,
      'regression',
      3,
      train,
      model.predict(train.X, train.rows),
    );
    expect(diff).toBeLessThan(1e-5);
  });

  it('logistic regression separates classes (binary and multiclass); ONNX probabilities match', async () => {
    const binary = synthetic(800, 2, ([a, b]) => (a! + b! > 0 ? 1 : 0));
    const model = await logisticRegression.train(
      { task: 'binary', numClasses: 2, featureNames: ['a', 'b'], train: binary },
      logisticRegression.paramsSchema.parse({ maxIterations: 300 }),
      { seed: 1 },
    );
    const p = model.predict(binary.X, binary.rows).probabilities!;
    let correct = 0;
    for (let i = 0; i < binary.rows; i++) correct += (p[i * 2 + 1]! > 0.5 ? 1 : 0) === binary.y[i] ? 1 : 0;
    expect(correct / binary.rows).toBeGreaterThan(0.97);
    await verifyOnnxModel(model.onnx, 'binary', 2, binary, model.predict(binary.X, binary.rows));

    const multi = synthetic(900, 2, ([a, b]) => (a! > 0.7 ? 2 : b! > 0 ? 1 : 0), 2);
    const softmax = await logisticRegression.train(
      { task: 'multiclass', numClasses: 3, featureNames: ['a', 'b'], train: multi },
      logisticRegression.paramsSchema.parse({ maxIterations: 400 }),
      { seed: 1 },
    );
    const q = softmax.predict(multi.X, multi.rows).probabilities!;
    let hits = 0;
    for (let i = 0; i < multi.rows; i++) {
      const row = [q[i * 3]!, q[i * 3 + 1]!, q[i * 3 + 2]!];
      hits += row.indexOf(Math.max(...row)) === multi.y[i] ? 1 : 0;
    }
    expect(hits / multi.rows).toBeGreaterThan(0.9);
    await verifyOnnxModel(softmax.onnx, 'multiclass', 2, multi, softmax.predict(multi.X, multi.rows));
  });

  it('rejects missing values and unknown hyperparameters with the fix', async () => {
    const data = synthetic(10, 2, ([a]) => (a! > 0 ? 1 : 0));
    data.X[3] = Number.NaN;
    await expect(
      logisticRegression.train(
        { task: 'binary', numClasses: 2, featureNames: ['a', 'b'], train: data },
        logisticRegression.paramsSchema.parse({}),
        { seed: 1 },
      ),
    ).rejects.toThrow(/feature "b" is missing at row 2; declare an impute transformation/);
    expect(() => logisticRegression.paramsSchema.parse({ learning_rate: 1 })).toThrow();
  });
});
