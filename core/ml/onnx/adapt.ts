/**
 * Puts an ONNX model exported by another tool behind the interface every platform model has (input
 * `features` float [N, D]; outputs `label` int64 [N] + `probabilities` float [N, C], or `prediction`
 * float [N]), so imported models are served, batch-scored, monitored and compared by the same code
 * as trained ones. The original graph is kept as it is; adapter nodes are added around it:
 *
 * - inputs: `features` is fed to the model's input(s) — whole, or column by column (Gather) for a
 *   model with one input per feature — and cast when the model takes double or integer tensors;
 * - outputs: ZipMap nodes (skl2onnx's list-of-dicts probabilities, which onnxruntime-node cannot
 *   return) are dropped and the tensor they consumed is used; probabilities are cast to float,
 *   logits go through Sigmoid/Softmax, a single positive-class column becomes two; `label` is the
 *   argmax of the probabilities, exactly as for trained models.
 */
import { ValidationError } from '../../errors';
import type { Task } from '../task';
import {
  ElementType,
  Writer,
  writeNode,
  writeTensorSpec,
  writeValueInfoSpec,
  type NodeSpec,
  type TensorSpec,
  type ValueInfoSpec,
} from './proto';
import {
  decodeFields,
  describeType,
  readOnnxModel,
  text,
  type OnnxModelInfo,
  type OnnxValueInfo,
  type WireField,
} from './reader';

/** How an imported model's inputs and outputs map onto the feature view (all optional: inferred). */
export interface InterfaceMapping {
  /** Model input name → the view's features it takes, in order. */
  readonly inputs?: Readonly<Record<string, readonly string[]>>;
  /** The tensor holding class probabilities/scores (classification) or the prediction (regression). */
  readonly output?: string;
  /** What a classifier's output holds. @default 'probabilities' */
  readonly scores?: 'probabilities' | 'logits';
}

/** What the model must become. */
export interface TargetInterface {
  readonly task: Task;
  /** The view's transformed features, in the order of the `features` input. */
  readonly featureNames: readonly string[];
  /** Number of classes (classification). */
  readonly classes: number;
  /** The output tensor's width when its shape does not say (found by running the model). */
  readonly outputWidth?: number;
  /**
   * Build a probe instead: the output tensor, cast to float, as the only output `probe` — run it to
   * learn the output's width when the model does not declare it.
   */
  readonly probe?: boolean;
}

/** The adapted model and how it was mapped. */
export interface AdaptedModel {
  readonly onnx: Uint8Array;
  readonly inputs: Readonly<Record<string, readonly string[]>>;
  readonly output: string;
  /** Width of the output tensor as declared or given; null when unknown. */
  readonly outputWidth: number | null;
  readonly droppedNodes: readonly string[];
  readonly renamed: Readonly<Record<string, string>>;
}

const FLOAT = ElementType.FLOAT;
const DOUBLE = ElementType.DOUBLE;
const NUMERIC_INPUT = new Set([1, 2, 3, 5, 6, 7, 9, 10, 11, 12, 13]);
const RESERVED = ['features', 'label', 'probabilities', 'prediction'];
const PREFIX = 'fti_import_';
/** The probe model's only output (see {@link TargetInterface.probe}). */
export const PROBE = `${PREFIX}probe`;

function invalid(message: string, location = 'model.onnx'): ValidationError {
  return new ValidationError(message, { location });
}

function width(value: OnnxValueInfo): number | null {
  if (value.type.kind !== 'tensor' || !value.type.shape || value.type.shape.length < 2) return null;
  const d = value.type.shape[value.type.shape.length - 1];
  return typeof d === 'number' && d > 0 ? d : null;
}

/** Resolves which view features each model input takes; errors name the inputs and the fix. */
function mapInputs(info: OnnxModelInfo, featureNames: readonly string[], given?: InterfaceMapping['inputs']) {
  const known = new Set(featureNames);
  const names = info.inputs.map((i) => i.name);
  for (const input of info.inputs)
    if (input.type.kind !== 'tensor' || !NUMERIC_INPUT.has(input.type.elementType))
      throw invalid(
        `model input "${input.name}" is ${describeType(input.type)}; imported models must take numeric tensors (the feature view's transformed features). Export the model after its preprocessing, or move string handling into the feature view's transformations.`,
      );
  let mapping: Record<string, readonly string[]>;
  if (given && Object.keys(given).length) {
    const unknownInputs = Object.keys(given).filter((n) => !names.includes(n));
    if (unknownInputs.length)
      throw invalid(
        `--input names ${unknownInputs.join(', ')}, which the model does not take (inputs: ${names.join(', ')}).`,
        'inputs',
      );
    const unmapped = names.filter((n) => !Object.hasOwn(given, n));
    if (unmapped.length)
      throw invalid(
        `model input(s) ${unmapped.join(', ')} have no mapping; give --input NAME=feature1,feature2 for every input (inputs: ${names.join(', ')}).`,
        'inputs',
      );
    mapping = { ...given };
  } else if (info.inputs.length === 1) {
    mapping = { [names[0]!]: featureNames };
  } else {
    const notFeatures = names.filter((n) => !known.has(n));
    if (notFeatures.length)
      throw invalid(
        `the model takes ${names.length} inputs (${names.join(', ')}) and ${notFeatures.join(', ')} ${notFeatures.length === 1 ? 'is not a feature' : 'are not features'} of the view; map each with --input NAME=feature1,feature2 (features: ${featureNames.join(', ')}).`,
        'inputs',
      );
    mapping = Object.fromEntries(names.map((n) => [n, [n]]));
  }
  for (const [input, features] of Object.entries(mapping)) {
    const unknown = features.filter((f) => !known.has(f));
    if (features.length === 0 || unknown.length)
      throw invalid(
        `input ${input} maps to ${unknown.length ? `unknown feature(s) ${unknown.join(', ')}` : 'no features'}; the view's model features are ${featureNames.join(', ')}.`,
        'inputs',
      );
    const value = info.inputs.find((i) => i.name === input)!;
    const w = width(value);
    const rank = value.type.kind === 'tensor' ? value.type.shape?.length : undefined;
    if (rank !== undefined && rank !== 2)
      throw invalid(
        `model input "${input}" is ${describeType(value.type)}; a [N, features] matrix is expected.`,
      );
    if (w !== null && w !== features.length)
      throw invalid(
        `model input "${input}" takes ${w} column(s) but is mapped to ${features.length} feature(s) (${features.join(', ')}); the training dataset's model features are ${featureNames.join(', ')}. Train on the dataset's features in that order, or map columns with --input.`,
        'inputs',
      );
  }
  return mapping;
}

/** The tensor holding the model's answer, with the ZipMap nodes to drop. */
function findOutput(info: OnnxModelInfo, task: Task, given?: string) {
  const produced = new Map<string, number>();
  info.nodes.forEach((n, i) => n.outputs.forEach((o) => produced.set(o, i)));
  // ZipMaps that only feed graph outputs are dropped (Node cannot return their maps); one another
  // node consumes stays, and is the model's own business.
  const consumed = new Set(info.nodes.flatMap((n) => n.inputs));
  const zipMaps = new Set(
    info.nodes
      .map((n, i) =>
        n.opType === 'ZipMap' && n.domain === 'ai.onnx.ml' && !n.outputs.some((o) => consumed.has(o))
          ? i
          : -1,
      )
      .filter((i) => i >= 0),
  );
  const behindZipMap = (name: string) => {
    const index = produced.get(name);
    return index !== undefined && zipMaps.has(index) ? info.nodes[index]!.inputs[0] : undefined;
  };
  const describe = () => info.outputs.map((o) => `${o.name}: ${describeType(o.type)}`).join('; ');
  if (given) {
    const declared = info.outputs.find((o) => o.name === given);
    const name = behindZipMap(given) ?? given;
    if (declared?.type.kind === 'tensor' && ![FLOAT, DOUBLE].includes(declared.type.elementType as 1 | 11))
      throw invalid(
        `output ${given} is ${describeType(declared.type)}: ${task === 'regression' ? 'a prediction must be float or double' : 'class labels, not per-class probabilities or scores'}; outputs: ${describe()}.`,
        'output',
      );
    if (!declared && !produced.has(given))
      throw invalid(
        `--output ${given} is neither an output nor a tensor of the model (outputs: ${describe()}).`,
        'output',
      );
    return { name, declared: declared && declared.type.kind === 'tensor' ? declared : undefined, zipMaps };
  }
  const tensors = info.outputs.filter(
    (o) => o.type.kind === 'tensor' && [FLOAT, DOUBLE].includes(o.type.elementType as 1 | 11),
  );
  if (task !== 'regression') {
    for (const o of info.outputs) {
      const inner = behindZipMap(o.name);
      if (inner) return { name: inner, declared: undefined, zipMaps };
    }
    const matrices = tensors.filter((o) => o.type.kind === 'tensor' && (o.type.shape?.length ?? 2) === 2);
    const pick = matrices.length === 1 ? matrices[0] : matrices.find((o) => /prob/i.test(o.name));
    if (pick) return { name: pick.name, declared: pick, zipMaps };
    throw invalid(
      `cannot tell which output holds the class probabilities (outputs: ${describe()}); name it with --output NAME (and --scores logits if it holds raw scores).`,
      'output',
    );
  }
  if (tensors.length === 1) return { name: tensors[0]!.name, declared: tensors[0], zipMaps };
  throw invalid(
    `cannot tell which output holds the prediction (outputs: ${describe()}); name it with --output NAME.`,
    'output',
  );
}

/**
 * Rewrites `bytes` so that it takes `features` and returns the task's standard outputs. Pure: the
 * caller checks the result by running it (onnxruntime decides what finally loads).
 */
export function adaptToPlatformInterface(
  bytes: Uint8Array,
  target: TargetInterface,
  mapping: InterfaceMapping = {},
): AdaptedModel {
  const info = readOnnxModel(bytes);
  if (info.inputs.length === 0) throw invalid('the model has no inputs.');
  const inputs = mapInputs(info, target.featureNames, mapping.inputs);
  const out = findOutput(info, target.task, mapping.output);
  const outputType = out.declared?.type.kind === 'tensor' ? out.declared.type : undefined;
  const outputWidth = (out.declared ? width(out.declared) : null) ?? target.outputWidth ?? null;
  const scores = mapping.scores ?? 'probabilities';
  if (!target.probe && target.task === 'regression' && outputWidth !== null && outputWidth !== 1)
    throw invalid(
      `output ${out.name} has ${outputWidth} columns; a regression model must return one value per row ([N] or [N, 1]). Name the right output with --output, or import it with its task.`,
      'output',
    );
  if (
    !target.probe &&
    target.task !== 'regression' &&
    outputWidth !== null &&
    outputWidth !== target.classes &&
    !(target.task === 'binary' && outputWidth === 1)
  )
    throw invalid(
      `output ${out.name} has ${outputWidth} column(s) but the training dataset's label has ${target.classes} classes; the model must return one column per class in the platform's class order${target.task === 'binary' ? ' (or one column: the positive class)' : ''}.`,
      'output',
    );

  const nodes: { before: NodeSpec[]; after: NodeSpec[] } = { before: [], after: [] };
  const initializers: TensorSpec[] = [];
  const names = new Set<string>([...info.initializers, ...info.inputs.map((i) => i.name)]);
  for (const n of info.nodes) {
    n.inputs.forEach((x) => names.add(x));
    n.outputs.forEach((x) => names.add(x));
  }

  // Inputs: keep `features` itself when it already is the model's only float input.
  const only = info.inputs.length === 1 ? info.inputs[0]! : undefined;
  const inputType = (name: string) => {
    const t = info.inputs.find((i) => i.name === name)!.type;
    return t.kind === 'tensor' ? t.elementType : FLOAT;
  };
  const direct =
    only !== undefined &&
    only.name === 'features' &&
    inputType('features') === FLOAT &&
    inputs.features!.join('\u0000') === target.featureNames.join('\u0000');
  // Platform names used inside the graph for something else are renamed (not inside subgraphs).
  const keep = new Set<string>();
  if (direct) keep.add('features');
  const probabilitiesDirect =
    target.task !== 'regression' &&
    out.name === 'probabilities' &&
    scores === 'probabilities' &&
    outputType?.elementType === FLOAT &&
    outputWidth === target.classes;
  if (probabilitiesDirect) keep.add('probabilities');
  const renamed = new Map<string, string>();
  for (const n of [...names]) {
    if ((RESERVED.includes(n) && !keep.has(n)) || n.startsWith(PREFIX)) {
      let fresh = `${n}_model`;
      while (names.has(fresh)) fresh += '_';
      names.add(fresh);
      renamed.set(n, fresh);
    }
  }
  if (renamed.size && info.nodes.some((n) => n.hasSubgraph))
    throw invalid(
      `the model uses the name(s) ${[...renamed.keys()].join(', ')}, which the platform's interface reserves, and has control-flow subgraphs where they cannot be renamed safely; rename them when exporting.`,
    );
  const r = (name: string) => renamed.get(name) ?? name;
  const outputName = r(out.name);

  if (!direct)
    for (const [input, features] of Object.entries(inputs)) {
      const type = inputType(input);
      const whole = features.join('\u0000') === target.featureNames.join('\u0000');
      let source = 'features';
      if (!whole) {
        source = `${PREFIX}cols_${Object.keys(inputs).indexOf(input)}`;
        const indices = `${source}_indices`;
        initializers.push({
          name: indices,
          dims: [features.length],
          type: ElementType.INT64,
          data: features.map((f) => target.featureNames.indexOf(f)),
        });
        nodes.before.push({
          opType: 'Gather',
          inputs: ['features', indices],
          outputs: [source],
          attributes: { axis: { kind: 'int', value: 1 } },
        });
      }
      nodes.before.push(
        type === FLOAT
          ? { opType: 'Identity', inputs: [source], outputs: [r(input)] }
          : {
              opType: 'Cast',
              inputs: [source],
              outputs: [r(input)],
              attributes: { to: { kind: 'int', value: type } },
            },
      );
    }

  let outputs: ValueInfoSpec[];
  if (target.probe) {
    nodes.after.push({
      opType: 'Cast',
      inputs: [outputName],
      outputs: [PROBE],
      attributes: { to: { kind: 'int', value: FLOAT } },
    });
    outputs = [{ name: PROBE, type: FLOAT, shape: ['N', 'W'] }];
  } else if (target.task === 'regression') {
    let value = outputName;
    if (!outputType || outputType.elementType !== FLOAT) {
      nodes.after.push({
        opType: 'Cast',
        inputs: [value],
        outputs: [`${PREFIX}prediction_float`],
        attributes: { to: { kind: 'int', value: FLOAT } },
      });
      value = `${PREFIX}prediction_float`;
    }
    initializers.push({ name: `${PREFIX}flat`, dims: [1], type: ElementType.INT64, data: [-1] });
    nodes.after.push({ opType: 'Reshape', inputs: [value, `${PREFIX}flat`], outputs: ['prediction'] });
    outputs = [{ name: 'prediction', type: FLOAT, shape: ['N'] }];
  } else {
    if (!probabilitiesDirect) {
      let value = outputName;
      if (!outputType || outputType.elementType !== FLOAT) {
        // Cast is a no-op on float and needed for double (e.g. torch models exported in float64).
        nodes.after.push({
          opType: 'Cast',
          inputs: [value],
          outputs: [`${PREFIX}scores`],
          attributes: { to: { kind: 'int', value: FLOAT } },
        });
        value = `${PREFIX}scores`;
      }
      if (target.task === 'binary' && outputWidth !== 2) {
        if (outputWidth === null)
          throw invalid(
            `cannot tell how many columns output ${out.name} has; the importer finds it by running the model.`,
            'output',
          );
        // One column: the positive class's probability (or logit).
        let p1 = value;
        if (scores === 'logits') {
          nodes.after.push({ opType: 'Sigmoid', inputs: [value], outputs: [`${PREFIX}p1`] });
          p1 = `${PREFIX}p1`;
        }
        initializers.push({ name: `${PREFIX}one`, dims: [1], type: FLOAT, data: [1] });
        nodes.after.push(
          { opType: 'Sub', inputs: [`${PREFIX}one`, p1], outputs: [`${PREFIX}p0`] },
          {
            opType: 'Concat',
            inputs: [`${PREFIX}p0`, p1],
            outputs: ['probabilities'],
            attributes: { axis: { kind: 'int', value: 1 } },
          },
        );
      } else if (scores === 'logits') {
        nodes.after.push({
          opType: 'Softmax',
          inputs: [value],
          outputs: ['probabilities'],
          attributes: { axis: { kind: 'int', value: 1 } },
        });
      } else {
        nodes.after.push({ opType: 'Identity', inputs: [value], outputs: ['probabilities'] });
      }
    }
    nodes.after.push({
      opType: 'ArgMax',
      inputs: ['probabilities'],
      outputs: ['label'],
      attributes: { axis: { kind: 'int', value: 1 }, keepdims: { kind: 'int', value: 0 } },
    });
    outputs = [
      { name: 'label', type: ElementType.INT64, shape: ['N'] },
      { name: 'probabilities', type: FLOAT, shape: ['N', target.classes] },
    ];
  }

  const droppedNodes = [...out.zipMaps].map((i) => `ZipMap ${info.nodes[i]!.outputs.join(', ')}`);
  const onnx = rewriteModel(info, {
    renamed,
    dropNodes: out.zipMaps,
    nodesBefore: nodes.before,
    nodesAfter: nodes.after,
    initializers,
    inputs: [{ name: 'features', type: FLOAT, shape: ['N', target.featureNames.length] }],
    outputs,
  });
  return { onnx, inputs, output: out.name, outputWidth, droppedNodes, renamed: Object.fromEntries(renamed) };
}

interface Rewrite {
  readonly renamed: ReadonlyMap<string, string>;
  readonly dropNodes: ReadonlySet<number>;
  readonly nodesBefore: readonly NodeSpec[];
  readonly nodesAfter: readonly NodeSpec[];
  readonly initializers: readonly TensorSpec[];
  readonly inputs: readonly ValueInfoSpec[];
  readonly outputs: readonly ValueInfoSpec[];
}

/** Re-encodes a message, renaming the string fields numbered in `fields`; other fields are copied. */
function renameFields(
  w: Writer,
  source: readonly WireField[],
  fields: readonly number[],
  renamed: ReadonlyMap<string, string>,
): void {
  for (const f of source) {
    const value = f.wire === 2 && fields.includes(f.field) ? text(f) : undefined;
    const to = value === undefined ? undefined : renamed.get(value);
    if (to !== undefined) w.string(f.field, to);
    else w.raw(f.raw);
  }
}

/** Writes the model with the graph's interface replaced and adapter nodes around the original ones. */
function rewriteModel(info: OnnxModelInfo, rewrite: Rewrite): Uint8Array {
  const graph = new Writer();
  for (const n of rewrite.nodesBefore) graph.message(1, (w) => writeNode(w, n));
  const interfaceNames = new Set([...rewrite.inputs, ...rewrite.outputs].map((v) => v.name));
  let nodeIndex = 0;
  for (const f of info.graphFields) {
    if (f.field === 1 && f.wire === 2) {
      const node = info.nodes[nodeIndex++]!;
      if (rewrite.dropNodes.has(nodeIndex - 1)) continue;
      graph.message(1, (w) => renameFields(w, node.fields, [1, 2], rewrite.renamed));
    } else if (f.field === 5 && f.wire === 2) {
      graph.message(5, (w) => renameFields(w, decodeFieldsOf(f), [8], rewrite.renamed));
    } else if (f.field === 11 && f.wire === 2) {
      // Initializers listed as inputs (old IR versions) stay; fed inputs are replaced.
      const name = nameOf(f);
      if (info.initializers.has(name))
        graph.message(11, (w) => renameFields(w, decodeFieldsOf(f), [1], rewrite.renamed));
    } else if (f.field === 12 && f.wire === 2) {
      continue;
    } else if (f.field === 13 && f.wire === 2) {
      const name = nameOf(f);
      if (interfaceNames.has(name)) continue;
      graph.message(13, (w) => renameFields(w, decodeFieldsOf(f), [1], rewrite.renamed));
    } else graph.raw(f.raw);
  }
  for (const n of rewrite.nodesAfter) graph.message(1, (w) => writeNode(w, n));
  for (const t of rewrite.initializers) graph.message(5, (w) => writeTensorSpec(w, t));
  for (const v of rewrite.inputs) graph.message(11, (w) => writeValueInfoSpec(w, v));
  for (const v of rewrite.outputs) graph.message(12, (w) => writeValueInfoSpec(w, v));

  const model = new Writer();
  const graphBytes = graph.finish();
  for (const f of info.modelFields) {
    if (f.field === 7 && f.wire === 2) model.bytes(7, graphBytes);
    else model.raw(f.raw);
  }
  if (info.opsets[''] === undefined)
    // The adapter's operators are in the default domain; every one of them exists since opset 13.
    model.message(8, (o) => {
      o.string(1, '');
      o.int(2, info.irVersion >= 7 ? 13 : 9);
    });
  return model.finish();
}

function decodeFieldsOf(f: WireField): WireField[] {
  return decodeFields(f.bytes);
}

function nameOf(f: WireField): string {
  const name = decodeFieldsOf(f).find((x) => x.field === 1 && x.wire === 2);
  return name ? text(name) : '';
}
