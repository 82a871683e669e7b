// Export of grown GBDT trees as ONNX: one ai.onnx.ml TreeEnsembleRegressor (opset 3) summing the
// trees per output column, then the task's standard head (Sigmoid/Softmax/ArgMax).
import { modelInterface, outputHead } from '../onnx/heads';
import { encodeModel } from '../onnx/proto';
import type { Task } from '../task';

/** One grown tree, as predict and the export read it. */
export interface Tree {
  /** Per node: feature (-1 = leaf), threshold (float32), left, right, value (leaf output, float32), split bin. */
  feature: number[];
  threshold: number[];
  bin: number[];
  left: number[];
  right: number[];
  value: number[];
  /** Output column (class) the tree adds to. */
  target: number;
}

/**
 * The ONNX model of `trees` over `cols` float features: scores start at `base` per output column,
 * missing values go left at every split (as in training).
 */
export function exportTrees(
  task: Task,
  cols: number,
  K: number,
  classes: number,
  base: Float64Array,
  trees: readonly Tree[],
): Uint8Array {
  const a = {
    treeIds: [] as number[],
    nodeIds: [] as number[],
    featureIds: [] as number[],
    modes: [] as string[],
    values: [] as number[],
    trueIds: [] as number[],
    falseIds: [] as number[],
    missingTrue: [] as number[],
    targetTree: [] as number[],
    targetNode: [] as number[],
    targetIds: [] as number[],
    targetWeights: [] as number[],
  };
  trees.forEach((tree, t) => {
    for (let n = 0; n < tree.feature.length; n++) {
      const leaf = tree.feature[n]! < 0;
      a.treeIds.push(t);
      a.nodeIds.push(n);
      a.featureIds.push(leaf ? 0 : tree.feature[n]!);
      a.modes.push(leaf ? 'LEAF' : 'BRANCH_LEQ');
      a.values.push(leaf ? 0 : tree.threshold[n]!);
      a.trueIds.push(leaf ? 0 : tree.left[n]!);
      a.falseIds.push(leaf ? 0 : tree.right[n]!);
      a.missingTrue.push(leaf ? 0 : 1);
      if (leaf) {
        a.targetTree.push(t);
        a.targetNode.push(n);
        a.targetIds.push(tree.target);
        a.targetWeights.push(tree.value[n]!);
      }
    }
  });
  const io = modelInterface(task, cols, task === 'binary' ? 2 : classes);
  const head = outputHead(task, 'scores');
  return encodeModel({
    graphName: 'gbdt',
    inputs: io.inputs,
    outputs: io.outputs,
    initializers: head.initializers,
    nodes: [
      {
        opType: 'TreeEnsembleRegressor',
        domain: 'ai.onnx.ml',
        inputs: ['features'],
        outputs: ['scores'],
        attributes: {
          n_targets: { kind: 'int', value: K },
          aggregate_function: { kind: 'string', value: 'SUM' },
          post_transform: { kind: 'string', value: 'NONE' },
          base_values: { kind: 'floats', value: base },
          nodes_treeids: { kind: 'ints', value: a.treeIds },
          nodes_nodeids: { kind: 'ints', value: a.nodeIds },
          nodes_featureids: { kind: 'ints', value: a.featureIds },
          nodes_modes: { kind: 'strings', value: a.modes },
          nodes_values: { kind: 'floats', value: a.values },
          nodes_truenodeids: { kind: 'ints', value: a.trueIds },
          nodes_falsenodeids: { kind: 'ints', value: a.falseIds },
          nodes_missing_value_tracks_true: { kind: 'ints', value: a.missingTrue },
          target_treeids: { kind: 'ints', value: a.targetTree },
          target_nodeids: { kind: 'ints', value: a.targetNode },
          target_ids: { kind: 'ints', value: a.targetIds },
          target_weights: { kind: 'floats', value: a.targetWeights },
        },
      },
      ...head.nodes,
    ],
    opsets: { '': 17, 'ai.onnx.ml': 3 },
  });
}
