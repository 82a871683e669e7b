import * as ort from 'onnxruntime-node';
import { ValidationError } from '../../errors';
import type { Predictions, Task } from '../task';
import { FEATURES_INPUT } from './heads';

/** Options for ONNX sessions. */
export interface SessionOptions {
  /** Intra-op threads. @default 1 */
  readonly threads?: number;
}

/** Loads ONNX bytes into an onnxruntime-node session; a model that does not load is a ValidationError. */
export async function loadSession(
  bytes: Uint8Array,
  options: SessionOptions = {},
): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(bytes, {
      intraOpNumThreads: options.threads ?? 1,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
    });
  } catch (error) {
    throw new ValidationError(
      `the ONNX model does not load in onnxruntime: ${(error as Error).message.split('\n')[0]}`,
      {
        location: 'model.onnx',
      },
    );
  }
}

/** Runs a model on a row-major float matrix (converted to float32) and returns its standard outputs. */
export async function predictOnnx(
  session: ort.InferenceSession,
  X: Float64Array | Float32Array,
  rows: number,
  cols: number,
): Promise<Predictions & { label?: BigInt64Array }> {
  const input = X instanceof Float32Array ? X : Float32Array.from(X);
  const feeds = { [FEATURES_INPUT]: new ort.Tensor('float32', input, [rows, cols]) };
  const result = await session.run(feeds);
  const out: {
    rows: number;
    prediction?: Float64Array;
    probabilities?: Float64Array;
    classes?: number;
    label?: BigInt64Array;
  } = { rows };
  if (result.prediction) out.prediction = Float64Array.from(result.prediction.data as Float32Array);
  if (result.probabilities) {
    out.probabilities = Float64Array.from(result.probabilities.data as Float32Array);
    out.classes = Number(result.probabilities.dims[1]);
  }
  if (result.label) out.label = result.label.data as BigInt64Array;
  for (const t of Object.values(result)) t.dispose();
  return out;
}

/** The largest absolute difference between two prediction sets (NaN if shapes differ). */
export function maxAbsDifference(a: Predictions, b: Predictions): number {
  const x = a.prediction ?? a.probabilities;
  const y = b.prediction ?? b.probabilities;
  if (!x || !y || x.length !== y.length) return Number.NaN;
  let max = 0;
  for (let i = 0; i < x.length; i++) max = Math.max(max, Math.abs(x[i]! - y[i]!));
  return max;
}

/**
 * Checks an ONNX model: it loads, takes `features` float [N, cols], returns the outputs the task
 * needs, and (when `expected` is given) reproduces those predictions within `tolerance`.
 * Returns the max abs difference (0 without `expected`).
 */
export async function verifyOnnxModel(
  bytes: Uint8Array,
  task: Task,
  cols: number,
  sample: { X: Float64Array; rows: number },
  expected?: Predictions,
  tolerance = 1e-5,
): Promise<number> {
  const session = await loadSession(bytes);
  try {
    const inputs = session.inputNames;
    if (inputs.length !== 1 || inputs[0] !== FEATURES_INPUT)
      throw new ValidationError(
        `the ONNX model takes inputs [${inputs.join(', ')}]; it must take one float input "${FEATURES_INPUT}" of shape [N, ${cols}] (the feature view's transformed features).`,
      );
    const needed = task === 'regression' ? ['prediction'] : ['label', 'probabilities'];
    const missing = needed.filter((n) => !session.outputNames.includes(n));
    if (missing.length)
      throw new ValidationError(
        `the ONNX model lacks output(s) ${missing.join(', ')} needed for a ${task} model (has: ${session.outputNames.join(', ')}).`,
      );
    let actual: Predictions;
    try {
      actual = await predictOnnx(session, sample.X, sample.rows, cols);
    } catch (error) {
      throw new ValidationError(
        `the ONNX model fails on ${sample.rows} rows × ${cols} features: ${(error as Error).message.split('\n')[0]}; its input must be float [N, ${cols}].`,
      );
    }
    if (!expected) return 0;
    const diff = maxAbsDifference(actual, expected);
    if (!(diff < tolerance))
      throw new ValidationError(
        `the ONNX export does not reproduce the trainer's predictions (max abs difference ${diff}, allowed < ${tolerance}); the model is not registered.`,
      );
    return diff;
  } finally {
    await session.release();
  }
}
