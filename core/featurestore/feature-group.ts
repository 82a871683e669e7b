import { z } from 'zod';
import { ValidationError } from '../errors';
import { isIdentifier } from '../identifiers';
import {
  externalSourceSchema,
  type ExternalSource,
  type ExternalSourceDefinition,
} from './external/external-source';
import {
  isPartitioned,
  MAX_KEY_BUCKETS,
  PARTITION_PERIODS,
  partitioningOf,
  type PartitionPeriod,
  type Partitioning,
} from './offline/partitioning';
import { expectationSuiteSchema, type ExpectationSuite } from './validation/expectations';

/** Column types a feature may have. `float_array` holds embeddings. */
export const FEATURE_TYPES = [
  'int',
  'bigint',
  'float',
  'double',
  'bool',
  'string',
  'timestamp',
  'date',
  'float_array',
] as const;
/** A feature's type. */
export type FeatureType = (typeof FEATURE_TYPES)[number];

/** One typed column of a feature group (primary-key and event-time columns included). */
export interface FeatureDefinition {
  readonly name: string;
  readonly type: FeatureType;
  /** @default true for features, false for primary-key and event-time columns */
  readonly nullable?: boolean;
  readonly description?: string;
  /**
   * Accept `NaN`, `Infinity` and `-Infinity` in this column. Only for `float`, `double` and
   * `float_array` features. Without it such values are rejected at ingestion, naming the row, so a
   * stray `NaN` never reaches training data unnoticed.
   * @default false
   */
  readonly allowNonFinite?: boolean;
}

/** A feature with nullability resolved. */
export interface ResolvedFeature {
  readonly name: string;
  readonly type: FeatureType;
  readonly nullable: boolean;
  readonly description?: string;
  /** Present (and true) only when the definition opted in to non-finite values. */
  readonly allowNonFinite?: boolean;
}

/** Feature types whose values may be non-finite (and so may opt in with `allowNonFinite`). */
export const FLOATING_TYPES: readonly FeatureType[] = ['float', 'double', 'float_array'];

/** Statistics computed for every commit. */
export interface StatisticsSettings {
  /** @default true */
  readonly enabled?: boolean;
  /** Buckets of numeric histograms. @default 20 */
  readonly histogramBins?: number;
}

/**
 * A feature group as a user defines it in TypeScript (or JSON for the CLI). Passed to
 * {@link defineFeatureGroup} for validation.
 *
 * @example
 * defineFeatureGroup({
 *   name: 'card_txn_stats', version: 1, primaryKey: ['card_id'], eventTime: 'event_time',
 *   features: [
 *     { name: 'card_id', type: 'string' }, { name: 'event_time', type: 'timestamp' },
 *     { name: 'txn_count_1h', type: 'bigint' }, { name: 'amount_sum_1h', type: 'double' },
 *   ],
 *   online: { enabled: true, ttlSeconds: 86_400 },
 * });
 */
export interface FeatureGroupDefinition {
  readonly name: string;
  /** @default 1 */
  readonly version?: number;
  readonly description?: string;
  readonly primaryKey: readonly string[];
  /** Name of the timestamp column that orders history. */
  readonly eventTime: string;
  /** Every column, including the primary-key and event-time columns, in storage order. */
  readonly features: readonly FeatureDefinition[];
  readonly online?: { readonly enabled: boolean; readonly ttlSeconds?: number };
  /** Expectations as written (defaults such as severity are filled in). */
  readonly expectations?: z.input<typeof expectationSuiteSchema>;
  readonly statistics?: StatisticsSettings;
  /** Old commits' files may be cleaned after this many days (time travel before that is lost). */
  readonly retentionDays?: number;
  readonly tags?: Readonly<Record<string, string>>;
  /**
   * An external group: its rows live in a Postgres table/view or under an S3 Parquet prefix and are
   * read in place (point-in-time joins, batch retrieval, statistics, materialization), never copied
   * into the offline store and never written by pipelines.
   */
  readonly external?: ExternalSourceDefinition;
  /**
   * How the offline files are partitioned: by event-time `period` (reads of a time range open only
   * the periods they cover) and/or into `keyBuckets` primary-key hash buckets (partitioned joins and
   * key-subset reads open only their buckets). Fixed for a version: changing it needs a new version.
   * @default no partitioning (one file per commit; files still record their event-time bounds)
   */
  readonly partitioning?: { readonly period?: PartitionPeriod; readonly keyBuckets?: number };
}

/** A validated feature group with every default filled in. */
export interface FeatureGroupSpec {
  readonly name: string;
  readonly version: number;
  readonly description: string;
  readonly primaryKey: readonly string[];
  readonly eventTime: string;
  readonly features: readonly ResolvedFeature[];
  readonly online: { readonly enabled: boolean; readonly ttlSeconds: number | null };
  readonly expectations: ExpectationSuite | null;
  readonly statistics: Required<StatisticsSettings>;
  readonly retentionDays: number | null;
  readonly tags: Readonly<Record<string, string>>;
  /** Where an external group's rows live; null for groups the platform stores. */
  readonly external: ExternalSource | null;
  /**
   * The offline layout's partitioning. Absent on specs stored before partitioning existed: read it
   * through `partitioningOf`, which treats absent as unpartitioned.
   */
  readonly partitioning?: Partitioning;
}

const name = z
  .string()
  .refine(isIdentifier, { message: 'must be a lowercase identifier (letter, then letters/digits/_)' });

const definitionSchema = z.object({
  name,
  version: z.number().int().positive().default(1),
  description: z.string().max(2000).default(''),
  primaryKey: z.array(name).min(1, { message: 'needs at least one column' }),
  eventTime: name,
  features: z
    .array(
      z.object({
        name,
        type: z.enum(FEATURE_TYPES),
        nullable: z.boolean().optional(),
        description: z.string().max(2000).optional(),
        allowNonFinite: z.boolean().optional(),
      }),
    )
    .min(1),
  online: z.object({ enabled: z.boolean(), ttlSeconds: z.number().int().positive().optional() }).optional(),
  expectations: expectationSuiteSchema.optional(),
  statistics: z
    .object({
      enabled: z.boolean().default(true),
      histogramBins: z.number().int().min(2).max(200).default(20),
    })
    .optional(),
  retentionDays: z.number().int().positive().optional(),
  tags: z.record(z.string(), z.string()).default({}),
  external: externalSourceSchema.optional(),
  partitioning: z
    .object({
      period: z.enum(PARTITION_PERIODS).optional(),
      keyBuckets: z.number().int().min(1).max(MAX_KEY_BUCKETS).optional(),
    })
    .strict()
    .optional(),
});

/**
 * Validates a definition and fills defaults. Errors name the field path and the fix, e.g.
 * `feature group "x": primaryKey[0] "Card" must be a lowercase identifier`. Checks that key and
 * event-time columns exist among the features with suitable types, that names are unique, that
 * `allowNonFinite` is set only on floating features, and that expectations name existing columns.
 */
export function defineFeatureGroup(definition: FeatureGroupDefinition): FeatureGroupSpec {
  const label = `feature group ${JSON.stringify((definition as { name?: unknown })?.name ?? '?')}`;
  const parsed = definitionSchema.safeParse(definition);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'} ${i.message}`);
    throw new ValidationError(`${label}: ${problems.join('; ')}`, { location: label });
  }
  const d = parsed.data;
  const byName = new Map<string, (typeof d.features)[number]>();
  for (const f of d.features) {
    if (byName.has(f.name))
      throw new ValidationError(`${label}: feature "${f.name}" is defined twice; names must be unique.`);
    byName.set(f.name, f);
    if (f.allowNonFinite === true && !FLOATING_TYPES.includes(f.type)) {
      throw new ValidationError(
        `${label}: feature "${f.name}" has allowNonFinite but type ${f.type}; only ${FLOATING_TYPES.join(', ')} features can hold NaN or Infinity. Remove allowNonFinite from it.`,
        { location: `${label}, feature ${f.name}` },
      );
    }
  }
  for (const key of d.primaryKey) {
    const column = byName.get(key);
    if (!column)
      throw new ValidationError(
        `${label}: primary-key column "${key}" is not among its features; add it to features.`,
      );
    if (column.type === 'float_array' || column.type === 'float' || column.type === 'double') {
      throw new ValidationError(
        `${label}: primary-key column "${key}" has type ${column.type}; use int, bigint, string, bool, date or timestamp.`,
      );
    }
    if (column.nullable === true)
      throw new ValidationError(`${label}: primary-key column "${key}" cannot be nullable.`);
  }
  const eventTime = byName.get(d.eventTime);
  if (!eventTime)
    throw new ValidationError(
      `${label}: event-time column "${d.eventTime}" is not among its features; add it as type timestamp.`,
    );
  if (eventTime.type !== 'timestamp' && eventTime.type !== 'date') {
    throw new ValidationError(
      `${label}: event-time column "${d.eventTime}" has type ${eventTime.type}; it must be timestamp or date.`,
    );
  }
  if (d.primaryKey.includes(d.eventTime)) {
    throw new ValidationError(
      `${label}: "${d.eventTime}" cannot be both primary key and event time; the record key is primary key + event time already.`,
    );
  }
  for (const [i, expectation] of (d.expectations?.expectations ?? []).entries()) {
    const e = expectation as { column?: string; columnA?: string; columnB?: string; columns?: string[] };
    const named = [e.column, e.columnA, e.columnB, ...(e.columns ?? [])].filter(
      (c): c is string => c !== undefined,
    );
    const unknown = named.find((c) => !byName.has(c));
    if (unknown !== undefined) {
      throw new ValidationError(
        `${label}: expectations.expectations[${i}] (${expectation.type}) names column "${unknown}", which is not among its features (${[...byName.keys()].join(', ')}). Fix the column name or add the feature.`,
        { location: `${label}, expectations.expectations[${i}]` },
      );
    }
  }
  if (d.external && (d.retentionDays !== undefined || d.expectations))
    throw new ValidationError(
      `${label}: an external group is read in place and never written, so ${d.retentionDays !== undefined ? 'retentionDays' : 'expectations'} cannot apply; remove it (validate the data where it is written).`,
      { location: `${label}, external` },
    );
  if (d.external && d.partitioning)
    throw new ValidationError(
      `${label}: an external group is read in place, so the platform cannot partition its files; remove partitioning (partition the source where it is written).`,
      { location: `${label}, partitioning` },
    );
  const required = new Set([...d.primaryKey, d.eventTime]);
  const partitioning: Partitioning = {
    period: d.partitioning?.period ?? null,
    keyBuckets: d.partitioning?.keyBuckets ?? 1,
  };
  return {
    name: d.name,
    version: d.version,
    description: d.description,
    primaryKey: d.primaryKey,
    eventTime: d.eventTime,
    features: d.features.map((f) => ({
      name: f.name,
      type: f.type,
      nullable: required.has(f.name) ? false : (f.nullable ?? true),
      ...(f.description ? { description: f.description } : {}),
      ...(f.allowNonFinite === true ? { allowNonFinite: true } : {}),
    })),
    online: { enabled: d.online?.enabled ?? false, ttlSeconds: d.online?.ttlSeconds ?? null },
    expectations: d.expectations ?? null,
    statistics: { enabled: d.statistics?.enabled ?? true, histogramBins: d.statistics?.histogramBins ?? 20 },
    retentionDays: d.retentionDays ?? null,
    tags: d.tags,
    external: d.external ?? null,
    ...(isPartitioned(partitioning) && { partitioning }),
  };
}

/** Result of comparing a new definition with the stored one of the same name and version. */
export type SchemaChange =
  { kind: 'identical' } | { kind: 'append'; added: readonly string[] } | { kind: 'breaking'; reason: string };

/**
 * Classifies a schema change. Only appending nullable features at the end (everything else equal)
 * is allowed in place; anything else is breaking and needs a new version.
 */
export function compareSchemas(stored: FeatureGroupSpec, next: FeatureGroupSpec): SchemaChange {
  if (stored.primaryKey.join(',') !== next.primaryKey.join(','))
    return { kind: 'breaking', reason: 'the primary key changed' };
  if (stored.eventTime !== next.eventTime)
    return { kind: 'breaking', reason: 'the event-time column changed' };
  // Key order is not meaning (the stored copy comes back from jsonb): compare sorted.
  const sameSource = (a: object | null, b: object | null) =>
    JSON.stringify(a, a ? Object.keys(a).sort() : undefined) ===
    JSON.stringify(b, b ? Object.keys(b).sort() : undefined);
  if (!sameSource(stored.external, next.external))
    return { kind: 'breaking', reason: 'the external source changed' };
  if (!sameSource(partitioningOf(stored), partitioningOf(next)))
    return {
      kind: 'breaking',
      reason: 'the partitioning changed (files already written use the old layout)',
    };
  for (let i = 0; i < stored.features.length; i++) {
    const before = stored.features[i]!;
    const after = next.features[i];
    if (!after) return { kind: 'breaking', reason: `feature "${before.name}" was removed` };
    if (after.name !== before.name)
      return { kind: 'breaking', reason: `feature "${before.name}" was renamed, removed or reordered` };
    if (after.type !== before.type)
      return {
        kind: 'breaking',
        reason: `feature "${before.name}" changed type ${before.type} → ${after.type}`,
      };
    if (after.nullable !== before.nullable)
      return { kind: 'breaking', reason: `feature "${before.name}" changed nullability` };
    // Turning the opt-in on only admits more values; turning it off would leave stored NaN/Infinity
    // that the group now claims cannot exist.
    if (before.allowNonFinite === true && after.allowNonFinite !== true)
      return {
        kind: 'breaking',
        reason: `feature "${before.name}" no longer allows non-finite values, but existing commits may hold them`,
      };
  }
  const added = next.features.slice(stored.features.length);
  const notNull = added.find((f) => !f.nullable);
  if (notNull)
    return {
      kind: 'breaking',
      reason: `appended feature "${notNull.name}" is not nullable (existing rows have no value)`,
    };
  return added.length === 0 ? { kind: 'identical' } : { kind: 'append', added: added.map((f) => f.name) };
}

/** The columns users may write: every feature name, in order. */
export function columnNames(spec: FeatureGroupSpec): string[] {
  return spec.features.map((f) => f.name);
}
