import { ValidationError } from '../errors';
import type { FeatureGroupSpec } from '../featurestore/feature-group';
import type { Transformation } from '../featurestore/transformations';
import type { FeatureEvent } from './feature-events';
import { WindowOperator, type OperatorRow } from './window-operator';

/** What one event produced: rows to write, or a late event the state can no longer take. */
export type OperatorOutput =
  | { readonly late: false; readonly rows: readonly Readonly<Record<string, unknown>>[] }
  | { readonly late: true; readonly watermarkMs: number };

/**
 * The streaming form of a transformation, fed one event at a time in stream order. It is
 * deterministic: the same events after the same snapshot give the same rows, which is what makes a
 * replay after a crash rewrite exactly what the crashed consumer wrote.
 */
export interface StreamOperator {
  readonly kind: 'window' | 'rows' | 'events';
  /** Event fields whose values choose the key partition (the state's key). */
  readonly partitionBy: readonly string[];
  add(event: FeatureEvent): OperatorOutput;
  /** State to checkpoint (null when the operator keeps none). */
  snapshot(): Uint8Array | null;
  watermarkMs(): number | undefined;
  /** Keys and events held in state (status, memory). */
  stats(): { readonly keys: number; readonly retainedEvents: number };
}

/**
 * Builds the streaming form of a pipeline's transformation: `windowAggregation` → incremental
 * trailing windows (state restored from `state`), `rowTransformation` → its function per event, none
 * → the events themselves. A SQL transformation has no streaming form: the error says what to use.
 */
export function streamOperatorFor(input: {
  readonly transformationName: string | undefined;
  readonly transformation: Transformation | undefined;
  readonly source: FeatureGroupSpec;
  readonly allowedLatenessMs: number;
  readonly state: Uint8Array | null;
}): StreamOperator {
  const { transformation, source } = input;
  if (!transformation) return eventsOperator(source);
  if (transformation.window) {
    const spec = transformation.window;
    const options = { allowedLatenessMs: input.allowedLatenessMs };
    const missing = [...spec.partitionBy, spec.timeColumn].filter(
      (c) => !source.features.some((f) => f.name === c),
    );
    if (missing.length > 0) {
      throw new ValidationError(
        `transformation "${input.transformationName}" partitions by ${missing.map((c) => `"${c}"`).join(', ')}, which the events of ${source.name} v${source.version} do not have; stream the feature group whose events carry them.`,
        { location: 'transformation' },
      );
    }
    const operator = input.state
      ? WindowOperator.restore(spec, options, input.state)
      : new WindowOperator(spec, options);
    return {
      kind: 'window',
      partitionBy: spec.partitionBy,
      add: (event) => {
        const result = operator.add(event);
        return result.late ? result : { late: false, rows: result.rows as readonly OperatorRow[] };
      },
      snapshot: () => operator.snapshot(),
      watermarkMs: () => operator.watermarkMs(),
      stats: () => operator.stats(),
    };
  }
  const fn = transformation.rowFunction;
  if (fn) {
    return {
      kind: 'rows',
      partitionBy: source.primaryKey,
      add: (event) => {
        const row = fn(event);
        return { late: false, rows: row === null ? [] : [row] };
      },
      snapshot: () => null,
      watermarkMs: () => undefined,
      stats: () => ({ keys: 0, retainedEvents: 0 }),
    };
  }
  throw new ValidationError(
    `transformation "${input.transformationName}" is written in SQL over a whole batch and has no streaming form. Write it with windowAggregation (trailing windows per key) or rowTransformation (a function per event) — both run in batch and in streams.`,
    { location: 'transformation' },
  );
}

function eventsOperator(source: FeatureGroupSpec): StreamOperator {
  return {
    kind: 'events',
    partitionBy: source.primaryKey,
    add: (event) => ({ late: false, rows: [event] }),
    snapshot: () => null,
    watermarkMs: () => undefined,
    stats: () => ({ keys: 0, retainedEvents: 0 }),
  };
}
