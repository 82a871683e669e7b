import { verifyOnnxModel } from '../onnx/runtime';
import { seededRandom } from '../random';
import type { Dataset } from '../task';
import { mlp } from './mlp';

function synthetic(rows: number, label: (a: number, b: number) => number, seed: number): Dataset {
  const random = seededRandom(seed);
  const X = new Float64Array(rows * 2);
  const y = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    const a = random() * 2 - 1;
    const b = random() * 2 - 1;
    X[i * 2] = a;
    X[i * 2 + 1] = b;
    y[i] = label(a, b);
  }
  return { X, rows, cols: 2, y };
}

describe('mlp trainer', () => {
  it('learns XOR (not linearly separable); the ONNX export reproduces its probabilities', async () => {
    const xor = (a: number, b: number) => (a * b > 0 ? 1 : 0);
    const train = synthetic(2000, xor, 1);
    const validation = synthetic(500, xor, 2);
    const model = await mlp.train(
      { task: 'binary', numClasses: 2, featureNames: ['a', 'b'], train, validation },
      mlp.paramsSchema.parse({ hidden: [16, 8], epochs: 60, learningRate: 0.01 }),
      { seed: 5 },
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
        2,
        validation,
        model.predict(validation.X, validation.rows),
      ),
    ).toBeLessThan(1e-5);
  });

  it('regression and multiclass exports load and match', async () => {
    const reg = synthetic(800, (a, b) => a * a + b, 3);
    const regModel = await mlp.train(
      { task: 'regression', numClasses: 0, featureNames: ['a', 'b'], train: reg },
      mlp.paramsSchema.parse({ epochs: 30, learningRate: 0.01 }),
      { seed: 1 },
    );
    await verifyOnnxModel(regModel.onnx, 'regression', 2, reg, regModel.predict(reg.X, reg.rows));
    const multi = synthetic(800, (a, b) => (a > 0.3 ? 2 : b > 0 ? 1 : 0), 4);
    const multiModel = await mlp.train(
      { task: 'multiclass', numClasses: 3, featureNames: ['a', 'b'], train: multi },
      mlp.paramsSchema.parse({ epochs: 10 }),
      { seed: 1 },
    );
    await verifyOnnxModel(multiModel.onnx, 'multiclass', 2, multi, multiModel.predict(multi.X, multi.rows));
  });
});
