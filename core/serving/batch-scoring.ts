// The scoring loop of batch inference: model inputs stream out of DuckDB by column, straight into
// the float32 tensor ONNX takes, and the scores come back as typed arrays. No row objects, no text:
// at a million rows the per-value conversions and the per-row CSV lines were most of the work.
import type * as ort from 'onnxruntime-node';
import type { DuckSession, ResultChunk } from '../duckdb';
import {
  encodeFeature,
  outputsOf,
  SPINE_ROW,
  type FittedTransformations,
  type RawValue,
} from '../featurestore';
import { quoteIdent } from '../identifiers';
import { predictOnnx } from '../ml';

/** Scores of a batch, by position in spine-row order. */
export interface ScoredRows {
  readonly rows: number;
  /** The spine row id of each score (joins the scores back to keys and times in DuckDB). */
  readonly spineRows: Float64Array;
  /** Regression: the prediction; binary: P(positive); multiclass: the top class's probability. NaN when not finite. */
  readonly scores: Float64Array;
  /** Classifiers: the index of the top class (into the model's classes); absent for regression. */
  readonly classIndex?: Int32Array;
}

/** DuckDB types whose values a passthrough feature encodes exactly as `CAST(x AS DOUBLE)` does. */
const NUMERIC =
  /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|FLOAT|DOUBLE|DECIMAL(\(\d+,\s*\d+\))?|BOOLEAN)$/;

interface FeaturePlan {
  readonly feature: string;
  /** First output column of this feature in the model-input row. */
  readonly offset: number;
  /** Read as DOUBLE straight from DuckDB's vector (no transformation, numeric column). */
  readonly direct: boolean;
}

/**
 * Plans how each raw feature becomes model inputs. A feature without transformation steps whose
 * column is numeric is selected as DOUBLE with NULL and non-finite values as NaN — exactly what
 * {@link encodeFeature} makes of it — and copied from the vector; every other feature goes value by
 * value through `encodeFeature`, the code training and serving use.
 */
async function planFeatures(
  duck: DuckSession,
  relation: string,
  fitted: FittedTransformations,
): Promise<{ plans: FeaturePlan[]; select: string[] }> {
  const types = new Map(
    fitted.features.length
      ? (await duck.describe(`SELECT ${fitted.features.map(quoteIdent).join(', ')} FROM ${relation}`)).map(
          (c) => [c.name, c.type] as const,
        )
      : [],
  );
  const plans: FeaturePlan[] = [];
  const select: string[] = [];
  let offset = 0;
  for (const feature of fitted.features) {
    const steps = fitted.steps[feature] ?? [];
    const direct = steps.length === 0 && NUMERIC.test(types.get(feature) ?? '');
    const q = quoteIdent(feature);
    select.push(
      direct
        ? `COALESCE(CASE WHEN isfinite(CAST(${q} AS DOUBLE)) THEN CAST(${q} AS DOUBLE) END, 'NaN'::DOUBLE) AS ${q}`
        : q,
    );
    plans.push({ feature, offset, direct });
    offset += outputsOf(feature, steps).length;
  }
  return { plans, select };
}

/** Fills rows [at, at + chunk.rows) of the row-major matrix `X` (width `cols`) from one chunk. */
function encodeChunk(
  chunk: ResultChunk,
  plans: readonly FeaturePlan[],
  fitted: FittedTransformations,
  X: Float32Array,
  at: number,
  cols: number,
): void {
  const scratch: number[] = [];
  plans.forEach((plan, i) => {
    const column = i + 1; // column 0 is the spine row
    if (plan.direct) {
      chunk.doublesInto(column, X, at * cols + plan.offset, cols);
      return;
    }
    const values = chunk.values(column);
    for (let r = 0; r < chunk.rows; r++) {
      scratch.length = 0;
      encodeFeature(fitted, plan.feature, values[r] as RawValue, scratch);
      const base = (at + r) * cols + plan.offset;
      for (let k = 0; k < scratch.length; k++) X[base + k] = scratch[k]!;
    }
  });
}

/**
 * Scores every row of `relation` (a materialized batch) in `SPINE_ROW` order through `session`,
 * `chunkSize` rows per ONNX call, and returns the scores as typed arrays. One streaming query reads
 * the relation once; the next chunk is read and encoded while ONNX scores the current one.
 */
export async function scoreRelation(
  duck: DuckSession,
  session: ort.InferenceSession,
  request: {
    readonly relation: string;
    readonly fitted: FittedTransformations;
    readonly rows: number;
    readonly chunkSize: number;
    readonly onProgress?: (scored: number) => void;
  },
): Promise<ScoredRows> {
  const { relation, fitted, chunkSize } = request;
  const cols = fitted.outputs.length;
  const { plans, select } = await planFeatures(duck, relation, fitted);
  // Sized by the batch's row count, grown if the relation turns out larger.
  let capacity = Math.max(1, request.rows);
  let spineRows = new Float64Array(capacity);
  let scores = new Float64Array(capacity);
  let classIndex: Int32Array | undefined;
  let scored = 0;
  // The ONNX call in flight never rejects: its failure is kept and rethrown at the next wait, so a
  // failed call cannot become an unhandled rejection (which ends a Node process) while the loop
  // waits on DuckDB.
  let inFlight: Promise<void> | undefined;
  let failure: { error: unknown } | undefined;
  const settle = async (): Promise<void> => {
    await inFlight;
    if (failure) throw failure.error;
  };

  const score = async (X: Float32Array, n: number, start: number): Promise<void> => {
    const out = await predictOnnx(session, X, n, cols);
    if (out.prediction) {
      for (let i = 0; i < n; i++) {
        const s = out.prediction[i]!;
        scores[start + i] = Number.isFinite(s) ? s : Number.NaN;
      }
      return;
    }
    const k = out.classes!;
    const p = out.probabilities!;
    classIndex ??= new Int32Array(capacity);
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let c = 1; c < k; c++) if (p[i * k + c]! > p[i * k + best]!) best = c;
      const s = k === 2 ? p[i * 2 + 1]! : p[i * k + best]!;
      scores[start + i] = Number.isFinite(s) ? s : Number.NaN;
      classIndex[start + i] = best;
    }
  };
  const grow = (needed: number) => {
    if (needed <= capacity) return;
    capacity = Math.max(needed, capacity * 2);
    const more = (a: Float64Array) => {
      const b = new Float64Array(capacity);
      b.set(a);
      return b;
    };
    spineRows = more(spineRows);
    scores = more(scores);
    if (classIndex) {
      const c = new Int32Array(capacity);
      c.set(classIndex);
      classIndex = c;
    }
  };

  let X = new Float32Array(chunkSize * cols);
  let filled = 0;
  let start = 0;
  const flush = async () => {
    if (filled === 0) return;
    // At most one ONNX call in flight: wait for it before handing over the next matrix.
    await settle();
    const [matrix, n, at] = [X.subarray(0, filled * cols), filled, start];
    inFlight = score(matrix, n, at).then(
      () => request.onProgress?.(at + n),
      (error: unknown) => {
        failure ??= { error };
      },
    );
    X = new Float32Array(chunkSize * cols);
    start += filled;
    filled = 0;
  };
  const sql = `SELECT ${[`CAST(${SPINE_ROW} AS DOUBLE)`, ...select].join(', ')} FROM ${relation} ORDER BY ${SPINE_ROW}`;
  try {
    for await (const chunk of duck.stream(sql)) {
      let offset = 0;
      while (offset < chunk.rows) {
        // A DuckDB chunk may straddle two ONNX batches: encode the part that fits, then flush.
        const take = Math.min(chunk.rows - offset, chunkSize - filled);
        if (scored + take > capacity) {
          await settle(); // the scoring call writes into the arrays being replaced
          grow(scored + take);
        }
        const part = offset === 0 && take === chunk.rows ? chunk : sliceChunk(chunk, offset, take);
        part.doublesInto(0, spineRows, scored, 1);
        encodeChunk(part, plans, fitted, X, filled, cols);
        filled += take;
        scored += take;
        offset += take;
        if (filled === chunkSize) await flush();
      }
    }
    await flush();
    await settle();
  } finally {
    await inFlight; // never leave a call writing into these arrays after an error
  }
  return {
    rows: scored,
    spineRows: spineRows.subarray(0, scored),
    scores: scores.subarray(0, scored),
    ...(classIndex ? { classIndex: classIndex.subarray(0, scored) } : {}),
  };
}

/** Rows [offset, offset + rows) of a chunk, read through the same two methods. */
function sliceChunk(chunk: ResultChunk, offset: number, rows: number): ResultChunk {
  return {
    rows,
    doublesInto(index, into, at, stride) {
      const all = new Float64Array(chunk.rows);
      chunk.doublesInto(index, all, 0, 1);
      for (let i = 0; i < rows; i++) into[at + i * stride] = all[offset + i]!;
    },
    values: (index) => chunk.values(index).slice(offset, offset + rows),
  };
}
