import type { Task } from '../task';
import { ElementType, type NodeSpec, type TensorSpec, type ValueInfoSpec } from './proto';

/** The input every exported model takes. */
export const FEATURES_INPUT = 'features';

/** Graph inputs/outputs of a model for a task. */
export function modelInterface(
  task: Task,
  cols: number,
  classes: number,
): { inputs: ValueInfoSpec[]; outputs: ValueInfoSpec[] } {
  const inputs: ValueInfoSpec[] = [{ name: FEATURES_INPUT, type: ElementType.FLOAT, shape: ['N', cols] }];
  if (task === 'regression')
    return { inputs, outputs: [{ name: 'prediction', type: ElementType.FLOAT, shape: ['N'] }] };
  return {
    inputs,
    outputs: [
      { name: 'label', type: ElementType.INT64, shape: ['N'] },
      { name: 'probabilities', type: ElementType.FLOAT, shape: ['N', classes] },
    ],
  };
}

/**
 * Nodes turning raw scores into the standard outputs. `scores` is [N, K]: K = 1 for binary
 * (a logit) and regression, K = classes for multiclass (logits).
 */
export function outputHead(task: Task, scores: string): { nodes: NodeSpec[]; initializers: TensorSpec[] } {
  if (task === 'regression')
    return {
      nodes: [{ opType: 'Reshape', inputs: [scores, 'head_flat_shape'], outputs: ['prediction'] }],
      initializers: [{ name: 'head_flat_shape', dims: [1], type: ElementType.INT64, data: [-1] }],
    };
  const nodes: NodeSpec[] = [];
  const initializers: TensorSpec[] = [];
  if (task === 'binary') {
    nodes.push(
      { opType: 'Sigmoid', inputs: [scores], outputs: ['head_p1'] },
      { opType: 'Sub', inputs: ['head_one', 'head_p1'], outputs: ['head_p0'] },
      {
        opType: 'Concat',
        inputs: ['head_p0', 'head_p1'],
        outputs: ['probabilities'],
        attributes: { axis: { kind: 'int', value: 1 } },
      },
    );
    initializers.push({ name: 'head_one', dims: [1], type: ElementType.FLOAT, data: [1] });
  } else {
    nodes.push({
      opType: 'Softmax',
      inputs: [scores],
      outputs: ['probabilities'],
      attributes: { axis: { kind: 'int', value: 1 } },
    });
  }
  nodes.push({
    opType: 'ArgMax',
    inputs: ['probabilities'],
    outputs: ['label'],
    attributes: { axis: { kind: 'int', value: 1 }, keepdims: { kind: 'int', value: 0 } },
  });
  return { nodes, initializers };
}

/** Applies the same head in TypeScript to raw scores (row-major [rows, K]). */
export function headInTs(
  task: Task,
  scores: Float64Array,
  rows: number,
  k: number,
): { prediction?: Float64Array; probabilities?: Float64Array; classes?: number } {
  if (task === 'regression') return { prediction: scores };
  if (task === 'binary') {
    const p = new Float64Array(rows * 2);
    for (let i = 0; i < rows; i++) {
      const p1 = 1 / (1 + Math.exp(-scores[i]!));
      p[i * 2] = 1 - p1;
      p[i * 2 + 1] = p1;
    }
    return { probabilities: p, classes: 2 };
  }
  const p = new Float64Array(rows * k);
  for (let i = 0; i < rows; i++) {
    let max = -Infinity;
    for (let c = 0; c < k; c++) max = Math.max(max, scores[i * k + c]!);
    let sum = 0;
    for (let c = 0; c < k; c++) sum += p[i * k + c] = Math.exp(scores[i * k + c]! - max);
    for (let c = 0; c < k; c++) p[i * k + c]! /= sum;
  }
  return { probabilities: p, classes: k };
}
