import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { adaptToPlatformInterface } from './adapt';
import { ElementType, encodeModel, type ModelSpec } from './proto';
import { readOnnxModel } from './reader';

const run = async (onnx: Uint8Array, features: number[][]) => {
  const session = await ort.InferenceSession.create(onnx);
  try {
    const cols = features[0]!.length;
    const result = await session.run({
      features: new ort.Tensor('float32', Float32Array.from(features.flat()), [features.length, cols]),
    });
    return {
      outputs: session.outputNames,
      label: result.label ? Array.from(result.label.data as BigInt64Array, Number) : undefined,
      probabilities: result.probabilities ? Array.from(result.probabilities.data as Float32Array) : undefined,
      prediction: result.prediction ? Array.from(result.prediction.data as Float32Array) : undefined,
    };
  } finally {
    await session.release();
  }
};

/** A torch.onnx-like classifier: input "input" float [N, 3], one Gemm to `classes` logits named "logits". */
const linearLogits = (classes: number, weights: number[]): ModelSpec => ({
  graphName: 'torch_jit',
  producer: 'pytorch',
  nodes: [
    {
      opType: 'Gemm',
      inputs: ['input', 'W', 'B'],
      outputs: ['logits'],
      attributes: { transB: { kind: 'int', value: 1 } },
    },
  ],
  initializers: [
    { name: 'W', dims: [classes, 3], type: ElementType.FLOAT, data: weights },
    { name: 'B', dims: [classes], type: ElementType.FLOAT, data: new Array<number>(classes).fill(0) },
  ],
  inputs: [{ name: 'input', type: ElementType.FLOAT, shape: ['batch', 3] }],
  outputs: [{ name: 'logits', type: ElementType.FLOAT, shape: ['batch', classes] }],
  opsets: { '': 17 },
});

describe('adaptToPlatformInterface: foreign ONNX models behind the platform interface', () => {
  it('turns multiclass logits into softmax probabilities and an argmax label', async () => {
    const source = encodeModel(linearLogits(3, [1, 0, 0, 0, 1, 0, 0, 0, 1]));
    const adapted = adaptToPlatformInterface(
      source,
      { task: 'multiclass', featureNames: ['a', 'b', 'c'], classes: 3 },
      { scores: 'logits' },
    );
    expect(adapted).toMatchObject({ inputs: { input: ['a', 'b', 'c'] }, output: 'logits', outputWidth: 3 });
    const { outputs, probabilities, label } = await run(adapted.onnx, [
      [0, 0, 2],
      [3, 0, 0],
    ]);
    expect([...outputs].sort()).toEqual(['label', 'probabilities']);
    const e = [Math.exp(0), Math.exp(0), Math.exp(2)];
    const sum = e[0]! + e[1]! + e[2]!;
    expect(probabilities!.slice(0, 3).map((p) => Number(p.toFixed(6)))).toEqual(
      e.map((v) => Number((v / sum).toFixed(6))),
    );
    expect(label).toEqual([2, 0]);
  });

  it("reproduces torch's softmax on a real torch.onnx export (dynamo exporter, symbolic batch)", async () => {
    // Made by test/fixtures/torch/export.py with torch 2.13 (not installed in CI: the file is the fixture).
    const dir = path.resolve(__dirname, '../../../test/fixtures/torch');
    const expected = JSON.parse(fs.readFileSync(path.join(dir, 'mlp-logits.json'), 'utf8')) as {
      X: number[][];
      p: number[][];
    };
    const source = new Uint8Array(fs.readFileSync(path.join(dir, 'mlp-logits.onnx')));
    expect(readOnnxModel(source).producerName).toBe('pytorch');
    const adapted = adaptToPlatformInterface(
      source,
      { task: 'multiclass', featureNames: ['a', 'b', 'c', 'd'], classes: 3 },
      { scores: 'logits' },
    );
    const { probabilities } = await run(adapted.onnx, expected.X);
    expected.p.flat().forEach((p, i) => expect(Math.abs(probabilities![i]! - p)).toBeLessThan(1e-5));
  });

  it('makes two probability columns from one positive-class logit (sigmoid)', async () => {
    const source = encodeModel(linearLogits(1, [1, -1, 0]));
    const adapted = adaptToPlatformInterface(
      source,
      { task: 'binary', featureNames: ['a', 'b', 'c'], classes: 2 },
      { scores: 'logits' },
    );
    const { probabilities, label } = await run(adapted.onnx, [[2, 0, 0]]);
    const p1 = 1 / (1 + Math.exp(-2));
    expect(probabilities![0]).toBeCloseTo(1 - p1, 6);
    expect(probabilities![1]).toBeCloseTo(p1, 6);
    expect(label).toEqual([1]);
  });

  it('feeds one input per feature by name (in any order) and casts integer inputs and double outputs', async () => {
    // Regression: y = 2a + 10b, with b an int64 input; the model answers in double [N, 1].
    const source = encodeModel({
      graphName: 'per_column',
      nodes: [
        {
          opType: 'Cast',
          inputs: ['b'],
          outputs: ['b_float'],
          attributes: { to: { kind: 'int', value: ElementType.FLOAT } },
        },
        {
          opType: 'Concat',
          inputs: ['a', 'b_float'],
          outputs: ['ab'],
          attributes: { axis: { kind: 'int', value: 1 } },
        },
        { opType: 'MatMul', inputs: ['ab', 'W'], outputs: ['y'] },
        {
          opType: 'Cast',
          inputs: ['y'],
          outputs: ['y_double'],
          attributes: { to: { kind: 'int', value: ElementType.DOUBLE } },
        },
      ],
      initializers: [{ name: 'W', dims: [2, 1], type: ElementType.FLOAT, data: [2, 10] }],
      inputs: [
        { name: 'b', type: ElementType.INT64, shape: ['N', 1] },
        { name: 'a', type: ElementType.FLOAT, shape: ['N', 1] },
      ],
      outputs: [{ name: 'y_double', type: ElementType.DOUBLE, shape: ['N', 1] }],
      opsets: { '': 13 },
    });
    const adapted = adaptToPlatformInterface(source, {
      task: 'regression',
      featureNames: ['a', 'unused', 'b'],
      classes: 0,
    });
    expect(adapted.inputs).toEqual({ b: ['b'], a: ['a'] });
    const { prediction, outputs } = await run(adapted.onnx, [
      [1.5, 99, 2],
      [0, 99, 1],
    ]);
    expect(outputs).toEqual(['prediction']);
    expect(prediction).toEqual([23, 10]);
  });

  it("renames the model's own tensors that use platform names, and reads the ZipMap-free interface back", () => {
    const source = encodeModel({
      graphName: 'collide',
      nodes: [
        { opType: 'Identity', inputs: ['x'], outputs: ['features'] },
        {
          opType: 'Softmax',
          inputs: ['features'],
          outputs: ['label'],
          attributes: { axis: { kind: 'int', value: 1 } },
        },
      ],
      initializers: [],
      inputs: [{ name: 'x', type: ElementType.FLOAT, shape: ['N', 2] }],
      outputs: [{ name: 'label', type: ElementType.FLOAT, shape: ['N', 2] }],
      opsets: { '': 13 },
    });
    const adapted = adaptToPlatformInterface(
      source,
      { task: 'binary', featureNames: ['p', 'q'], classes: 2 },
      { output: 'label' },
    );
    expect(adapted.renamed).toEqual({ features: 'features_model', label: 'label_model' });
    const info = readOnnxModel(adapted.onnx);
    expect(info.inputs.map((i) => i.name)).toEqual(['features']);
    expect(info.outputs.map((o) => o.name)).toEqual(['label', 'probabilities']);
    expect(info.nodes.flatMap((n) => n.outputs)).toEqual(
      expect.arrayContaining(['x', 'features_model', 'label_model', 'probabilities', 'label']),
    );
  });

  it('handles tensors named like Object.prototype keys and refuses wide regression outputs', async () => {
    const source = encodeModel({
      graphName: 'odd_names',
      nodes: [
        { opType: 'Identity', inputs: ['x'], outputs: ['constructor'] },
        {
          opType: 'Softmax',
          inputs: ['constructor'],
          outputs: ['toString'],
          attributes: { axis: { kind: 'int', value: 1 } },
        },
      ],
      initializers: [],
      inputs: [{ name: 'x', type: ElementType.FLOAT, shape: ['N', 2] }],
      outputs: [{ name: 'toString', type: ElementType.FLOAT, shape: ['N', 2] }],
      opsets: { '': 13 },
    });
    const adapted = adaptToPlatformInterface(source, {
      task: 'binary',
      featureNames: ['p', 'q'],
      classes: 2,
    });
    expect(adapted.renamed).toEqual({});
    const { probabilities } = await run(adapted.onnx, [[0, 0]]);
    expect(probabilities).toEqual([0.5, 0.5]);
    expect(() =>
      adaptToPlatformInterface(source, { task: 'regression', featureNames: ['p', 'q'], classes: 0 }),
    ).toThrow(/output toString has 2 columns; a regression model must return one value per row/);
  });

  it('refuses what cannot be mapped, naming the inputs, outputs and the fix', () => {
    const twoOutputs: ModelSpec = {
      ...linearLogits(2, [1, 0, 0, 0, 1, 0]),
      nodes: [
        ...linearLogits(2, [1, 0, 0, 0, 1, 0]).nodes,
        { opType: 'Identity', inputs: ['logits'], outputs: ['scores'] },
      ],
      outputs: [
        { name: 'logits', type: ElementType.FLOAT, shape: ['batch', 2] },
        { name: 'scores', type: ElementType.FLOAT, shape: ['batch', 2] },
      ],
    };
    const target = { task: 'binary', featureNames: ['a', 'b', 'c'], classes: 2 } as const;
    expect(() => adaptToPlatformInterface(encodeModel(twoOutputs), target)).toThrow(
      /cannot tell which output holds the class probabilities \(outputs: logits: float\[batch,2\]; scores: float\[batch,2\]\); name it with --output/,
    );
    expect(() =>
      adaptToPlatformInterface(encodeModel(linearLogits(2, [1, 0, 0, 0, 1, 0])), {
        ...target,
        featureNames: ['a', 'b'],
      }),
    ).toThrow(/model input "input" takes 3 column\(s\) but is mapped to 2 feature\(s\)/);
    expect(() =>
      adaptToPlatformInterface(encodeModel(linearLogits(3, new Array(9).fill(0))), target),
    ).toThrow(/output logits has 3 column\(s\) but the training dataset's label has 2 classes/);
    const strings: ModelSpec = {
      ...linearLogits(2, [1, 0, 0, 0, 1, 0]),
      inputs: [{ name: 'input', type: 8 as typeof ElementType.FLOAT, shape: ['N', 3] }],
    };
    expect(() => adaptToPlatformInterface(encodeModel(strings), target)).toThrow(
      /model input "input" is string\[N,3\]; imported models must take numeric tensors/,
    );
    expect(() =>
      adaptToPlatformInterface(encodeModel(linearLogits(2, [1, 0, 0, 0, 1, 0])), target, {
        inputs: { x: ['a'] },
      }),
    ).toThrow(/--input names x, which the model does not take \(inputs: input\)/);
  });
});
