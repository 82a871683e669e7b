/**
 * Delayed labels: ground truth pushed after the prediction (a chargeback days later), validated
 * against the deployment's entity keys and model, stored in `prediction_labels`, and joined to
 * logged predictions by entity keys and event time.
 */
import { poolOf, type Database } from '../db';
import { ValidationError } from '../errors';
import { checkFeatureValue, typeOf } from '../featurestore/value-check';
import { getFeatureViewById } from '../featurestore/views/repository';
import { getModelVersionById } from '../registry';
import { getDeployment } from '../serving/deployments';

/** One label as pushed: the entity's keys, when the labelled event happened, and its outcome. */
export interface LabelInput {
  readonly keys: Readonly<Record<string, unknown>>;
  readonly eventTime: string | Date;
  readonly label: unknown;
}

/** Most labels one call takes. */
export const MAX_LABELS_PER_PUSH = 100_000;

/** What a deployment's labels must look like: its entity keys (typed) and the model's label. */
export interface LabelContract {
  readonly keys: readonly { name: string; type: Parameters<typeof checkFeatureValue>[0]['type'] }[];
  /** Class names (classification) or null (regression: a finite number). */
  readonly classes: readonly string[] | null;
}

/** The label contract of a deployment's current primary binding (its view's keys and model's classes). */
export async function labelContract(db: Database, deployment: string): Promise<LabelContract> {
  const info = await getDeployment(db, deployment);
  const binding = info.current.bindings.find((b) => !b.shadow) ?? info.current.bindings[0]!;
  const { view } = await getFeatureViewById(db, binding.featureView.id);
  const model = await getModelVersionById(db, binding.model.id);
  return {
    keys: view.entityKeys.map((name) => ({
      name,
      type: view.columns.find((c) => c.name === name)?.type ?? 'string',
    })),
    classes: model.signature.task === 'regression' ? null : [...(model.signature.classes ?? [])],
  };
}

/**
 * Validates labels against a contract. Keys are coerced from text where a file gave text (CSV):
 * "42" for an integer key becomes 42, so labels join predictions whose keys were JSON numbers.
 * Every problem names its row and field; the first ten are reported together.
 */
export function checkLabels(
  contract: LabelContract,
  rows: readonly unknown[],
): { keys: Record<string, unknown>; eventTime: Date; label: string | number }[] {
  const problems: string[] = [];
  const out: { keys: Record<string, unknown>; eventTime: Date; label: string | number }[] = [];
  rows.forEach((raw, i) => {
    const at = `labels[${i}]`;
    try {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
        throw new ValidationError(
          `${at} must be an object with keys, eventTime and label, got ${typeOf(raw)}.`,
        );
      const row = raw as Record<string, unknown>;
      const given = row.keys;
      if (typeof given !== 'object' || given === null || Array.isArray(given))
        throw new ValidationError(
          `${at}.keys must be an object with ${contract.keys.map((k) => k.name).join(', ')}.`,
        );
      const keys: Record<string, unknown> = {};
      for (const k of contract.keys) {
        let value = (given as Record<string, unknown>)[k.name];
        if (value === undefined || value === null || value === '')
          throw new ValidationError(
            `${at}.keys.${k.name} is missing (the deployment's entity keys: ${contract.keys.map((x) => x.name).join(', ')}).`,
          );
        if (
          typeof value === 'string' &&
          ['int', 'bigint', 'float', 'double'].includes(k.type) &&
          value.trim() !== ''
        )
          value = Number(value);
        if (typeof value === 'string' && k.type === 'bool' && (value === 'true' || value === 'false'))
          value = value === 'true';
        keys[k.name] = checkFeatureValue(
          { name: k.name, type: k.type },
          value,
          () => `${at}.keys.${k.name}`,
          at,
        );
      }
      const extra = Object.keys(given).filter((k) => !contract.keys.some((x) => x.name === k));
      if (extra.length)
        throw new ValidationError(
          `${at}.keys: ${extra.join(', ')} not an entity key (keys: ${contract.keys.map((k) => k.name).join(', ')}).`,
        );
      const time =
        row.eventTime instanceof Date
          ? row.eventTime
          : typeof row.eventTime === 'string'
            ? new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(row.eventTime) ? row.eventTime : `${row.eventTime}Z`)
            : undefined;
      if (!time || Number.isNaN(time.getTime()))
        throw new ValidationError(
          `${at}.eventTime must be an ISO-8601 time such as 2026-11-30T12:00:00Z, got ${typeOf(row.eventTime)}.`,
        );
      let label: string | number;
      if (contract.classes) {
        const text =
          typeof row.label === 'string' || typeof row.label === 'boolean' || typeof row.label === 'number'
            ? String(row.label)
            : undefined;
        if (text === undefined || !contract.classes.includes(text))
          throw new ValidationError(
            `${at}.label must be one of the model's classes (${contract.classes.join(', ')}), got ${text === undefined ? typeOf(row.label) : JSON.stringify(text.slice(0, 40))}.`,
          );
        label = text;
      } else {
        const n = typeof row.label === 'string' && row.label.trim() !== '' ? Number(row.label) : row.label;
        if (typeof n !== 'number' || !Number.isFinite(n))
          throw new ValidationError(
            `${at}.label must be a finite number (regression), got ${typeOf(row.label)}.`,
          );
        label = n;
      }
      out.push({ keys, eventTime: time, label });
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      problems.push(error.message);
    }
  });
  if (problems.length)
    throw new ValidationError(
      `${problems.length} of ${rows.length} labels are invalid; nothing was stored: ${problems.slice(0, 10).join(' ')}${problems.length > 10 ? ' …' : ''}`,
      { location: 'labels' },
    );
  return out;
}

/**
 * Stores labels for a deployment in one statement, after every row passed (all or nothing). A
 * label for an entity and time already labelled replaces it (a corrected chargeback).
 */
export async function pushLabels(
  db: Database,
  deployment: string,
  rows: readonly unknown[],
): Promise<{ stored: number }> {
  if (rows.length === 0)
    throw new ValidationError('no labels given; send at least one.', { location: 'labels' });
  if (rows.length > MAX_LABELS_PER_PUSH)
    throw new ValidationError(
      `${rows.length} labels in one push; send at most ${MAX_LABELS_PER_PUSH} at a time.`,
      {
        location: 'labels',
      },
    );
  const checked = checkLabels(await labelContract(db, deployment), rows);
  // The last label for an entity and time wins, within a push as across pushes.
  const labels = [
    ...new Map(checked.map((l) => [`${JSON.stringify(l.keys)}@${l.eventTime.toISOString()}`, l])).values(),
  ];
  await poolOf(db).query(
    `INSERT INTO prediction_labels (deployment, entity, event_time, label)
     SELECT $1, e, t, l FROM unnest($2::jsonb[], $3::timestamptz[], $4::jsonb[]) AS u(e, t, l)
     ON CONFLICT (deployment, entity, event_time) DO UPDATE SET label = EXCLUDED.label, received_at = now()`,
    [
      deployment,
      labels.map((l) => JSON.stringify(l.keys)),
      labels.map((l) => l.eventTime),
      labels.map((l) => JSON.stringify(l.label)),
    ],
  );
  return { stored: checked.length };
}

/**
 * SQL joining each logged prediction `p` to its label `l` (one row, or none): the label of the
 * same deployment and entity whose event time is nearest the prediction's (its `eventTime`, else
 * when it was logged), at most `toleranceParam` seconds away. `kind` is `JOIN` (labelled rows
 * only) or `LEFT JOIN`.
 */
export function nearestLabelJoin(toleranceParam: string, kind: 'JOIN' | 'LEFT JOIN'): string {
  const at = 'coalesce(p.event_time, p.created_at)';
  return `${kind} LATERAL (
    SELECT label FROM prediction_labels l
    WHERE l.deployment = p.deployment AND l.entity = p.entity
      AND l.event_time BETWEEN ${at} - make_interval(secs => ${toleranceParam}) AND ${at} + make_interval(secs => ${toleranceParam})
    ORDER BY abs(extract(epoch FROM l.event_time - ${at})) LIMIT 1) l ON TRUE`;
}

/** A logged answer (and its label, if joined) as numbers: class probabilities, regression value, label index. */
export function scoredRow(
  output: string,
  label: string | null,
  classes: readonly string[] | null,
): { probabilities: number[]; prediction: number; y: number } {
  const out = JSON.parse(output) as { prediction?: number; probabilities?: Record<string, number> };
  const y = label === null ? Number.NaN : (JSON.parse(label) as string | number);
  return {
    probabilities: classes ? classes.map((c) => out.probabilities?.[c] ?? 0) : [],
    prediction: out.prediction ?? Number.NaN,
    y: label === null ? Number.NaN : classes ? classes.indexOf(String(y)) : Number(y),
  };
}
