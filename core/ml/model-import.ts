import { createHash } from 'node:crypto';
import * as ort from 'onnxruntime-node';
import { z } from 'zod';
import { ValidationError } from '../errors';
import { getTrainingDataset, readTrainingMatrix } from '../featurestore/views';
import { findModelVersionByKey } from '../registry/model-registry';
import { startTrainingRun } from '../registry/training-runs';
import { joinKey } from '../storage';
import { gatesSchema } from './gates';
import { inferLabelEncoding } from './labels';
import { adaptToPlatformInterface, PROBE, type AdaptedModel, type InterfaceMapping } from './onnx/adapt';
import { readOnnxModel, type OnnxModelInfo } from './onnx/reader';
import { loadSession } from './onnx/runtime';
import type { Task } from './task';
import {
  evaluateCandidate,
  parseTrainingPipelineSpec,
  registerCandidate,
  type CandidateRef,
  type DatasetRef,
  type EvaluationReport,
  type RegistrationResult,
  type TrainingDeps,
} from './training-pipeline';

const name = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,62}$/, 'lowercase letters, digits, _ or -, starting with a letter');

/**
 * What `fti models import` is asked: which model to register the file as, the training dataset it
 * was trained on (its test split scores it; its view binds it for serving), how its inputs and
 * outputs map (inferred when left out), who made it, and the gates and alias a trained model has.
 */
export const modelImportSpecSchema = z
  .object({
    model: name,
    featureView: z
      .object({ name: z.string().min(1), version: z.number().int().positive().optional() })
      .strict(),
    trainingDataset: z.number().int().positive(),
    task: z.enum(['binary', 'multiclass', 'regression']).optional(),
    inputs: z.record(z.string().min(1), z.array(z.string().min(1)).min(1)).optional(),
    output: z.string().min(1).optional(),
    scores: z.enum(['probabilities', 'logits']).default('probabilities'),
    /** Training framework and version (e.g. scikit-learn 1.9.1); inferred from the converter when left out. */
    framework: z.string().min(1).max(100).optional(),
    frameworkVersion: z.string().min(1).max(100).optional(),
    gates: gatesSchema.default({ thresholds: {} }),
    compareWith: z.string().min(1).default('champion'),
    alias: name.optional(),
    sliceColumns: z.array(z.string().min(1)).default([]),
    description: z.string().max(2000).default(''),
    tags: z.record(z.string(), z.string()).default({}),
  })
  .strict();
/** A model import request as written. */
export type ModelImportSpec = z.input<typeof modelImportSpecSchema>;

/** What an import did: the registration (state, alias), the evaluation and how the model was adapted. */
export interface ModelImportResult {
  readonly registration: RegistrationResult;
  /** True when this file and request had been imported before: the existing version, nothing changed. */
  readonly reused: boolean;
  /** The scoring on the test split (from the version's record when `reused`). */
  readonly summary: {
    readonly split: string;
    readonly rows: number | null;
    readonly metrics: Readonly<Record<string, number>>;
    readonly gates: readonly { readonly gate: string; readonly passed: boolean }[];
  };
  /** The full evaluation; null when `reused`. */
  readonly evaluation: EvaluationReport | null;
  readonly provenance: Readonly<Record<string, unknown>>;
}

/** Converters we recognise by the ONNX `producer_name`, and the framework each one converts. */
const CONVERTERS: Readonly<Record<string, { converter: string; framework: string | null }>> = {
  skl2onnx: { converter: 'skl2onnx', framework: 'scikit-learn' },
  onnxmltools: { converter: 'onnxmltools', framework: null },
  pytorch: { converter: 'torch.onnx', framework: 'pytorch' },
  tf2onnx: { converter: 'tf2onnx', framework: 'tensorflow' },
};

function frameworkOf(info: OnnxModelInfo): { converter: string; framework: string | null } {
  const known = CONVERTERS[info.producerName.toLowerCase()];
  if (!known) return { converter: info.producerName || 'unknown', framework: null };
  if (known.converter !== 'onnxmltools') return known;
  // onnxmltools converts several libraries; the operators tell which (XGBoost and LightGBM become tree ensembles).
  const ops = new Set(info.nodes.map((n) => n.opType));
  return {
    converter: 'onnxmltools',
    framework:
      ops.has('TreeEnsembleClassifier') || ops.has('TreeEnsembleRegressor')
        ? 'tree ensemble (xgboost, lightgbm or catboost)'
        : null,
  };
}

function parseSpec(raw: unknown) {
  const parsed = modelImportSpecSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'} ${i.message}`);
    throw new ValidationError(`model import: ${problems.join('; ')}`, { location: 'model import' });
  }
  return parsed.data;
}

/** Runs the probe model on a few rows and returns the width of the output tensor. */
async function outputWidth(
  probe: AdaptedModel,
  X: Float32Array,
  rows: number,
  cols: number,
): Promise<number> {
  const session = await loadSession(probe.onnx);
  try {
    const result = await session.run({
      features: new ort.Tensor('float32', X.subarray(0, rows * cols), [rows, cols]),
    });
    const dims = result[PROBE]!.dims;
    for (const t of Object.values(result)) t.dispose();
    if (dims.length !== 2)
      throw new ValidationError(
        `output ${probe.output} has shape [${dims.join(', ')}] on ${rows} rows; a classifier's output must be [N, classes] (or [N, 1] for the positive class). Name the right one with --output.`,
        { location: 'output' },
      );
    return Number(dims[1]);
  } catch (error) {
    if (error instanceof ValidationError) throw error;
    throw new ValidationError(
      `the model fails on the training dataset's features (${cols} columns): ${(error as Error).message.split('\n')[0]}`,
      { location: 'model.onnx' },
    );
  } finally {
    await session.release();
  }
}

/** Checks that the adapted model's probabilities are probabilities (not logits) on real rows. */
async function checkOutputs(
  model: AdaptedModel,
  task: Task,
  X: Float32Array,
  rows: number,
  cols: number,
  scores: string,
): Promise<void> {
  const session = await loadSession(model.onnx);
  let result: ort.InferenceSession.OnnxValueMapType;
  try {
    result = await session.run({
      features: new ort.Tensor('float32', X.subarray(0, rows * cols), [rows, cols]),
    });
  } catch (error) {
    throw new ValidationError(
      `the adapted model fails on the training dataset's features: ${(error as Error).message.split('\n')[0]}`,
      { location: 'model.onnx' },
    );
  } finally {
    await session.release();
  }
  if (task === 'regression') {
    const dims = result.prediction!.dims;
    if (dims.length !== 1 || Number(dims[0]) !== rows)
      throw new ValidationError(
        `output ${model.output} gives ${dims.length === 1 ? dims[0] : `[${dims.join(', ')}]`} values for ${rows} rows; a regression model must return one value per row. Name the right output with --output.`,
        { location: 'output' },
      );
    return;
  }
  if (scores === 'logits') return;
  const p = result.probabilities!.data as Float32Array;
  const classes = Number(result.probabilities!.dims[1]);
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    for (let c = 0; c < classes; c++) {
      const v = p[r * classes + c]!;
      if (!(v >= -1e-6 && v <= 1 + 1e-6))
        throw new ValidationError(
          `output ${model.output} holds ${v} on row ${r}, which is not a probability; if it holds raw scores, import with --scores logits.`,
          { location: 'output' },
        );
      sum += v;
    }
    if (Math.abs(sum - 1) > 1e-3)
      throw new ValidationError(
        `output ${model.output}'s ${classes} columns sum to ${sum} on row ${r}, not 1; if it holds raw scores, import with --scores logits.`,
        { location: 'output' },
      );
  }
}

/**
 * Imports an ONNX model trained elsewhere (skl2onnx, onnxmltools, torch.onnx) as a version of
 * `spec.model`: adapts it to the platform's interface (see {@link adaptToPlatformInterface}),
 * checks it on the training dataset's rows, then evaluates and registers it with the training
 * pipeline's own steps — test-split metrics, slice metrics, the champion comparison, gates, the
 * monitoring reference and lineage to the view and dataset — so it deploys and serves like a
 * trained model. Provenance (framework, converter, versions, the original file's SHA-256) goes to
 * lineage and the original file is kept beside the artifact. Nothing is registered when any check
 * fails; the same file and request again return the same version.
 */
export async function importModel(
  deps: TrainingDeps,
  raw: ModelImportSpec,
  onnx: Uint8Array,
  source = 'model.onnx',
): Promise<ModelImportResult> {
  const spec = parseSpec(raw);
  if (onnx.length === 0) throw new ValidationError(`${source} is empty.`, { location: source });
  const info = readOnnxModel(onnx);
  const { dataset } = await getTrainingDataset(deps, spec.featureView, spec.trainingDataset);
  const datasetRef: DatasetRef = {
    featureView: dataset.featureView,
    version: dataset.version,
    id: dataset.id,
    rows: dataset.rowCounts,
  };
  const sha256 = createHash('sha256').update(onnx).digest('hex');
  // Same file, same request: same key. A repeat returns the version it registered and changes
  // nothing — above all no alias, which may have moved on since.
  const runKey = `import:${createHash('sha256')
    .update(sha256)
    .update(JSON.stringify({ ...spec, featureView: dataset.featureView }))
    .digest('hex')
    .slice(0, 32)}`;
  const existing = await findModelVersionByKey(deps.db, spec.model, runKey);
  if (existing)
    return {
      registration: { model: existing.model, version: existing.version, state: existing.state, alias: null },
      reused: true,
      summary: { split: existing.tags.split ?? 'test', rows: null, metrics: existing.metrics, gates: [] },
      evaluation: null,
      provenance: existing.lineage.provenance ?? {},
    };
  const { matrix } = await readTrainingMatrix(deps, spec.featureView, spec.trainingDataset, 'train');
  const label = Object.keys(matrix.labels)[0];
  if (!label)
    throw new ValidationError(
      `feature view ${dataset.featureView.name} has no label; a model needs one to be evaluated.`,
      {
        location: 'featureView',
      },
    );
  const encoding = inferLabelEncoding(matrix.labels[label]!, spec.task);
  const classes = encoding.classes?.length ?? 0;
  const target = { task: encoding.task, featureNames: matrix.featureNames, classes };
  const mapping: InterfaceMapping = {
    ...(spec.inputs ? { inputs: spec.inputs } : {}),
    ...(spec.output ? { output: spec.output } : {}),
    scores: spec.scores,
  };
  const sampleRows = Math.min(matrix.rows, 1000);
  if (sampleRows === 0)
    throw new ValidationError(
      `training dataset #${dataset.version} has no train rows to check the model on.`,
      { location: 'trainingDataset' },
    );
  const X = Float32Array.from(matrix.X.subarray(0, sampleRows * matrix.cols));
  let width: number | undefined;
  if (encoding.task !== 'regression')
    width = await outputWidth(
      adaptToPlatformInterface(onnx, { ...target, probe: true }, mapping),
      X,
      Math.min(sampleRows, 2),
      matrix.cols,
    );
  const adapted = adaptToPlatformInterface(
    onnx,
    { ...target, ...(width ? { outputWidth: width } : {}) },
    mapping,
  );
  await checkOutputs(adapted, encoding.task, X, sampleRows, matrix.cols, spec.scores);

  const { converter, framework } = frameworkOf(info);
  const provenance = {
    source: 'import',
    file: source,
    sha256,
    framework: spec.framework ?? framework,
    frameworkVersion: spec.frameworkVersion ?? null,
    converter,
    converterVersion: info.producerVersion || null,
    producer: { name: info.producerName, version: info.producerVersion },
    irVersion: info.irVersion,
    opsets: info.opsets,
    originalInputs: info.inputs.map((i) => i.name),
    originalOutputs: info.outputs.map((o) => o.name),
    inputs: adapted.inputs,
    output: adapted.output,
    scores: spec.scores,
    droppedNodes: adapted.droppedNodes,
    renamed: adapted.renamed,
    attachments: ['original.onnx'],
  };
  const prefix = joinKey('imports', spec.model, runKey.slice('import:'.length));
  const artifactKey = joinKey(prefix, 'model.onnx');
  const originalKey = joinKey(prefix, 'original.onnx');
  await deps.store.put(artifactKey, Buffer.from(adapted.onnx), { contentType: 'application/octet-stream' });
  await deps.store.put(originalKey, Buffer.from(onnx), { contentType: 'application/octet-stream' });
  const trainer = `import:${converter}`;
  const params = { inputs: adapted.inputs, output: adapted.output, scores: spec.scores };
  const candidate: CandidateRef = {
    trainingRunId: 0,
    artifactKey,
    trainer,
    params,
    task: encoding.task,
    classes: encoding.classes ?? null,
    featureNames: matrix.featureNames,
    info: {},
    onnxCheck: null,
    trainerMetrics: {},
    provenance,
    attachmentKeys: { 'original.onnx': originalKey },
  };
  const pipelineSpec = parseTrainingPipelineSpec({
    name: `import-${spec.model}`,
    model: spec.model,
    featureView: { name: dataset.featureView.name, version: dataset.featureView.version },
    trainingDataset: { version: dataset.version },
    task: encoding.task,
    trainer: { name: trainer },
    gates: spec.gates,
    compareWith: spec.compareWith,
    ...(spec.alias ? { alias: spec.alias } : {}),
    sliceColumns: spec.sliceColumns,
    description: spec.description,
    tags: { ...spec.tags, imported: converter },
  });
  let evaluation: EvaluationReport;
  try {
    evaluation = await evaluateCandidate(deps, pipelineSpec, datasetRef, candidate);
  } catch (error) {
    // Nothing was registered: remove what this attempt uploaded (an attempt that succeeds later
    // uploads it again under the same key).
    await deps.store.deletePrefix(`${prefix}/`).catch(() => undefined);
    throw error;
  }
  // The run is recorded only once the model was scored, so a failed import leaves no run behind.
  const trainingRunId = await startTrainingRun(deps.db, {
    experiment: `import-${spec.model}`,
    trainer,
    params,
    idempotencyKey: runKey,
    trainingDatasetId: dataset.id,
  });
  const registration = await registerCandidate(
    deps,
    pipelineSpec,
    datasetRef,
    { ...candidate, trainingRunId },
    evaluation,
    { runKey },
  );
  return {
    registration,
    reused: false,
    summary: {
      split: evaluation.split,
      rows: evaluation.rows,
      metrics: Object.fromEntries(Object.entries(evaluation.metrics).filter(([, v]) => Number.isFinite(v))),
      gates: evaluation.gates.results.map((g) => ({ gate: g.gate, passed: g.passed })),
    },
    evaluation,
    provenance,
  };
}
