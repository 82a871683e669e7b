import { z } from 'zod';
import { ValidationError } from '../../errors';
import { isIdentifier } from '../../identifiers';
import { FEATURE_TYPES } from '../feature-group';
import { transformStepSchema } from './model-transforms';

const identifier = z
  .string()
  .refine(isIdentifier, { message: 'must be a lowercase identifier (letter, then letters/digits/_)' });

const groupRef = z.union([
  identifier.transform((name) => ({ name, version: undefined as number | undefined })),
  z.object({ name: identifier, version: z.number().int().positive().optional() }),
]);

const duration = z
  .string()
  .regex(/^\d{1,6}[smhd]$/, { message: 'must be a number followed by s, m, h or d (e.g. 30m, 7d)' });

const joinSchema = z.object({
  featureGroup: groupRef,
  /**
   * Spine columns matched with the group's primary key: an array in primary-key order, or a map
   * `{ groupKeyColumn: spineColumn }`. Default: the spine columns named like the primary key.
   */
  on: z.union([z.array(identifier).min(1), z.record(identifier, identifier)]).optional(),
  /** Features selected from the group. Default: every column except its primary key and event time. */
  features: z.array(identifier).min(1).optional(),
  prefix: z
    .string()
    .regex(/^[a-z][a-z0-9_]{0,30}$/, { message: 'must be a lowercase identifier prefix such as "card_"' })
    .optional(),
  /** Rows older than this before the spine row's event time do not count. */
  lookback: duration.optional(),
});

const spineSchema = z.union([
  z.object({
    featureGroup: groupRef,
    /** Spine-group columns carried besides its primary key and event time. Default: all. */
    features: z.array(identifier).optional(),
  }),
  z.object({
    /** The columns of a spine table the caller supplies at retrieval time. */
    columns: z
      .array(z.object({ name: identifier, type: z.enum(FEATURE_TYPES) }))
      .min(2, { message: 'needs at least a key column and an event-time column' }),
    eventTime: identifier,
  }),
]);

const filterSchema = z.object({
  column: identifier,
  op: z.enum(['=', '!=', '<', '<=', '>', '>=', 'in', 'not_in', 'is_null', 'not_null']),
  value: z
    .union([z.string(), z.number(), z.boolean(), z.array(z.union([z.string(), z.number()]))])
    .optional(),
});

const onDemandSchema = z.object({
  /** Output column name. */
  name: identifier,
  /** Name of a function in the {@link OnDemandRegistry}. */
  function: identifier,
  /** Function parameter → view column (spine columns are request parameters at serving time). */
  inputs: z.record(z.string().min(1), identifier),
});

/** The zod schema of {@link FeatureViewDefinition} (also used for JSON files from the CLI). */
export const featureViewDefinitionSchema = z.object({
  name: identifier,
  version: z.number().int().positive().optional(),
  description: z.string().max(2000).default(''),
  spine: spineSchema,
  joins: z.array(joinSchema).default([]),
  labels: z.array(identifier).default([]),
  inferenceHelperColumns: z.array(identifier).default([]),
  trainingHelperColumns: z.array(identifier).default([]),
  filters: z.array(filterSchema).default([]),
  transformations: z
    .record(identifier, z.union([transformStepSchema, z.array(transformStepSchema)]))
    .default({}),
  onDemand: z.array(onDemandSchema).default([]),
  /**
   * Joined features a serving request may set instead of the stored value (e.g. a feature the
   * caller computes fresher). Every other stored feature comes from the store only.
   */
  allowRequestOverride: z.array(identifier).default([]),
});

/**
 * A feature view as a user writes it: a spine (label feature group, or a spine table supplied at
 * retrieval time) left-joined point-in-time with feature groups, labels, helper columns, filters,
 * model-dependent transformations per feature and on-demand features.
 *
 * @example
 * {
 *   name: 'fraud', spine: { featureGroup: 'transactions' }, labels: ['is_fraud'],
 *   joins: [{ featureGroup: 'card_aggs', prefix: 'card_', lookback: '30d' },
 *           { featureGroup: { name: 'accounts', version: 2 }, on: { account_id: 'account_id' } }],
 *   transformations: { amount: [{ kind: 'impute', strategy: 'median' }, { kind: 'log' }] },
 *   onDemand: [{ name: 'amount_ratio', function: 'ratio', inputs: { a: 'amount', b: 'card_amount_avg_7d' } }],
 * }
 */
export type FeatureViewDefinition = z.input<typeof featureViewDefinitionSchema>;

/** A definition after validation, defaults filled. */
export type FeatureViewDefinitionParsed = z.output<typeof featureViewDefinitionSchema>;

/** One filter on an output column. */
export type ViewFilter = FeatureViewDefinitionParsed['filters'][number];

/** Validates a definition's shape (names, types, enums). Cross-checks against feature groups happen in resolve. */
export function parseFeatureViewDefinition(definition: unknown): FeatureViewDefinitionParsed {
  const name = (definition as { name?: unknown } | null)?.name;
  const label = `feature view ${JSON.stringify(name ?? '?')}`;
  const parsed = featureViewDefinitionSchema.safeParse(definition);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'} ${i.message}`);
    throw new ValidationError(`${label}: ${problems.join('; ')}`, { location: label });
  }
  return parsed.data;
}
