import type * as ort from 'onnxruntime-node';
import type { Database } from '../db';
import { ValidationError } from '../errors';
import {
  getFeatureViewById,
  getTrainingDataset,
  OnlineFeatureReader,
  type FeatureVector,
  type OnDemandRegistry,
  type OnlineStore,
  type VectorRequest,
} from '../featurestore';
import { loadSession, predictOnnx } from '../ml';
import type { ModelSignature } from '../registry';
import { getModelVersionById } from '../registry';
import type { ObjectStore } from '../storage';
import type { Binding } from './deployments';

/** Adapters a server needs to load bindings. */
export interface ScorerDeps {
  readonly db: Database;
  readonly store: ObjectStore;
  readonly online: OnlineStore;
  readonly onDemand: OnDemandRegistry;
  /** onnxruntime intra-op threads per session. @default 1 */
  readonly threads?: number;
}

/** One prediction of a model. */
export interface ModelOutput {
  /** Predicted class name (classification). */
  readonly label?: string;
  /** Class name → probability (classification). */
  readonly probabilities?: Readonly<Record<string, number>>;
  /** Regression output. */
  readonly prediction?: number;
}

/** 32-bit FNV-1a: stable across processes and platforms (sticky traffic splitting). */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * Picks the serving variant for an entity: buckets 0–99 by a hash of the entity key, assigned to
 * the non-shadow variants in order by weight. The same entity always lands on the same variant
 * while the weights stay the same.
 */
export function pickVariant<T extends { readonly weight: number; readonly shadow: boolean }>(
  variants: readonly T[],
  entityKey: string,
): T {
  const bucket = fnv1a(entityKey) % 100;
  let acc = 0;
  const serving = variants.filter((v) => !v.shadow);
  for (const v of serving) {
    acc += v.weight;
    if (bucket < acc) return v;
  }
  return serving[serving.length - 1]!;
}

/** A stable string for an entity's keys (order-independent). */
export function entityKeyOf(keys: Readonly<Record<string, unknown>>): string {
  return JSON.stringify(
    Object.keys(keys)
      .sort()
      .map((k) => [k, keys[k]]),
  );
}

/**
 * A binding loaded into memory: the ONNX session, the feature view, the training dataset's fitted
 * transformations and an online reader — everything a request needs, so requests never query
 * metadata.
 */
export class LoadedBinding {
  private constructor(
    readonly binding: Binding,
    readonly signature: ModelSignature,
    private readonly session: ort.InferenceSession,
    readonly reader: OnlineFeatureReader,
  ) {}

  /** Loads and warms a binding (one inference on zeros). */
  static async load(deps: ScorerDeps, binding: Binding): Promise<LoadedBinding> {
    const model = await getModelVersionById(deps.db, binding.model.id);
    const view = await getFeatureViewById(deps.db, binding.featureView.id);
    const { dataset } = await getTrainingDataset(
      { db: deps.db },
      { name: view.view.name, version: view.view.version },
      binding.trainingDataset.version,
    );
    const bytes = new Uint8Array(await deps.store.get(model.artifactKey));
    const session = await loadSession(bytes, { threads: deps.threads ?? 1 });
    const reader = new OnlineFeatureReader(deps.online, view.view, {
      onDemand: deps.onDemand,
      transformation: dataset.transformation,
    });
    const loaded = new LoadedBinding(binding, model.signature, session, reader);
    const cols = reader.outputs.length;
    await predictOnnx(session, new Float32Array(cols), 1, cols);
    return loaded;
  }

  /** Model inputs per row. */
  get cols(): number {
    return this.reader.outputs.length;
  }

  /** Runs the model on a row-major float matrix of transformed features. */
  async scoreMatrix(X: Float32Array, rows: number): Promise<ModelOutput[]> {
    if (X.length !== rows * this.cols)
      throw new ValidationError(
        `model ${this.binding.model.name} v${this.binding.model.version} takes ${this.cols} features per row; got ${X.length / Math.max(rows, 1)}.`,
      );
    const out = await predictOnnx(this.session, X, rows, this.cols);
    const classes = this.signature.classes;
    return Array.from({ length: rows }, (_, i) => {
      if (out.prediction) return { prediction: out.prediction[i]! };
      const k = out.classes!;
      const probabilities: Record<string, number> = {};
      let best = 0;
      for (let c = 0; c < k; c++) {
        probabilities[classes?.[c] ?? String(c)] = out.probabilities![i * k + c]!;
        if (out.probabilities![i * k + c]! > out.probabilities![i * k + best]!) best = c;
      }
      return { label: classes?.[best] ?? String(best), probabilities };
    });
  }

  /** Features from the online store (one round trip) → transformations → model. */
  async score(
    requests: readonly VectorRequest[],
    missing: 'error' | 'null',
  ): Promise<{ vectors: FeatureVector[]; outputs: ModelOutput[]; featureMs: number; modelMs: number }> {
    const t0 = performance.now();
    const vectors = await this.reader.get(requests, { missing });
    const t1 = performance.now();
    const X = new Float32Array(vectors.length * this.cols);
    vectors.forEach((v, i) => X.set(v.vector, i * this.cols));
    const outputs = await this.scoreMatrix(X, vectors.length);
    return { vectors, outputs, featureMs: t1 - t0, modelMs: performance.now() - t1 };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
