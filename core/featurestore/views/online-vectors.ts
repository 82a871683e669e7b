import { ValidationError } from '../../errors';
import type { OnlineStore } from '../online';
import { checkFeatureValue, typeOf, type TypedField } from '../value-check';
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
   * Request-time values: the view's spine columns other than entity keys (e.g. the transaction
   * amount, the event time), which are also the on-demand features' request inputs, and the joined
   * features the view lists in `allowRequestOverride`. Anything else is refused: stored features
   * come from the store.
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
  /**
   * Model input (transformations applied), in `transformation.outputs` order; NaN = missing. Empty
   * from a reader built with `encode: false`.
   */
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

/** A request key or field the view does not take, or of the wrong type (HTTP 422). */
export class RequestFieldError extends ValidationError {}

/**
 * Serves a feature view's online vectors: every joined group read from the online store in one
 * round trip, values in view order with per-feature status, passed and on-demand features merged,
 * transformations applied with the same code as training reads. Built once per view version and
 * reused (no metadata queries per call).
 */
export class OnlineFeatureReader {
  private readonly fitted: FittedTransformations;
  private readonly encode: boolean;
  /** Spine columns: request parameters at serving time. */
  private readonly spineColumns: ReadonlySet<string>;
  private readonly functions: readonly {
    name: string;
    fn: OnDemandFunction;
    inputs: Readonly<Record<string, string>>;
  }[];
  /** Entity-key columns with their types. */
  private readonly keyFields: ReadonlyMap<string, TypedField>;
  /** What a request may set: non-key spine columns and the features the view lets requests override. */
  private readonly requestFields: ReadonlyMap<string, TypedField>;
  /** The view's stored and spine columns (not on-demand), in view order, with where each comes from. */
  private readonly stored: readonly {
    readonly name: string;
    readonly spine: boolean;
    readonly join: number;
    readonly source: string;
  }[];
  /**
   * Objects with every property a vector's objects get, in their order (all null). Each vector's
   * objects start as copies of them: filling existing properties is much cheaper than adding 20-odd
   * properties one by one through keyed stores, which was most of a vector's CPU time.
   */
  private readonly templates: {
    readonly row: Readonly<Record<string, unknown>>;
    readonly values: Readonly<Record<string, unknown>>;
    readonly helpers: Readonly<Record<string, unknown>>;
  };
  private readonly helperColumns: readonly string[];

  constructor(
    private readonly store: OnlineStore,
    readonly view: ResolvedFeatureView,
    options: {
      onDemand: OnDemandRegistry;
      transformation?: FittedTransformations;
      /**
       * Compute model inputs (`vector`). Off for readers that serve feature values only: without a
       * dataset's transformations a text feature has no numeric encoding. @default true
       */
      encode?: boolean;
    },
  ) {
    this.fitted = options.transformation ?? passthrough(view.features);
    this.encode = options.encode ?? true;
    this.spineColumns = new Set(view.columns.filter((c) => c.origin === 'spine').map((c) => c.name));
    const typed = (name: string): TypedField => ({
      name,
      type: view.columns.find((c) => c.name === name)?.type ?? 'string',
    });
    this.keyFields = new Map(view.entityKeys.map((k) => [k, typed(k)]));
    const overridable = new Set(view.definition.allowRequestOverride ?? []);
    this.requestFields = new Map(
      view.columns
        .filter(
          (c) =>
            !this.keyFields.has(c.name) &&
            c.type !== null &&
            ((c.origin === 'spine' && c.role !== 'label' && c.role !== 'training_helper') ||
              overridable.has(c.name)),
        )
        .map((c) => [c.name, typed(c.name)]),
    );
    this.stored = view.columns
      .filter((c) => c.origin !== 'on_demand')
      .map((c) => ({
        name: c.name,
        spine: c.origin === 'spine',
        join: c.join ?? -1,
        source: c.source ?? c.name,
      }));
    this.helperColumns = view.columns.filter((c) => c.role === 'inference_helper').map((c) => c.name);
    const nulls = (names: readonly string[]) =>
      Object.fromEntries(names.map((name) => [name, null])) as Record<string, unknown>;
    this.templates = {
      row: nulls(this.stored.map((c) => c.name)),
      values: nulls(view.features),
      helpers: nulls(this.helperColumns),
    };
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

  /**
   * One request's keys and fields against the view: keys exactly the entity keys, each of its
   * column's type; request fields only those a request may set, each of its type. Returns both
   * with values normalised (times as ISO strings); errors name the request, the field and the fix.
   */
  private check(
    r: VectorRequest,
    i: number,
  ): { keys: Record<string, unknown>; request: Record<string, unknown> } {
    const view = this.view;
    const at = `request ${i + 1}`;
    const isObject = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
    if (!isObject(r) || !isObject(r.keys))
      throw new ValidationError(`${at}: needs "keys" with ${view.entityKeys.join(', ')}.`, {
        location: `[${i}].keys`,
      });
    const keys: Record<string, unknown> = {};
    for (const [name, field] of this.keyFields) {
      const value = r.keys[name];
      if (value === undefined || value === null)
        throw new MissingFeatureError(
          `${at}: entity key "${name}" is missing; feature view ${view.name} needs ${view.entityKeys.join(', ')}.`,
          { location: `[${i}].keys.${name}` },
        );
      keys[name] = this.checkValue(field, value, () => `${at}: entity key "${name}"`, `[${i}].keys`);
    }
    for (const name of Object.keys(r.keys))
      if (!this.keyFields.has(name))
        throw new RequestFieldError(
          `${at}: "${name}" is not an entity key of feature view ${view.name} (keys: ${view.entityKeys.join(', ')}).`,
          { location: `[${i}].keys.${name}` },
        );
    const request: Record<string, unknown> = {};
    if (r.request === undefined || r.request === null) return { keys, request };
    if (!isObject(r.request))
      throw new RequestFieldError(
        `${at}: "request" must be an object of field values, got ${typeOf(r.request)}.`,
        {
          location: `[${i}].request`,
        },
      );
    for (const [name, value] of Object.entries(r.request)) {
      const field = this.requestFields.get(name);
      if (!field) throw new RequestFieldError(this.refusal(at, name), { location: `[${i}].request.${name}` });
      if (value === null || value === undefined) continue;
      request[name] = this.checkValue(field, value, () => `${at}: request field "${name}"`, `[${i}].request`);
    }
    return { keys, request };
  }

  private checkValue(field: TypedField, value: unknown, label: () => string, where: string): unknown {
    // In-process callers (the skew check, batch code) pass DuckDB values: BigInt and Date.
    const plain =
      typeof value === 'bigint' && Number.isSafeInteger(Number(value))
        ? Number(value)
        : value instanceof Date
          ? value.toISOString()
          : value;
    try {
      return checkFeatureValue(field, plain, label, where);
    } catch (error) {
      if (error instanceof ValidationError)
        throw new RequestFieldError(error.message, error.location ? { location: error.location } : {});
      throw error;
    }
  }

  /** Why a request may not set `name`, and what it may set. */
  private refusal(at: string, name: string): string {
    const view = this.view;
    const allowed = [...this.requestFields.keys()].join(', ') || 'none';
    const column = view.columns.find((c) => c.name === name);
    if (this.keyFields.has(name))
      return `${at}: "${name}" is an entity key; pass it in "keys", not in "request".`;
    if (!column)
      return `${at}: "${name}" is not a column of feature view ${view.name} (request fields: ${allowed}).`;
    if (column.origin === 'on_demand')
      return `${at}: "${name}" is computed on demand from ${Object.values(view.onDemand.find((o) => o.name === name)?.inputs ?? {}).join(', ')}; pass those instead (request fields: ${allowed}).`;
    if (column.origin === 'join') {
      const join = view.joins[column.join!]!;
      return `${at}: "${name}" is read from feature group ${join.group.spec.name} in the online store; a request may not set it (request fields: ${allowed}). To let requests override it, list it in the view's allowRequestOverride.`;
    }
    return `${at}: "${name}" is the view's ${column.role.replace('_', ' ')} column, not an input at serving time (request fields: ${allowed}).`;
  }

  /** Vectors for many entities, in request order. */
  async get(requests: readonly VectorRequest[], options: VectorOptions = {}): Promise<FeatureVector[]> {
    const view = this.view;
    const missingPolicy = options.missing ?? 'error';
    // Every request is checked before any lookup: a bad one reads nothing.
    const checked = requests.map((r, i) => this.check(r, i));
    const lookups = view.joins.map((join) => ({
      spec: join.group.spec,
      keys: checked.map((r) =>
        Object.fromEntries(join.on.map((p) => [p.groupColumn, r.keys[p.spineColumn]])),
      ),
    }));
    const results = await this.store.readMany(lookups, options.now);

    return checked.map((r, i) => {
      const row: Record<string, unknown> = { ...this.templates.row };
      // Every stored column gets its status below, so no null of the template is left.
      const status = { ...this.templates.row } as Record<string, FeatureStatus>;
      const request = r.request;
      for (const column of this.stored) {
        const passed = request[column.name] ?? (column.spine ? r.keys[column.name] : undefined);
        if (passed !== undefined) {
          row[column.name] = passed;
          status[column.name] = 'passed';
          continue;
        }
        if (column.spine) {
          row[column.name] = null;
          status[column.name] = 'missing';
          continue;
        }
        const found = results[column.join]![i]!;
        if (found.status === 'missing' && missingPolicy === 'error') {
          const join = view.joins[column.join]!;
          throw new MissingFeatureError(
            `request ${i + 1}: no online row in ${join.group.spec.name} v${join.group.spec.version} for ${JSON.stringify(lookups[column.join]!.keys[i])}; pass missing: 'null' to serve nulls instead.`,
            { location: `[${i}].keys` },
          );
        }
        row[column.name] = found.status === 'present' ? (found.values?.[column.source] ?? null) : null;
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
      const values: Record<string, unknown> = { ...this.templates.values };
      const featureStatus = { ...this.templates.values } as Record<string, FeatureStatus>;
      for (const f of view.features) {
        values[f] = row[f] ?? null;
        featureStatus[f] = status[f]!;
      }
      const helpers: Record<string, unknown> = { ...this.templates.helpers };
      for (const c of this.helperColumns) helpers[c] = row[c] ?? null;
      const vector = this.encode ? encodeRow(this.fitted, row) : [];
      return { keys: r.keys, values, status: featureStatus, vector, helpers };
    });
  }
}
