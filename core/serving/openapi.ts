import { z } from 'zod';
import type { ApiKeyScope } from './api-keys';
import {
  datasetListSchema,
  datasetParams,
  datasetSchema,
  errorSchema,
  groupListSchema,
  groupQuery,
  groupSchema,
  nameParams,
  onlineRequestSchema,
  onlineResponseSchema,
  splitDownloadSchema,
  splitParams,
  splitQuery,
  viewListSchema,
  viewQuery,
  viewSchema,
} from './feature-store-schemas';
import { modelImportRequestSchema, modelImportResponseSchema } from './model-import-api';
import { predictSchema } from './predict-schema';

// The OpenAPI 3.1 document of the service's /v1 routes, generated from the zod schemas the routes
// validate with. docs/openapi.json is this document checked in (`npm run docs:openapi` rewrites
// it; a unit test fails when they differ). The Open Inference Protocol v2 routes follow their own
// published specification and are named, not repeated, here.

/** Everything the OpenAPI document says about one route. */
interface RouteDoc {
  readonly method: 'get' | 'post';
  /** OpenAPI path, `{param}` style. */
  readonly path: string;
  readonly operationId: string;
  readonly tag: 'feature store' | 'models' | 'inference' | 'events' | 'service';
  readonly summary: string;
  readonly description?: string;
  /** API-key scope the route needs (`admin` always works); null: no key. */
  readonly scope: ApiKeyScope | null;
  readonly params?: z.ZodObject;
  readonly query?: z.ZodObject;
  readonly body?: z.ZodType;
  /** The 2xx answer. */
  readonly ok: { readonly status: 200 | 202; readonly schema: z.ZodType; readonly description: string };
  /** Error statuses the route answers with, besides 401/403 (with a scope) and 503. */
  readonly errors: Readonly<Partial<Record<400 | 404 | 413 | 422, string>>>;
}

const predictResponse = z
  .object({
    requestId: z.string(),
    deployment: z.string(),
    deploymentVersion: z.number().int(),
    predictions: z.array(
      z.object({
        variant: z.string(),
        model: z.object({ name: z.string(), version: z.number().int() }),
        label: z.string().optional().meta({ description: 'Predicted class (classification).' }),
        probabilities: z.record(z.string(), z.number()).optional(),
        prediction: z.number().optional().meta({ description: 'Regression output.' }),
        features: z.record(z.string(), z.object({ value: z.unknown(), status: z.string() })),
      }),
    ),
  })
  .meta({ id: 'Prediction' });

const eventsRequest = z
  .union([
    z.object({ events: z.array(z.record(z.string(), z.unknown())).min(1).max(10_000) }),
    z.record(z.string(), z.unknown()).meta({ description: 'One event.' }),
  ])
  .meta({
    id: 'FeatureEvents',
    description:
      "One event, or up to 10 000 in `events`. An event's fields are features of the group (primary key and event time required; ISO-8601 times).",
  });
const eventsResponse = z
  .object({
    featureGroup: z.string(),
    version: z.number().int(),
    stream: z.string(),
    accepted: z.number().int(),
    duplicates: z.number().int().meta({ description: 'Events the stream already held (a resend).' }),
    sequences: z.array(z.number().int()),
  })
  .meta({ id: 'EventsAccepted' });

const ROUTES: readonly RouteDoc[] = [
  {
    method: 'get',
    path: '/v1/feature-groups',
    operationId: 'listFeatureGroups',
    tag: 'feature store',
    summary: 'Every feature group version with its key, event time and latest commit.',
    scope: 'features',
    ok: { status: 200, schema: groupListSchema, description: 'The feature groups.' },
    errors: { 400: 'An unknown query parameter.' },
  },
  {
    method: 'get',
    path: '/v1/feature-groups/{name}',
    operationId: 'getFeatureGroup',
    tag: 'feature store',
    summary: 'A feature group version: schema, primary key, event time, online settings, latest commit.',
    scope: 'features',
    params: nameParams,
    query: groupQuery,
    ok: { status: 200, schema: groupSchema, description: 'The feature group version.' },
    errors: { 400: 'A malformed name or version.', 404: 'No such group or version.' },
  },
  {
    method: 'get',
    path: '/v1/feature-views',
    operationId: 'listFeatureViews',
    tag: 'feature store',
    summary: 'Every feature view version.',
    scope: 'features',
    ok: { status: 200, schema: viewListSchema, description: 'The feature views.' },
    errors: { 400: 'An unknown query parameter.' },
  },
  {
    method: 'get',
    path: '/v1/feature-views/{name}',
    operationId: 'getFeatureView',
    tag: 'feature store',
    summary: 'A feature view version: features, labels, entity keys, joins, versions, training datasets.',
    scope: 'features',
    params: nameParams,
    query: viewQuery,
    ok: { status: 200, schema: viewSchema, description: 'The feature view version.' },
    errors: { 400: 'A malformed name or version.', 404: 'No such view or version.' },
  },
  {
    method: 'get',
    path: '/v1/feature-views/{name}/training-datasets',
    operationId: 'listTrainingDatasets',
    tag: 'feature store',
    summary: 'The training datasets of a feature view version, newest first.',
    scope: 'features',
    params: nameParams,
    query: viewQuery,
    ok: { status: 200, schema: datasetListSchema, description: 'The training datasets.' },
    errors: { 400: 'A malformed name or version.', 404: 'No such view or version.' },
  },
  {
    method: 'get',
    path: '/v1/feature-views/{name}/training-datasets/{dataset}',
    operationId: 'getTrainingDataset',
    tag: 'feature store',
    summary:
      'A ready training dataset: splits with row counts, fitted transformation, feature-group commits.',
    scope: 'features',
    params: datasetParams,
    query: viewQuery,
    ok: { status: 200, schema: datasetSchema, description: 'The training dataset.' },
    errors: {
      400: 'A malformed name or version.',
      404: 'No such view, or no ready dataset of that version.',
    },
  },
  {
    method: 'get',
    path: '/v1/feature-views/{name}/training-datasets/{dataset}/splits/{split}',
    operationId: 'getTrainingDataSplit',
    tag: 'feature store',
    summary: 'A short-lived presigned URL of one split as Parquet.',
    description:
      "The URL downloads the split's Parquet file straight from the object store with a plain GET, without credentials, until `expiresAt`: the view's columns as stored (keys, event time, features untransformed, labels), or with `transformed=true` the model inputs (the dataset's fitted transformations applied by the platform).",
    scope: 'features',
    params: splitParams,
    query: splitQuery,
    ok: { status: 200, schema: splitDownloadSchema, description: 'Where to download the split.' },
    errors: {
      400: 'A malformed name, version, split or expiry.',
      404: 'No such view, dataset or split.',
    },
  },
  {
    method: 'post',
    path: '/v1/feature-views/{name}/online',
    operationId: 'getOnlineFeatures',
    tag: 'feature store',
    summary: "The latest feature values of entities from the online store, in the view's order.",
    description:
      'Every joined feature group is read in one round trip; request values and on-demand features are merged as at serving time. Each value carries a status (`present`, `missing`, `outside_ttl`, `passed`, `computed`).',
    scope: 'features',
    params: nameParams,
    query: viewQuery,
    body: onlineRequestSchema,
    ok: {
      status: 200,
      schema: onlineResponseSchema,
      description: 'One vector per entity, in request order.',
    },
    errors: {
      400: 'A malformed body (unknown field, no entities, more than 1000).',
      404: 'No such view, version or training dataset.',
      422: 'A key or request field the view does not take, of the wrong type, or missing; with `missing: error`, an entity without an online row.',
    },
  },
  {
    method: 'post',
    path: '/v1/feature-groups/{name}/events',
    operationId: 'pushEvents',
    tag: 'events',
    summary: "Push events into the feature group's stream (a streaming pipeline turns them into rows).",
    description:
      'Every event is validated against the group schema before any is stored; a resent event is stored once. Answers once JetStream stored them all.',
    scope: 'push',
    params: nameParams,
    query: groupQuery,
    body: eventsRequest,
    ok: { status: 202, schema: eventsResponse, description: 'Every event is stored in the stream.' },
    errors: {
      400: 'Malformed JSON or version.',
      404: 'No such feature group.',
      413: 'More than 10 000 events.',
      422: 'An invalid event; `index`, `field` and `errors` say which (nothing was stored).',
    },
  },
  {
    method: 'post',
    path: '/v1/models/{name}/import',
    operationId: 'importModel',
    tag: 'models',
    summary:
      'Register an ONNX model trained elsewhere (skl2onnx, onnxmltools, torch.onnx) as a version of a model.',
    description:
      "Exactly `fti models import`: the model is adapted to the platform's interface (inputs mapped to the training dataset's model inputs, ZipMap unwrapped, label = argmax), checked on the dataset's rows, scored on its test split, gated like a trained model, and registered with provenance. A model that fails a gate is registered `rejected`. The same file and options again return the same version.",
    scope: 'models',
    params: z.object({ name: z.string().meta({ description: 'Registered model name.' }) }),
    body: modelImportRequestSchema,
    ok: { status: 200, schema: modelImportResponseSchema, description: 'The registered version.' },
    errors: {
      400: 'A malformed body, or a model that does not fit the view (nothing is registered).',
      404: 'No such feature view or training dataset.',
      413: 'A file over 128 MiB.',
    },
  },
  {
    method: 'post',
    path: '/v1/deployments/{name}/predict',
    operationId: 'predict',
    tag: 'inference',
    summary: 'Predict for entities: online features → transformations → model.',
    description:
      'A key restricted to deployments may call only those. The Open Inference Protocol v2 routes (`/v2/models/{name}[/versions/{v}]/infer`, metadata, ready, health) follow their own specification: https://github.com/kserve/open-inference-protocol',
    scope: 'predict',
    params: z.object({ name: z.string().meta({ description: 'Deployment name.' }) }),
    body: predictSchema.meta({ id: 'PredictRequest' }),
    ok: { status: 200, schema: predictResponse, description: 'One prediction per instance.' },
    errors: {
      400: 'A malformed body.',
      404: 'No such deployment.',
      413: 'More than 1000 instances.',
      422: 'A key or request field of the wrong type, not taken by the view, or missing features under the error policy.',
    },
  },
  {
    method: 'get',
    path: '/v1/openapi.json',
    operationId: 'openapi',
    tag: 'service',
    summary: 'This document.',
    scope: null,
    ok: { status: 200, schema: z.object({}).catchall(z.unknown()), description: 'OpenAPI 3.1.' },
    errors: {},
  },
];

const ERROR_REF = { $ref: '#/components/schemas/Error' };
type Json = Record<string, unknown>;

/**
 * zod → JSON Schema (2020-12, the dialect of OpenAPI 3.1). Schemas named with `.meta({ id })` go to
 * `components` and are referenced from there.
 */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output', components: Json): Json {
  const out = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' });
  const moved = JSON.parse(JSON.stringify(out).replaceAll('"#/$defs/', '"#/components/schemas/')) as Json & {
    $defs?: Record<string, Json>;
  };
  const { $defs, $schema: _dialect, ...root } = moved;
  for (const [id, def] of Object.entries($defs ?? {})) components[id] = def;
  return root;
}

function parameters(where: 'path' | 'query', schema: z.ZodObject | undefined, components: Json) {
  if (!schema) return [];
  return Object.entries(schema.shape).map(([name, field]) => {
    const type = field as z.ZodType;
    const json = jsonSchema(type, 'input', components);
    const { description, ...rest } = json;
    return {
      name,
      in: where,
      required: where === 'path' || !type.safeParse(undefined).success,
      ...(description ? { description } : {}),
      schema: rest,
    };
  });
}

/** The OpenAPI 3.1 document of the service's /v1 routes (deterministic: same input, same bytes). */
export function openApiDocument(): Json {
  const components: Json = {};
  jsonSchema(errorSchema, 'output', components);
  const paths: Record<string, Json> = {};
  for (const route of ROUTES) {
    const security = route.scope ? [{ bearer: [route.scope] }, { apiKey: [route.scope] }] : ([] as Json[]);
    const responses: Json = {
      [String(route.ok.status)]: {
        description: route.ok.description,
        content: { 'application/json': { schema: jsonSchema(route.ok.schema, 'input', components) } },
      },
    };
    const errors: Record<string, string> = { ...route.errors };
    if (route.scope) {
      errors['401'] = 'No API key, or an unknown or revoked one.';
      errors['403'] =
        `The key lacks scope \`${route.scope}\` (or \`admin\`)${route.scope === 'predict' ? ', or may not call this deployment' : ''}.`;
    }
    if (route.scope)
      errors['503'] = 'A dependency (PostgreSQL, S3, NATS) is down; retry after `Retry-After` seconds.';
    for (const status of Object.keys(errors).sort())
      responses[status] = {
        description: errors[status],
        content: { 'application/json': { schema: ERROR_REF } },
      };
    paths[route.path] = {
      ...paths[route.path],
      [route.method]: {
        operationId: route.operationId,
        tags: [route.tag],
        summary: route.summary,
        ...(route.description ? { description: route.description } : {}),
        ...(route.scope ? { 'x-fti-scope': route.scope, security } : { security: [] }),
        parameters: [
          ...parameters('path', route.params, components),
          ...parameters('query', route.query, components),
        ],
        ...(route.body
          ? {
              requestBody: {
                required: true,
                content: { 'application/json': { schema: jsonSchema(route.body, 'input', components) } },
              },
            }
          : {}),
        responses,
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'FTI Platform online service',
      version: '1',
      description:
        'Feature store reads (scope `features`), model import (`models`), event push (`push`) and predictions (`predict`) of the FTI Platform online service. Send an API key as `Authorization: Bearer <key>` or `x-api-key: <key>` (`fti apikey create <client> --scope features`); `admin` keys may call everything. Errors are `{"error": "..."}` saying what is wrong, where, and how to fix it.',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    tags: [
      {
        name: 'feature store',
        description: 'Feature groups, feature views, training data, online features.',
      },
      { name: 'models', description: 'Models trained outside the platform.' },
      { name: 'events', description: 'Feature events into streams.' },
      { name: 'inference', description: 'Predictions of deployments.' },
      { name: 'service', description: 'The service itself.' },
    ],
    paths,
    components: {
      schemas: Object.fromEntries(Object.entries(components).sort(([a], [b]) => a.localeCompare(b))),
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'An API key as a bearer token.' },
        apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key', description: 'An API key.' },
      },
    },
  };
}

/** Method and OpenAPI path of every documented route (the tests compare them with the server's). */
export function documentedRoutes(): { method: string; path: string }[] {
  return ROUTES.map((r) => ({ method: r.method.toUpperCase(), path: r.path }));
}
