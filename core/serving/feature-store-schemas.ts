import { z } from 'zod';
import { FEATURE_TYPES, SPLIT_NAMES } from '../featurestore';

// The feature store REST API's inputs and answers as zod schemas: the routes validate requests
// with them, the OpenAPI document is generated from them, and the integration test parses every
// answer with them, so the document cannot drift from what the service does.

/** Shortest and longest life of a presigned training-data URL, and its default, in seconds. */
export const PRESIGN_SECONDS = { min: 1, default: 900, max: 3600 } as const;
/** Most entities in one online-features request (as /predict). */
export const MAX_ONLINE_ENTITIES = 1000;

const identifier = z
  .string()
  .regex(
    /^[a-z][a-z0-9_]{0,62}$/,
    'must be a lowercase name: a letter, then letters, digits or _ (at most 63 characters)',
  );
/** A positive whole number written in a path or query string. */
const wholeNumber = (what: string) =>
  z
    .string()
    .regex(/^[1-9]\d{0,8}$/, `must be a positive whole number (${what})`)
    .transform(Number);
const time = z.iso.datetime({ offset: true });
const versionOf = (what: string) =>
  wholeNumber(`the ${what} version`)
    .optional()
    .meta({ description: `Version of the ${what}; the latest when omitted.` });

// ---- requests -------------------------------------------------------------------------------

/** `{name}` of a feature group or view. */
export const nameParams = z
  .object({ name: identifier.meta({ description: 'Name (a lowercase identifier).' }) })
  .strict();
/** Routes that take no query parameters refuse any. */
export const emptyQuery = z.object({}).strict();
/** `?version=` of a feature group. */
export const groupQuery = z.object({ version: versionOf('feature group') }).strict();
/** `?version=` of a feature view. */
export const viewQuery = z.object({ version: versionOf('feature view') }).strict();
/** `{name}/training-datasets/{dataset}`. */
export const datasetParams = z
  .object({
    name: identifier.meta({ description: 'Feature view name.' }),
    dataset: wholeNumber('the training dataset version').meta({
      description: 'Training dataset version.',
    }),
  })
  .strict();
/** `{name}/training-datasets/{dataset}/splits/{split}`. */
export const splitParams = datasetParams
  .extend({ split: z.enum(SPLIT_NAMES).meta({ description: 'Split name.' }) })
  .strict();
/** Query of a split download. */
export const splitQuery = z
  .object({
    version: versionOf('feature view'),
    expiresIn: wholeNumber('seconds')
      .pipe(z.number().min(PRESIGN_SECONDS.min).max(PRESIGN_SECONDS.max))
      .optional()
      .meta({
        description: `Seconds the URL stays valid (${PRESIGN_SECONDS.min}–${PRESIGN_SECONDS.max}); default ${PRESIGN_SECONDS.default}.`,
      }),
    transformed: z.enum(['true', 'false']).optional().meta({
      description:
        "`true`: the model-ready file — the dataset's fitted transformations applied (one-hot `feature=value` columns, scaled values) as DOUBLE columns in model-input order, beside keys, event time and labels. What a model trained outside the platform must take to be imported (`fti models import`).",
    }),
  })
  .strict();

const keyValue = z.union([z.string(), z.number(), z.boolean()]);
/** Body of `POST /v1/feature-views/{name}/online`. */
export const onlineRequestSchema = z
  .object({
    entities: z
      .array(
        z
          .object({
            keys: z
              .record(z.string(), keyValue)
              .meta({ description: 'Values of the view\'s entity keys, e.g. {"card_id": "c1"}.' }),
            request: z.record(z.string(), z.unknown()).optional().meta({
              description:
                "Request-time values: the view's non-key spine columns and the features it lists in allowRequestOverride.",
            }),
          })
          .strict(),
      )
      .min(1)
      .max(MAX_ONLINE_ENTITIES),
    missing: z.enum(['null', 'error']).optional().meta({
      description:
        '`null` (default): an entity without an online row gets nulls and status `missing`; `error`: the request fails with 422.',
    }),
    trainingDataset: z.number().int().positive().optional().meta({
      description:
        "Also return each vector as model input, transformed with this training dataset's fitted transformations.",
    }),
  })
  .strict()
  .meta({ id: 'OnlineFeaturesRequest' });

// ---- answers --------------------------------------------------------------------------------

const count = z.number().int().min(0);
const ref = z.object({ name: z.string(), version: z.number().int() }).meta({ id: 'VersionRef' });

/** An error answer: what is wrong, where, and how to fix it. */
export const errorSchema = z.object({ error: z.string() }).catchall(z.unknown()).meta({
  id: 'Error',
  description: 'Every 4xx/5xx answer. 503 answers add `unavailable` and `retryAfterSeconds`.',
});

const commitSchema = z
  .object({
    id: z.number().int(),
    instant: z.string().meta({ description: 'yyyyMMddHHmmssSSS (UTC).' }),
    operation: z.string().meta({ description: 'insert, upsert, delete, overwrite, compaction, …' }),
    completedAt: time.nullable(),
    rowsInserted: count,
    rowsUpdated: count,
    rowsDeleted: count,
  })
  .meta({ id: 'Commit', description: 'The latest completed commit of the offline table.' });

const groupSummary = z
  .object({
    name: z.string(),
    version: z.number().int(),
    description: z.string(),
    primaryKey: z.array(z.string()),
    eventTime: z.string(),
    onlineEnabled: z.boolean(),
    latestCommit: commitSchema.nullable(),
    createdAt: time,
  })
  .meta({ id: 'FeatureGroupSummary' });
/** `GET /v1/feature-groups`. */
export const groupListSchema = z
  .object({ featureGroups: z.array(groupSummary) })
  .meta({ id: 'FeatureGroupList' });

/** `GET /v1/feature-groups/{name}`. */
export const groupSchema = z
  .object({
    name: z.string(),
    version: z.number().int(),
    versions: z.array(z.number().int()),
    description: z.string(),
    primaryKey: z.array(z.string()),
    eventTime: z.string(),
    features: z.array(
      z.object({
        name: z.string(),
        type: z.enum(FEATURE_TYPES),
        nullable: z.boolean(),
        description: z.string().optional(),
      }),
    ),
    online: z.object({ enabled: z.boolean(), ttlSeconds: z.number().int().nullable() }),
    retentionDays: z.number().int().nullable(),
    tags: z.record(z.string(), z.string()),
    external: z.object({ kind: z.string(), source: z.string() }).nullable().meta({
      description:
        'For an external group (rows read in place from a Postgres table or a Parquet prefix): its kind and source; null when the platform stores the rows.',
    }),
    partitioning: z
      .object({ period: z.enum(['hour', 'day', 'month', 'year']).nullable(), keyBuckets: z.number().int() })
      .meta({
        description:
          'How the offline files are partitioned: by event-time period (null: not by time) and into primary-key hash buckets (1: not by key).',
      }),
    latestCommit: commitSchema.nullable(),
    createdAt: time,
    updatedAt: time,
  })
  .meta({ id: 'FeatureGroup' });

/** `GET /v1/feature-views`. */
export const viewListSchema = z
  .object({
    featureViews: z.array(
      z.object({ name: z.string(), version: z.number().int(), description: z.string(), createdAt: time }),
    ),
  })
  .meta({ id: 'FeatureViewList' });

/** `GET /v1/feature-views/{name}`. */
export const viewSchema = z
  .object({
    name: z.string(),
    version: z.number().int(),
    versions: z.array(z.number().int()),
    description: z.string(),
    createdAt: time,
    entityKeys: z.array(z.string()).meta({ description: 'Keys of an online lookup.' }),
    eventTime: z.string(),
    features: z.array(z.string()).meta({ description: 'Model features (untransformed), in order.' }),
    labels: z.array(z.string()),
    spine: z.union([
      z.object({ kind: z.literal('feature_group'), featureGroup: ref }),
      z.object({ kind: z.literal('table') }),
    ]),
    columns: z.array(
      z.object({
        name: z.string(),
        type: z.enum(FEATURE_TYPES).nullable().meta({ description: 'Null for on-demand features.' }),
        role: z.enum([
          'key',
          'event_time',
          'feature',
          'label',
          'inference_helper',
          'training_helper',
          'on_demand',
        ]),
        origin: z.enum(['spine', 'join', 'on_demand']),
        featureGroup: ref.optional().meta({ description: 'The group a joined column is read from.' }),
      }),
    ),
    joins: z.array(
      z.object({
        featureGroup: ref,
        on: z.array(z.object({ groupColumn: z.string(), spineColumn: z.string() })),
        features: z.array(z.object({ source: z.string(), output: z.string(), type: z.enum(FEATURE_TYPES) })),
        lookback: z.string().nullable(),
      }),
    ),
    onDemand: z.array(
      z.object({ name: z.string(), function: z.string(), inputs: z.record(z.string(), z.string()) }),
    ),
    trainingDatasets: z
      .array(z.number().int())
      .meta({ description: 'Versions of the training datasets that are ready.' }),
  })
  .meta({ id: 'FeatureView' });

const splitKind = z.enum(['none', 'random', 'time']);
/** `GET /v1/feature-views/{name}/training-datasets`. */
export const datasetListSchema = z
  .object({
    featureView: ref,
    trainingDatasets: z.array(
      z.object({
        version: z.number().int(),
        state: z.enum(['creating', 'ready', 'failed']),
        description: z.string(),
        splits: splitKind,
        rowCounts: z.record(z.string(), count),
        createdAt: time,
      }),
    ),
  })
  .meta({ id: 'TrainingDatasetList' });

const range = z.object({ start: time, end: time });
const fittedStep = z.object({ kind: z.string() }).catchall(z.unknown()).meta({
  description:
    'A fitted step: standard_scaler {mean, std}, min_max_scaler {min, max}, robust_scaler {median, iqr}, one_hot / label_encoder {categories, unknown}, log {offset}, impute {value}, binning {boundaries}.',
});
/** `GET /v1/feature-views/{name}/training-datasets/{dataset}`. */
export const datasetSchema = z
  .object({
    featureView: ref,
    version: z.number().int(),
    state: z.enum(['creating', 'ready', 'failed']),
    description: z.string(),
    start: time.nullable().meta({ description: 'Spine event-time range start (inclusive), if any.' }),
    end: time.nullable(),
    splits: z.object({
      kind: splitKind,
      fractions: z.record(z.string(), z.number()).optional(),
      seed: z.number().int().optional(),
      ranges: z.record(z.string(), range).optional(),
    }),
    splitKey: z.array(z.string()).nullable().meta({ description: 'Columns hashed to assign random splits.' }),
    rowCounts: z.record(z.string(), count).meta({ description: 'Rows per split.' }),
    contentHashes: z.record(z.string(), z.string()),
    featureGroupCommits: z
      .record(z.string(), z.number().int())
      .meta({ description: '`{"<group>@v<version>": commitId}`: the snapshot each group was read at.' }),
    transformation: z
      .object({
        features: z.array(z.string()),
        outputs: z.array(z.string()).meta({ description: 'Model input columns, in order.' }),
        steps: z.record(z.string(), z.array(fittedStep)),
      })
      .meta({ description: 'Model-dependent transformations fitted on the train split.' }),
    createdAt: time,
  })
  .meta({ id: 'TrainingDataset' });

/** `GET /v1/feature-views/{name}/training-datasets/{dataset}/splits/{split}`. */
export const splitDownloadSchema = z
  .object({
    featureView: ref,
    trainingDataset: z.number().int(),
    split: z.enum(SPLIT_NAMES),
    rows: count,
    bytes: count.meta({ description: 'Size of the Parquet file.' }),
    format: z.literal('parquet'),
    transformed: z.boolean().meta({ description: 'Whether the file holds model inputs (see the query).' }),
    featureNames: z
      .array(z.string())
      .meta({ description: "The model's input columns, in order (after transformation)." }),
    url: z.url().meta({ description: 'Presigned GET URL of the Parquet file; no credentials needed.' }),
    expiresAt: time,
    expiresInSeconds: z.number().int(),
  })
  .meta({ id: 'SplitDownload' });

const featureStatus = z.enum(['present', 'missing', 'outside_ttl', 'passed', 'computed']);
/** `POST /v1/feature-views/{name}/online`. */
export const onlineResponseSchema = z
  .object({
    featureView: ref,
    features: z.array(z.string()),
    transformation: z
      .object({ trainingDataset: z.number().int(), outputs: z.array(z.string()) })
      .nullable()
      .meta({ description: 'Set when the request named a training dataset.' }),
    vectors: z.array(
      z.object({
        keys: z.record(z.string(), z.unknown()),
        values: z
          .record(z.string(), z.unknown())
          .meta({ description: 'Feature values (untransformed), times as ISO-8601 strings.' }),
        status: z.record(z.string(), featureStatus),
        vector: z
          .array(z.number().nullable())
          .optional()
          .meta({ description: 'Model input (with `trainingDataset`); null = missing.' }),
      }),
    ),
  })
  .meta({ id: 'OnlineFeatures' });
