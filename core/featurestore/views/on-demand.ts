import { ValidationError } from '../../errors';
import { isIdentifier } from '../../identifiers';
import type { FeatureType } from '../feature-group';
import { rowTransformation, type Transformation } from '../transformations';

/** Arguments an on-demand function receives: its declared inputs by parameter name. */
export type OnDemandInputs = Readonly<Record<string, unknown>>;

/**
 * An on-demand feature: a named, pure TypeScript function of request parameters and stored
 * features. The same definition computes the value at serving time (from the request and the
 * online store), in training data and batch retrieval (from the spine and the point-in-time join),
 * and at ingestion time when history is written ({@link onDemandIngestion}).
 */
export interface OnDemandFunction {
  readonly name: string;
  /** Type of the returned value. */
  readonly type: Extract<FeatureType, 'double' | 'float' | 'bigint' | 'int' | 'bool' | 'string'>;
  /** Parameter names the function reads. */
  readonly inputs: readonly string[];
  readonly description?: string;
  /** Must be deterministic: same inputs → same output. Return null when undefined. */
  compute(inputs: OnDemandInputs): number | string | boolean | null;
}

/** Validates an on-demand function definition and returns it. */
export function defineOnDemandFeature(fn: OnDemandFunction): OnDemandFunction {
  if (!isIdentifier(fn.name))
    throw new ValidationError(
      `on-demand function name ${JSON.stringify(fn.name)} must be a lowercase identifier.`,
    );
  if (fn.inputs.length === 0)
    throw new ValidationError(`on-demand function ${fn.name}: declare at least one input.`);
  return fn;
}

/** Named on-demand functions available to a process (workers and the inference service). */
export class OnDemandRegistry {
  private readonly functions = new Map<string, OnDemandFunction>();

  constructor(functions: readonly OnDemandFunction[] = []) {
    for (const fn of functions) this.register(fn);
  }

  register(fn: OnDemandFunction): this {
    if (this.functions.has(fn.name) && this.functions.get(fn.name) !== fn)
      throw new ValidationError(`on-demand function ${fn.name} is registered twice with different code.`);
    this.functions.set(fn.name, defineOnDemandFeature(fn));
    return this;
  }

  /** The function, or an error listing the registered ones. */
  get(name: string): OnDemandFunction {
    const fn = this.functions.get(name);
    if (!fn) {
      const known = [...this.functions.keys()];
      throw new ValidationError(
        `on-demand function "${name}" is not registered in this process` +
          (known.length ? ` (registered: ${known.join(', ')})` : '') +
          '; export it from a module listed in FTI_FEATURE_MODULES.',
        { location: name },
      );
    }
    return fn;
  }

  names(): string[] {
    return [...this.functions.keys()];
  }
}

/** How a view binds a function: output column, function, parameter → view column. */
export interface OnDemandBinding {
  readonly name: string;
  readonly function: string;
  readonly inputs: Readonly<Record<string, string>>;
}

/** Computes one bound on-demand feature for a row of view columns. */
export function computeOnDemand(
  fn: OnDemandFunction,
  binding: OnDemandBinding,
  row: Readonly<Record<string, unknown>>,
): number | string | boolean | null {
  const args: Record<string, unknown> = {};
  for (const param of fn.inputs) {
    const value = row[binding.inputs[param]!];
    args[param] = typeof value === 'bigint' ? Number(value) : (value ?? null);
  }
  const result = fn.compute(args);
  if (result === undefined || (typeof result === 'number' && !Number.isFinite(result))) return null;
  return result;
}

/**
 * A feature-pipeline transformation that adds on-demand features to each raw row at ingestion, so
 * history written to a feature group uses the exact serving-time definition. `inputs` maps each
 * function's parameters to raw columns; every raw column is kept.
 */
export function onDemandIngestion(
  bindings: readonly { fn: OnDemandFunction; name?: string; inputs: Readonly<Record<string, string>> }[],
): Transformation {
  return rowTransformation((row) => {
    const out: Record<string, unknown> = { ...row };
    for (const b of bindings)
      out[b.name ?? b.fn.name] = computeOnDemand(
        b.fn,
        { name: b.name ?? b.fn.name, function: b.fn.name, inputs: b.inputs },
        row,
      );
    return out;
  });
}
