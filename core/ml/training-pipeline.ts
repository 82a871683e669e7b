import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { ValidationError } from '../errors';
import {
  createTrainingData,
  getFeatureView,
  getTrainingDataset,
  readTrainingData,
  readTrainingMatrix,
  splitDefinitionSchema,
  type FeatureMatrix,
  type FeatureViewDeps,
  type SplitName,
} from '../featurestore';
import {
  finishTrainingRun,
  getModelVersion,
  logMetrics,
  ModelNotFoundError,
  registerModelVersion,
  setModelAlias,
  startTrainingRun,
  type ModelSignature,
} from '../registry';
import { joinKey } from '../storage';
import { externalTrainerRequestSchema, runExternalTrainer } from './external-trainer';
import type { DevicePool } from './device-pool';
import type { TrainerThreads } from './trainer-threads';
import { isBuiltInTrainer } from './trainers/registry';
import type { StepMetric } from './trainers/trainer';
import { compareWithChampion, type ChampionComparison } from './champion-comparison';
import { applyGates, gatesSchema, type GateReport } from './gates';
import { encodeLabels, inferLabelEncoding, type LabelEncoding } from './labels';
import { evaluate, evaluateSlices, type SliceEvaluation } from './metrics';
import { loadSession, predictOnnx, verifyOnnxModel } from './onnx/runtime';
import { assertTrainable, type Dataset, type Predictions, type Task } from './task';
import {
  binaryCbpeReference,
  predictionProfileOf,
  type ModelReferenceProfile,
} from '../monitoring/prediction-profile';
import type { TrainerRegistry } from './trainers/registry';

const name = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,62}$/, { message: 'must be lowercase letters, digits, _ or -' });
const instant = z.union([z.date(), z.string().datetime({ offset: true })]).transform((v) => new Date(v));

/** A training pipeline as declared (JSON for the CLI, the workflow input). */
export const trainingPipelineSpecSchema = z
  .object({
    /** Experiment / pipeline name (groups runs for comparison). */
    name,
    /** Registered model name. */
    model: name,
    featureView: z
      .object({ name: z.string().min(1), version: z.number().int().positive().optional() })
      .strict(),
    /** Use an existing training-dataset version, or create one. */
    trainingDataset: z
      .union([
        z.object({ version: z.number().int().positive() }).strict(),
        z
          .object({
            create: z
              .object({
                start: instant.optional(),
                end: instant.optional(),
                asOf: instant.optional(),
                splits: splitDefinitionSchema.default({
                  kind: 'random',
                  fractions: { train: 0.7, validation: 0.1, test: 0.2 },
                  seed: 42,
                }),
              })
              .strict(),
          })
          .strict(),
      ])
      .default({
        create: {
          splits: { kind: 'random', fractions: { train: 0.7, validation: 0.1, test: 0.2 }, seed: 42 },
        },
      }),
    task: z.enum(['binary', 'multiclass', 'regression']).optional(),
    /**
     * A built-in trainer by name with hyperparameters, or an external trainer registered on the
     * training worker, by name, with its params (the command is the worker's, never the input's).
     */
    trainer: z.union([
      z.object({ name: z.string().min(1), params: z.record(z.string(), z.unknown()).default({}) }).strict(),
      z.object({ external: externalTrainerRequestSchema }).strict(),
    ]),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .default(42),
    /** Columns of the test split to compute slice metrics for. */
    sliceColumns: z.array(z.string().min(1)).default([]),
    gates: gatesSchema.default({ thresholds: {} }),
    /** Alias to compare with on the same test split. */
    compareWith: z.string().min(1).default('champion'),
    /** Alias moved to the new version when every gate passes. */
    alias: z
      .string()
      .regex(/^[a-z][a-z0-9_-]{0,62}$/)
      .optional(),
    /** Task queue of the train step (`fti-training-gpu` for GPU workers). */
    trainQueue: z.string().min(1).default('fti-training'),
    description: z.string().max(2000).default(''),
    tags: z.record(z.string(), z.string()).default({}),
  })
  .strict();
/** A training pipeline spec as written. */
export type TrainingPipelineSpec = z.input<typeof trainingPipelineSpecSchema>;
/** After defaults. */
export type ParsedTrainingPipelineSpec = z.output<typeof trainingPipelineSpecSchema>;

/** Parses a spec; errors name each bad field. */
export function parseTrainingPipelineSpec(spec: unknown): ParsedTrainingPipelineSpec {
  const external = (spec as { trainer?: { external?: Record<string, unknown> } } | null)?.trainer?.external;
  if (external && typeof external === 'object' && ('command' in external || 'env' in external))
    throw new ValidationError(
      'training pipeline: trainer.external may not carry a command or environment (anyone able to start a workflow could run code on the worker). Register the trainer on the training worker (the JSON file FTI_EXTERNAL_TRAINERS names) and give its name: {"external": {"name": "my-trainer", "params": {…}}}.',
      { location: 'trainer.external' },
    );
  const parsed = trainingPipelineSpecSchema.safeParse(spec);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'} ${i.message}`);
    throw new ValidationError(`training pipeline: ${problems.join('; ')}`, { location: 'training pipeline' });
  }
  return parsed.data;
}

/**
 * Checks what can be checked before anything is written: the spec, the trainer and its
 * hyperparameters, the feature view. Returns the parsed spec.
 */
export async function checkTrainingSpec(
  deps: TrainingDeps,
  raw: unknown,
): Promise<ParsedTrainingPipelineSpec> {
  const spec = parseTrainingPipelineSpec(raw);
  if ('name' in spec.trainer) deps.trainers.parseParams(spec.trainer.name, spec.trainer.params);
  await getTrainingDatasetOrView(deps, spec);
  return spec;
}

async function getTrainingDatasetOrView(deps: TrainingDeps, spec: ParsedTrainingPipelineSpec): Promise<void> {
  if ('version' in spec.trainingDataset)
    await getTrainingDataset(deps, spec.featureView, spec.trainingDataset.version);
  else await getFeatureView(deps.db, spec.featureView.name, spec.featureView.version);
}

/** Adapters the training steps use. */
export interface TrainingDeps extends FeatureViewDeps {
  readonly trainers: TrainerRegistry;
  /** Recorded as lineage (e.g. a git commit). */
  readonly codeVersion?: string;
  /**
   * The worker's accelerators (GPU training workers): each training job holds one for its whole
   * run; external trainers see only it (`CUDA_VISIBLE_DEVICES`).
   */
  readonly devices?: DevicePool;
  /**
   * Threads that run built-in trainers off the event loop (workers set one pool, sized by cores);
   * without it, or for a custom trainer, training runs in-process.
   */
  readonly trainerThreads?: TrainerThreads;
}

/** The dataset a run trains on. */
export interface DatasetRef {
  readonly featureView: { readonly name: string; readonly version: number; readonly id: number };
  readonly version: number;
  readonly id: number;
  readonly rows: Readonly<Record<string, number>>;
}

/** Step 1 — uses the given training-dataset version or creates one (idempotent per key). */
export async function prepareTrainingData(
  deps: TrainingDeps,
  spec: ParsedTrainingPipelineSpec,
  idempotencyKey: string,
): Promise<DatasetRef> {
  const td = spec.trainingDataset;
  const dataset =
    'version' in td
      ? (await getTrainingDataset(deps, spec.featureView, td.version)).dataset
      : await createTrainingData(deps, {
          featureView: spec.featureView,
          splits: td.create.splits,
          ...(td.create.start ? { start: td.create.start } : {}),
          ...(td.create.end ? { end: td.create.end } : {}),
          ...(td.create.asOf ? { asOf: td.create.asOf } : {}),
          idempotencyKey,
          description: `training pipeline ${spec.name}`,
        });
  return {
    featureView: dataset.featureView,
    version: dataset.version,
    id: dataset.id,
    rows: dataset.rowCounts,
  };
}

/** What the train step produced. */
export interface CandidateRef {
  readonly trainingRunId: number;
  readonly artifactKey: string;
  readonly trainer: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly task: Task;
  readonly classes: readonly string[] | null;
  readonly featureNames: readonly string[];
  readonly info: Readonly<Record<string, number | string>>;
  /** Max abs difference between the ONNX export and the trainer (built-in trainers). */
  readonly onnxCheck: number | null;
  readonly trainerMetrics: Readonly<Record<string, number>>;
  /** The device the job held (`CUDA_VISIBLE_DEVICES` id) on a GPU worker; null on CPU workers. */
  readonly device?: string | null;
  /** Imported models: where the model came from, recorded in its lineage. */
  readonly provenance?: Readonly<Record<string, unknown>>;
  /** Imported models: files kept beside the registered artifact (file name → object-store key). */
  readonly attachmentKeys?: Readonly<Record<string, string>>;
}

interface Loaded {
  readonly matrix: FeatureMatrix;
  readonly data: Dataset;
}

function labelOf(matrix: FeatureMatrix): string {
  const label = Object.keys(matrix.labels)[0];
  if (!label)
    throw new ValidationError('the feature view has no label; declare labels on it to train a model.', {
      location: 'labels',
    });
  return label;
}

async function loadSplit(
  deps: TrainingDeps,
  dataset: DatasetRef,
  split: SplitName,
  encoding?: LabelEncoding,
  task?: Task,
): Promise<Loaded & { encoding: LabelEncoding }> {
  const { matrix } = await readTrainingMatrix(deps, dataset.featureView, dataset.version, split);
  const raw = matrix.labels[labelOf(matrix)]!;
  const enc = encoding ?? inferLabelEncoding(raw, task);
  return {
    matrix,
    encoding: enc,
    data: { X: matrix.X, rows: matrix.rows, cols: matrix.cols, y: encodeLabels(raw, enc, split) },
  };
}

function candidateKey(runKey: string, file: string): string {
  return joinKey('training-runs', runKey.replace(/[^A-Za-z0-9_.-]/g, '_'), file);
}

/**
 * Step 2 — trains on the train split (early stopping on validation), checks the ONNX export
 * (built-in: reproduces the trainer's predictions; external: loads and takes the view's inputs),
 * uploads it, and records the run's params and per-step metrics. A retry after the upload returns
 * the recorded result.
 */
export async function trainCandidate(
  deps: TrainingDeps,
  spec: ParsedTrainingPipelineSpec,
  dataset: DatasetRef,
  runKey: string,
  context: { onProgress?: (message: string) => void; checkCancelled?: () => void; signal?: AbortSignal } = {},
): Promise<CandidateRef> {
  const resultKey = candidateKey(runKey, 'candidate.json');
  if (await deps.store.exists(resultKey))
    return JSON.parse((await deps.store.get(resultKey)).toString('utf8')) as CandidateRef;
  const trainerName = 'name' in spec.trainer ? spec.trainer.name : `external:${spec.trainer.external.name}`;
  const params =
    'name' in spec.trainer
      ? deps.trainers.parseParams(spec.trainer.name, spec.trainer.params)
      : spec.trainer.external.params;
  const train = await loadSplit(deps, dataset, 'train', undefined, spec.task);
  const { task, classes } = train.encoding;
  const featureNames = train.matrix.featureNames;
  const numClasses = classes?.length ?? 0;
  if (task !== 'regression' && numClasses < 2)
    throw new ValidationError(
      `the label has a single class (${classes?.join(', ')}) in the train split; a classifier needs two or more.`,
    );
  assertTrainable(train.data, task, 'train', featureNames, numClasses);
  const validation = dataset.rows.validation
    ? await loadSplit(deps, dataset, 'validation', train.encoding)
    : undefined;
  if (validation && validation.data.rows > 0)
    assertTrainable(validation.data, task, 'validation', featureNames, numClasses);
  const useValidation = validation && validation.data.rows > 0 ? validation.data : undefined;
  const trainingRunId = await startTrainingRun(deps.db, {
    experiment: spec.name,
    trainer: trainerName,
    params,
    idempotencyKey: runKey,
    trainingDatasetId: dataset.id,
  });
  let onnx: Uint8Array;
  let info: Record<string, number | string> = {};
  let onnxCheck: number | null = null;
  let trainerMetrics: Record<string, number> = {};
  // A GPU worker's job holds one device from here to the end of training.
  const held = deps.devices ? await deps.devices.acquire() : undefined;
  if (held) context.onProgress?.(`training on device ${held.device}`);
  try {
    if ('name' in spec.trainer) {
      const trainer = deps.trainers.get(spec.trainer.name);
      if (!trainer.tasks.includes(task))
        throw new ValidationError(
          `trainer ${trainer.name} cannot do ${task} (it does ${trainer.tasks.join(', ')}).`,
        );
      const progress = (done: number, total: number, metrics?: Readonly<Record<string, number>>) =>
        context.onProgress?.(
          `${trainer.name}: ${done}/${total}${
            metrics
              ? ` ${Object.entries(metrics)
                  .map(([k, v]) => `${k}=${v.toFixed(4)}`)
                  .join(' ')}`
              : ''
          }`,
        );
      const input = {
        task,
        numClasses,
        featureNames,
        train: train.data,
        ...(useValidation ? { validation: useValidation } : {}),
      };
      // The exported graph must reproduce the trainer on data it has not been tuned on.
      const sample = useValidation ?? train.data;
      const rows = Math.min(sample.rows, 5000);
      const X = sample.X.subarray(0, rows * sample.cols);
      let model: {
        onnx: Uint8Array;
        info: Readonly<Record<string, number | string>>;
        history: readonly StepMetric[];
      };
      let check: Predictions;
      if (deps.trainerThreads && isBuiltInTrainer(trainer)) {
        const trained = await deps.trainerThreads.run(
          { trainer: trainer.name, input, params, seed: spec.seed, check: { X: X.slice(), rows } },
          { onProgress: progress, ...(context.signal ? { signal: context.signal } : {}) },
        );
        model = trained;
        check = trained.check;
      } else {
        const trained = await trainer.train(input, params as never, {
          seed: spec.seed,
          onProgress: progress,
          ...(context.checkCancelled ? { checkCancelled: context.checkCancelled } : {}),
        });
        model = trained;
        check = trained.predict(X, rows);
      }
      await logMetrics(deps.db, trainingRunId, model.history);
      onnxCheck = await verifyOnnxModel(
        model.onnx,
        task,
        sample.cols,
        { X, rows },
        check,
        task === 'regression' ? regressionTolerance(check.prediction!) : 1e-5,
      );
      onnx = model.onnx;
      info = { ...model.info };
    } else {
      const workDir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'fti-external-'));
      try {
        const request = spec.trainer.external;
        const result = await runExternalTrainer(
          { ...deps.trainers.external(request.name), name: request.name, params: request.params },
          {
            task,
            numClasses,
            classes: classes ?? null,
            featureNames,
            train: train.data,
            ...(useValidation ? { validation: useValidation } : {}),
            seed: spec.seed,
          },
          {
            workDir,
            ...(held ? { device: held.device } : {}),
            onLog: (line) => context.onProgress?.(`external: ${line.slice(0, 200)}`),
            onProgress: (done, total) => context.onProgress?.(`external: ${done}/${total}`),
            ...(context.signal ? { signal: context.signal } : {}),
          },
        );
        await verifyOnnxModel(result.onnx, task, featureNames.length, {
          X: train.data.X.subarray(0, Math.min(train.data.rows, 100) * train.data.cols),
          rows: Math.min(train.data.rows, 100),
        });
        onnx = result.onnx;
        trainerMetrics = result.metrics;
        await logMetrics(
          deps.db,
          trainingRunId,
          Object.entries(result.metrics).map(([key, value]) => ({ key: `trainer_${key}`, step: 0, value })),
        );
      } finally {
        await fs.promises.rm(workDir, { recursive: true, force: true });
      }
    }
  } catch (error) {
    await finishTrainingRun(deps.db, trainingRunId, 'failed');
    throw error;
  } finally {
    held?.release();
  }
  const artifactKey = candidateKey(runKey, 'model.onnx');
  await deps.store.put(artifactKey, Buffer.from(onnx));
  const result: CandidateRef = {
    trainingRunId,
    artifactKey,
    trainer: trainerName,
    params,
    task,
    classes: classes ? [...classes] : null,
    featureNames: [...featureNames],
    info,
    onnxCheck,
    trainerMetrics,
    device: held?.device ?? null,
  };
  await deps.store.put(resultKey, Buffer.from(JSON.stringify(result)));
  return result;
}

/** float32 outputs cannot match to 1e-5 absolutely at large magnitudes: allow 1e-5 relative above 1. */
function regressionTolerance(predictions: Float64Array): number {
  let max = 1;
  for (const p of predictions) max = Math.max(max, Math.abs(p));
  return 1e-5 * max;
}

async function datasetTransformation(deps: TrainingDeps, dataset: DatasetRef) {
  return (await getTrainingDataset(deps, dataset.featureView, dataset.version)).dataset.transformation;
}

/** The evaluation of a candidate on the held-out split. */
export interface EvaluationReport {
  readonly split: SplitName;
  readonly rows: number;
  readonly metrics: Readonly<Record<string, number>>;
  readonly confusionMatrix: readonly (readonly number[])[] | null;
  readonly slices: readonly SliceEvaluation[];
  /** The like-for-like comparison with the model holding `compareWith`, or null (see the note). */
  readonly champion: ChampionComparison | null;
  readonly championNote: string | null;
  readonly gates: GateReport;
  /** S3 key of the model's monitoring reference (prediction profile on this split), stored at registration. */
  readonly referenceProfileKey?: string;
}

/**
 * Step 3 — scores the uploaded ONNX (exactly what would be served) on the test split (validation
 * or train when there is none), computes slice metrics, scores the model holding `compareWith` on
 * the same rows, and applies the gates.
 */
export async function evaluateCandidate(
  deps: TrainingDeps,
  spec: ParsedTrainingPipelineSpec,
  dataset: DatasetRef,
  candidate: CandidateRef,
): Promise<EvaluationReport> {
  const split: SplitName = dataset.rows.test ? 'test' : dataset.rows.validation ? 'validation' : 'train';
  const encoding: LabelEncoding = {
    task: candidate.task,
    ...(candidate.classes ? { classes: candidate.classes } : {}),
  };
  const loaded = await loadSplit(deps, dataset, split, encoding);
  assertTrainable(loaded.data, candidate.task, split, candidate.featureNames, candidate.classes?.length);
  const onnx = new Uint8Array(await deps.store.get(candidate.artifactKey));
  const session = await loadSession(onnx, { threads: 2 });
  let predictions;
  try {
    predictions = await predictOnnx(session, loaded.data.X, loaded.data.rows, loaded.data.cols);
  } finally {
    await session.release();
  }
  const evaluation = evaluate(candidate.task, loaded.data.y, predictions);
  // The prediction profile goes to S3, not through Temporal: with many classes it is large.
  const referenceProfileKey = `${candidate.artifactKey.replace(/[^/]+$/, '')}reference-profile.json`;
  const reference: ModelReferenceProfile = {
    split,
    rows: loaded.data.rows,
    predictions: predictionProfileOf(predictions, candidate.classes ?? undefined),
    // Binary classifiers: what confidence-based estimation needs before labels arrive.
    ...(candidate.task === 'binary' && predictions.probabilities
      ? { cbpe: binaryCbpeReference(predictions.probabilities, loaded.data.y) }
      : {}),
  };
  await deps.store.put(referenceProfileKey, Buffer.from(JSON.stringify(reference)), {
    contentType: 'application/json',
  });
  const slices: SliceEvaluation[] = [];
  const sliceColumns = [
    ...new Set([...spec.sliceColumns, ...(spec.gates.slices ? [spec.gates.slices.column] : [])]),
  ];
  if (sliceColumns.length) {
    const { rows } = await readTrainingData(deps, dataset.featureView, dataset.version, {
      split,
      transformed: false,
    });
    for (const column of sliceColumns) {
      if (rows.length && !(column in rows[0]!))
        throw new ValidationError(
          `slice column "${column}" is not a column of the training data (columns: ${Object.keys(rows[0]!).join(', ')}).`,
          {
            location: 'sliceColumns',
          },
        );
      slices.push(
        evaluateSlices(
          candidate.task,
          loaded.data.y,
          predictions,
          column,
          rows.map((r) => r[column]),
          spec.gates.slices?.column === column ? spec.gates.slices.minRows : 20,
        ),
      );
    }
  }
  const { comparison: champion, note: championNote } = await compareWithChampion(deps, {
    model: spec.model,
    alias: spec.compareWith,
    dataset: { featureView: dataset.featureView, version: dataset.version },
    split,
    task: candidate.task,
    encoding,
    label: labelOf(loaded.matrix),
    candidate: { onnx, transformation: await datasetTransformation(deps, dataset) },
  });
  const gap = spec.gates.slices
    ? slices.find((s) => s.column === spec.gates.slices!.column)?.gaps
    : undefined;
  const gates = applyGates(spec.gates, evaluation.metrics, champion ?? undefined, gap);
  return {
    split,
    rows: loaded.data.rows,
    metrics: evaluation.metrics,
    confusionMatrix: evaluation.confusionMatrix ?? null,
    slices,
    champion,
    championNote,
    gates,
    referenceProfileKey,
  };
}

/** What the champion comparison compared, as model-version tags (searchable, shown by `fti models get`). */
function comparisonTags(evaluation: EvaluationReport): Record<string, string> {
  const c = evaluation.champion;
  if (!c) return evaluation.championNote ? { compared_with: `none: ${evaluation.championNote}` } : {};
  const metric = (m: Readonly<Record<string, number>>) =>
    Object.entries(m)
      .filter(([, v]) => Number.isFinite(v))
      .map(([k, v]) => `${k}=${v.toFixed(4)}`)
      .join(' ');
  return {
    compared_with: `${c.alias} v${c.version} (trained on ${c.trainingDataset.featureView} v${c.trainingDataset.viewVersion} dataset #${c.trainingDataset.version}, scored with its own transformations)`,
    comparison_rows: `${c.rows} held-out rows; ${c.excludedRows} left out because ${c.alias} trained or validated on them${c.overlap === 'unknown' ? ' (overlap unknown: its dataset split by row position)' : ''}`,
    comparison_champion_metrics: metric(c.metrics),
    comparison_candidate_metrics: metric(c.candidateMetrics),
  };
}

/** What the register step did. */
export interface RegistrationResult {
  readonly model: string;
  readonly version: number;
  readonly state: 'registered' | 'rejected';
  readonly alias: { readonly name: string; readonly from: number | null; readonly to: number } | null;
}

/**
 * Step 4 — registers the candidate with signature, input example, metrics, params and lineage:
 * `registered` when every gate passed (then `alias` moves to it), `rejected` otherwise (kept for
 * inspection, never aliased or deployed). Idempotent per run.
 */
export async function registerCandidate(
  deps: TrainingDeps,
  spec: ParsedTrainingPipelineSpec,
  dataset: DatasetRef,
  candidate: CandidateRef,
  evaluation: EvaluationReport,
  run: { runKey: string; workflowId?: string; workflowRunId?: string; pipelineRunId?: number },
): Promise<RegistrationResult> {
  const onnx = new Uint8Array(await deps.store.get(candidate.artifactKey));
  const { dataset: td } = await getTrainingDataset(deps, dataset.featureView, dataset.version);
  const classes = candidate.classes ?? undefined;
  const signature: ModelSignature = {
    task: candidate.task,
    inputs: [
      {
        name: 'features',
        type: 'float32',
        shape: [-1, candidate.featureNames.length],
        featureNames: candidate.featureNames,
      },
    ],
    outputs:
      candidate.task === 'regression'
        ? [{ name: 'prediction', type: 'float32', shape: [-1] }]
        : [
            { name: 'label', type: 'int64', shape: [-1] },
            { name: 'probabilities', type: 'float32', shape: [-1, classes!.length] },
          ],
    ...(classes ? { classes } : {}),
  };
  const { matrix } = await readTrainingMatrix(deps, dataset.featureView, dataset.version, evaluation.split);
  const inputExample = {
    featureNames: candidate.featureNames,
    rows: Array.from({ length: Math.min(3, matrix.rows) }, (_, r) =>
      Array.from(matrix.X.subarray(r * matrix.cols, (r + 1) * matrix.cols), (v) =>
        Number.isNaN(v) ? null : v,
      ),
    ),
  };
  const state = evaluation.gates.passed ? 'registered' : 'rejected';
  const referenceProfile = evaluation.referenceProfileKey
    ? (JSON.parse(
        (await deps.store.get(evaluation.referenceProfileKey)).toString('utf8'),
      ) as ModelReferenceProfile)
    : undefined;
  const metrics: Record<string, number> = {};
  for (const [k, v] of Object.entries(evaluation.metrics)) if (Number.isFinite(v)) metrics[k] = v;
  const attachments: Record<string, Uint8Array> = {};
  for (const [file, key] of Object.entries(candidate.attachmentKeys ?? {}))
    attachments[file] = new Uint8Array(await deps.store.get(key));
  const version = await registerModelVersion(deps, {
    model: spec.model,
    idempotencyKey: run.runKey,
    trainer: candidate.trainer,
    onnx,
    signature,
    inputExample,
    metrics,
    params: candidate.params,
    tags: {
      ...spec.tags,
      pipeline: spec.name,
      split: evaluation.split,
      ...(candidate.device ? { device: candidate.device } : {}),
      ...comparisonTags(evaluation),
      ...(state === 'rejected'
        ? {
            rejected: evaluation.gates.results
              .filter((r) => !r.passed)
              .map((r) => r.gate)
              .join('; '),
          }
        : {}),
    },
    description: spec.description,
    state,
    ...(referenceProfile ? { referenceProfile } : {}),
    ...(Object.keys(attachments).length ? { attachments } : {}),
    lineage: {
      ...(candidate.provenance ? { provenance: candidate.provenance } : {}),
      featureViewId: dataset.featureView.id,
      trainingDatasetId: td.id,
      trainingRunId: candidate.trainingRunId,
      ...(run.workflowId ? { workflowId: run.workflowId } : {}),
      ...(run.workflowRunId ? { workflowRunId: run.workflowRunId } : {}),
      ...(deps.codeVersion ? { codeVersion: deps.codeVersion } : {}),
    },
  });
  await logMetrics(
    deps.db,
    candidate.trainingRunId,
    Object.entries(metrics).map(([key, value]) => ({ key, step: 0, value })),
  );
  await finishTrainingRun(deps.db, candidate.trainingRunId, 'completed');
  let alias: RegistrationResult['alias'] = null;
  if (spec.alias && version.state === 'registered') {
    const moved = await setModelAlias(deps.db, spec.model, spec.alias, version.version, {
      changedBy: `training pipeline ${spec.name}${run.workflowId ? ` (${run.workflowId})` : ''}`,
      ...(run.pipelineRunId ? { pipelineRunId: run.pipelineRunId } : {}),
    });
    alias = { name: spec.alias, ...moved };
  }
  return { model: spec.model, version: version.version, state: version.state, alias };
}

/** Convenience for tests and notebooks: runs all four steps in-process (no Temporal). */
export async function runTrainingPipeline(
  deps: TrainingDeps,
  rawSpec: TrainingPipelineSpec,
  runKey: string,
): Promise<{
  dataset: DatasetRef;
  candidate: CandidateRef;
  evaluation: EvaluationReport;
  registration: RegistrationResult;
}> {
  const spec = await checkTrainingSpec(deps, rawSpec);
  const dataset = await prepareTrainingData(deps, spec, runKey);
  const candidate = await trainCandidate(deps, spec, dataset, runKey);
  const evaluation = await evaluateCandidate(deps, spec, dataset, candidate);
  const registration = await registerCandidate(deps, spec, dataset, candidate, evaluation, { runKey });
  return { dataset, candidate, evaluation, registration };
}

/** The model a view + version alias resolves to, if any (for callers that want the current champion). */
export async function currentModel(deps: TrainingDeps, model: string, alias = 'champion') {
  try {
    return await getModelVersion(deps.db, model, alias);
  } catch (error) {
    if (error instanceof ModelNotFoundError) return undefined;
    throw error;
  }
}
