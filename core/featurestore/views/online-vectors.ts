import { ValidationError } from '../../errors';
import type { OnlineStore } from '../online';
import { encodeRow, passthrough, type FittedTransformations } from './model-transforms';
import { computeOnDemand, type OnDemandFunction, type OnDemandRegistry } from './on-demand';
import type { ResolvedFeatureView } from './resolve';

/** Where a feature value came from in an online vector. */
export type FeatureStatus = 'present' | 'missing' | 'outside_ttl' | 'passed' | 'computed';

/** One entity to look up: its key columns and request-time values. */
export interface VectorRequest {
  /** Values of the view's entity-key columns (`view.entityKeys`). */
  readonly keys: Readonly<Record<string, unknown>>;
  /**
   * Request-time values: spine columns (e.g. the transaction amount), inputs of on-demand features,
   * or any feature to pass instead of reading it (passed features win over stored ones).
   */
  readonly request?: Readonly<Record<string, unknown>>;
}

/** A served feature vector. */
export interface FeatureVector {
  readonly keys: Readonly<Record<string, unknown>>;
  /** Untransformed values by feature name, in view order. */
  readonly values: Readonly<Record<string, unknown>>;
  /** Per feature, in view order. */
  readonly status: Readonly<Record<string, FeatureStatus>>;
  /** Model input (transformations applied), in `transformation.outputs` order; NaN = missing. */
  readonly vector: readonly number[];
  /** Inference-helper columns (returned for inference only). */
  readonly helpers: Readonly<Record<string, unknown>>;
}

/** Options of {@link OnlineFeatureReader.get}. */
export interface VectorOptions {
  /** `error`: a key absent from a joined group fails the call; `null`: its features are null. @default 'error' */
  readonly missing?: 'error' | 'null';
  /** Decides TTL. @default now */
  readonly now?: Date;
}

/** An entity key (or request value) a vector needs is absent from the store or the request. */
export class MissingFeatureError extends ValidationError {}

/**
 * Serves a feature view's online vectors: every joined group read from the online store in one
 * round trip, values in view order with per-feature status, passed and on-demand features merged,
 * transformations applied with the same code as training reads. Built once per view version and
 * reused (no metadata queries per call).
 */
export class OnlineFeatureReader {
  private readonly fitted: FittedTransformations;
  /** Spine columns: request parameters at serving time. */
  private readonly spineColumns: ReadonlySet<string>;
  private readonly functions: readonly {
    name: string;
    fn: OnDemandFunction;
    inputs: Readonly<Record<string, string>>;
  }[];

  constructor(
    private readonly store: OnlineStore,
    readonly view: ResolvedFeatureView,
    options: { onDemand: OnDemandRegistry; transformation?: FittedTransformations },
  ) {
    this.fitted = options.transformation ?? passthrough(view.features);
    this.spineColumns = new Set(view.columns.filter((c) => c.origin === 'spine').map((c) => c.name));
    this.functions = view.onDemand.map((b) => ({
      name: b.name,
      fn: options.onDemand.get(b.function),
      inputs: b.inputs,
    }));
    for (const g of view.joins)
      if (!g.group.spec.online.enabled)
        throw new ValidationError(
          `feature view ${view.name}: feature group ${g.group.spec.name} v${g.group.spec.version} is not online-enabled; enable online on it to serve this view.`,
        );
  }

  /** The model's input names (transformed), in vector order. */
  get outputs(): readonly string[] {
    return this.fitted.outputs;
  }

  /** Vectors for many entities, in request order. */
  async get(requests: readonly VectorRequest[], options: VectorOptions = {}): Promise<FeatureVector[]> {
    const view = this.view;
    const missingPolicy = options.missing ?? 'error';
    requests.forEach((r, i) => {
      if (!r || typeof r !== 'object' || !r.keys || typeof r.keys !== 'object')
        throw new ValidationError(`request ${i + 1}: needs "keys" with ${view.entityKeys.join(', ')}.`, {
          location: `[${i}].keys`,
        });
      for (const key of view.entityKeys)
        if (r.keys[key] === undefined || r.keys[key] === null)
          throw new MissingFeatureError(
            `request ${i + 1}: entity key "${key}" is missing; feature view ${view.name} needs ${view.entityKeys.join(', ')}.`,
            { location: `[${i}].keys.${key}` },
          );
    });
    const lookups = view.joins.map((join) => ({
      spec: join.group.spec,
      keys: requests.map((r) =>
        Object.fromEntries(
          join.on.map((p) => [p.groupColumn, r.request?.[p.spineColumn] ?? r.keys[p.spineColumn]]),
        ),
      ),
    }));
    const results = await this.store.readMany(lookups, options.now);

    return requests.map((r, i) => {
      const row: Record<string, unknown> = {};
      const status: Record<string, FeatureStatus> = {};
      for (const column of view.columns) {
        if (column.origin === 'on_demand') continue;
        const passed =
          r.request?.[column.name] ?? (column.origin === 'spine' ? r.keys[column.name] : undefined);
        if (passed !== undefined) {
          row[column.name] = passed;
          status[column.name] = 'passed';
          continue;
        }
        if (column.origin === 'spine') {
          row[column.name] = null;
          status[column.name] = 'missing';
          continue;
        }
        const found = results[column.join!]![i]!;
        if (found.status === 'missing' && missingPolicy === 'error') {
          const join = view.joins[column.join!]!;
          throw new MissingFeatureError(
            `request ${i + 1}: no online row in ${join.group.spec.name} v${join.group.spec.version} for ${JSON.stringify(lookups[column.join!]!.keys[i])}; pass missing: 'null' to serve nulls instead.`,
            { location: `[${i}].keys` },
          );
        }
        row[column.name] = found.status === 'present' ? (found.values?.[column.source!] ?? null) : null;
        status[column.name] = found.status;
      }
      for (const { name, fn, inputs } of this.functions) {
        const needed = Object.values(inputs).filter((c) => row[c] === null || row[c] === undefined);
        const spineInputs = needed.filter((c) => this.spineColumns.has(c));
        if (spineInputs.length && missingPolicy === 'error')
          throw new MissingFeatureError(
            `request ${i + 1}: on-demand feature ${name} needs request parameter(s) ${spineInputs.join(', ')}.`,
            { location: `[${i}].request` },
          );
        row[name] = computeOnDemand(fn, { name, function: fn.name, inputs }, row);
        status[name] = 'computed';
      }
      const values: Record<string, unknown> = {};
      const featureStatus: Record<string, FeatureStatus> = {};
      for (const f of view.features) {
        values[f] = row[f] ?? null;
        featureStatus[f] = status[f]!;
      }
      const helpers: Record<string, unknown> = {};
      for (const c of view.columns) if (c.role === 'inference_helper') helpers[c.name] = row[c.name] ?? null;
      return { keys: r.keys, values, status: featureStatus, vector: encodeRow(this.fitted, row), helpers };
    });
  }
}
