import os from 'node:os';
import path from 'node:path';
import {
  decodeInferRequest,
  encodeInferResponse,
  NUMERIC_DATATYPES,
  OipRequestError,
  type DecodedInferRequest,
  type OutputTensor,
} from './oip-codec';
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type pg from 'pg';
import type { z } from 'zod';
import { isDatabaseUnavailable } from '../db/client';
import { ENV } from '../config';
import { FtiError, ServiceUnavailableError, ValidationError } from '../errors';
import {
  MissingFeatureError,
  RequestFieldError,
  UnknownCategoryError,
  type VectorRequest,
} from '../featurestore';
import { allows, ApiKeyVerifier, type ApiKeyGrant, type ApiKeyScope } from './api-keys';
import { DeploymentNotFoundError } from './deployments';
import { EventIngest, registerEventRoutes, type EventIngestOptions } from './event-ingest';
import { registerFeatureStoreRoutes } from './feature-store-api';
import { registerModelImportRoute } from './model-import-api';
import { openApiDocument } from './openapi';
import { parsePredictBody } from './predict-schema';
import { ServingMetrics } from './metrics';
import { registerMonitorGauges } from '../monitoring/metrics';
import { pushLabels } from '../monitoring/labels';
import { PredictionLogWriter, type PredictionLogOptions } from './prediction-log';
import { DeploymentRuntime, type ActiveDeployment, type ActiveVariant } from './runtime';
import { entityKeyOf, pickVariant, type ModelOutput, type ScorerDeps } from './scorer';
import { ObjectCache } from '../storage';

/** Options of {@link createInferenceServer}. */
export interface InferenceServerOptions extends ScorerDeps {
  readonly pool: pg.Pool;
  /** Require an API key (`Authorization: Bearer …` or `x-api-key`) on predict/infer/model routes. @default true */
  readonly requireApiKey?: boolean;
  /** Largest request body in bytes. @default 1 MiB */
  readonly bodyLimit?: number;
  /** Most instances per request. @default 1000 */
  readonly maxBatch?: number;
  /** Per-request timeout. @default 10 s */
  readonly requestTimeoutMs?: number;
  /** Log requests and predictions to `prediction_logs`. @default true */
  readonly logPredictions?: boolean;
  /**
   * Prediction log settings. @default retention FTI_PREDICTION_LOG_RETENTION_DAYS (30), feature
   * values logged unless FTI_PREDICTION_LOG_FEATURES=false; rows Postgres refuses spill to S3.
   */
  readonly predictionLog?: Pick<
    PredictionLogOptions,
    'retentionDays' | 'logFeatures' | 'maxBuffer' | 'flushMs'
  >;
  /** Watch deployment changes (LISTEN/NOTIFY + polling). @default true */
  readonly watch?: boolean;
  /** Re-read active deployments this often, besides LISTEN/NOTIFY (the fallback). @default 5000 */
  readonly pollMs?: number;
  /** `Retry-After` (seconds) sent with a 503 while a dependency is down. @default 5 */
  readonly retryAfterSeconds?: number;
  /** The event push endpoint (NATS URL, batch and body limits). @default NATS_URL, 10 000 events */
  readonly events?: EventIngestOptions;
  /** Local cache of object-store files for dataset reads. @default one under `scratchDir` */
  readonly cache?: ObjectCache;
  /** Scratch folder for dataset reads and imports. @default a folder of the OS temp directory */
  readonly scratchDir?: string;
}

/** A running inference server and its parts. */
export interface InferenceServer {
  readonly app: FastifyInstance;
  readonly runtime: DeploymentRuntime;
  readonly metrics: ServingMetrics;
  readonly logs: PredictionLogWriter | undefined;
  close(): Promise<void>;
}

/** An error that maps to an HTTP status. */
class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

function zodMessage(error: z.ZodError, what: string): string {
  return `${what}: ${error.issues.map((i) => `${i.path.join('.') || '(body)'} ${i.message}`).join('; ')}`;
}

/**
 * The dependency whose outage caused `error` (`postgres`, `s3`, …), or undefined when the error is
 * not an outage. Looks through `cause` chains: drivers' errors arrive wrapped (drizzle, scorer).
 */
export function unavailableDependency(error: unknown): string | undefined {
  const seen = new Set<unknown>();
  for (
    let e: unknown = error;
    e && typeof e === 'object' && !seen.has(e);
    e = (e as { cause?: unknown }).cause
  ) {
    seen.add(e);
    if (e instanceof ServiceUnavailableError) return e.service;
  }
  return isDatabaseUnavailable(error) ? 'postgres' : undefined;
}

/** Prediction log settings from the environment (see {@link ENV}). */
export function predictionLogSettings(
  env: NodeJS.ProcessEnv,
): Pick<PredictionLogOptions, 'retentionDays' | 'logFeatures'> {
  const days = env[ENV.predictionLogRetentionDays];
  const retentionDays = days === undefined || days === '' ? 30 : Number(days);
  if (!Number.isInteger(retentionDays) || retentionDays < 0)
    throw new Error(
      `${ENV.predictionLogRetentionDays}=${days} must be a whole number of days (0: keep forever).`,
    );
  const features = env[ENV.predictionLogFeatures];
  if (features !== undefined && features !== '' && features !== 'true' && features !== 'false')
    throw new Error(`${ENV.predictionLogFeatures}=${features} must be true or false.`);
  return { retentionDays, logFeatures: features !== 'false' };
}

/** The `deployment` label of requests to unknown deployments and of unauthenticated calls. */
export const OTHER_DEPLOYMENTS = '_other';

function statusOf(error: unknown): number {
  if (error instanceof HttpError) return error.statusCode;
  if (unavailableDependency(error) !== undefined) return 503;
  if (error instanceof DeploymentNotFoundError) return 404;
  if (
    error instanceof MissingFeatureError ||
    error instanceof UnknownCategoryError ||
    error instanceof RequestFieldError
  )
    return 422;
  if (error instanceof ValidationError) return 400;
  const code = (error as { statusCode?: number }).statusCode;
  if (typeof code === 'number' && code >= 400 && code < 500) return code;
  return 500;
}

/**
 * The online inference service (fastify): `/v1/deployments/:name/predict` (entity keys + request
 * values → online features → transformations → ONNX), the Open Inference Protocol v2
 * (`/v2/health/*`, `/v2/models/:name[/versions/:v][/ready|/infer]`), `/metrics` for Prometheus, and
 * the event push endpoint `/v1/feature-groups/:name/events` (validated events into the group's
 * stream; NATS is connected on first push, so predictions never wait for it), the feature store's
 * read API (`/v1/feature-groups`, `/v1/feature-views`, see `feature-store-api.ts`) and its OpenAPI
 * document at `/v1/openapi.json`.
 * Deployments are loaded on first use and kept warm; changes arrive by LISTEN/NOTIFY.
 */
export async function createInferenceServer(options: InferenceServerOptions): Promise<InferenceServer> {
  const metrics = new ServingMetrics();
  registerMonitorGauges(metrics.registry, options.db);
  const runtime = new DeploymentRuntime(options);
  const logs =
    options.logPredictions === false
      ? undefined
      : new PredictionLogWriter(options.pool, {
          ...predictionLogSettings(process.env),
          ...options.predictionLog,
          spill: { store: options.store, scratchDir: os.tmpdir() },
          onOutcome: (outcome, rows) => metrics.predictionLogRows.inc({ outcome }, rows),
        });
  if (logs) metrics.predictionLogBuffer = () => logs.buffered;
  const keys = new ApiKeyVerifier(options.db);
  const events = new EventIngest(options.db, options.events);
  const requireKey = options.requireApiKey ?? true;
  const maxBatch = options.maxBatch ?? 1000;
  const retryAfter = String(Math.max(1, Math.round(options.retryAfterSeconds ?? 5)));
  const lastOutageLog = new Map<string, number>();
  // When a request last failed because of each dependency; readiness reports it for a while, as
  // S3 is not probed on every readiness check (its retries would make the probe slow).
  const lastOutage = new Map<string, number>();
  if (options.watch !== false) {
    await runtime.watch(options.pool, options.pollMs ?? 5000, {
      onError: (error) => logOutage('postgres', `deployment listener: ${(error as Error).message}`),
    });
    metrics.listenerUp = () => runtime.listenerState === 'connected';
  }
  /** One log line per dependency per 10 s: an outage under traffic must not flood the log. */
  function logOutage(dependency: string, message: string): void {
    const now = Date.now();
    if (now - (lastOutageLog.get(dependency) ?? 0) < 10_000) return;
    lastOutageLog.set(dependency, now);
    process.stderr.write(`inference server: ${dependency} unavailable (answering 503): ${message}\n`);
  }

  const app = Fastify({
    logger: false,
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    requestTimeout: options.requestTimeoutMs ?? 10_000,
    connectionTimeout: 30_000,
    keepAliveTimeout: 65_000,
  });

  // One body parser for every route and content type: OIP clients (tritonclient) send JSON with no
  // Content-Type, and the OIP binary tensor extension appends raw tensor bytes to a JSON header
  // whose length `Inference-Header-Content-Length` gives; such bodies stay bytes for the infer route.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (request, body, done) => {
    const bytes = body as Buffer;
    if (request.headers['inference-header-content-length'] !== undefined) return done(null, bytes);
    if (bytes.length === 0) return done(null, undefined);
    try {
      done(null, JSON.parse(bytes.toString('utf8')));
    } catch {
      done(new HttpError(400, 'the request body is not valid JSON'), undefined);
    }
  });

  app.setErrorHandler((error, _request, reply) => {
    const dependency = unavailableDependency(error);
    if (dependency !== undefined) {
      // An outage, not a bug: say so quickly and plainly, and tell the client when to come back.
      metrics.unavailable.inc({ dependency });
      lastOutage.set(dependency, Date.now());
      logOutage(dependency, (error as Error).message.split('\n')[0] ?? '');
      void reply
        .status(503)
        .header('retry-after', retryAfter)
        .send({
          error: `service temporarily unavailable: ${dependency} cannot be reached; retry after ${retryAfter} s`,
          unavailable: dependency,
          retryAfterSeconds: Number(retryAfter),
        });
      return;
    }
    const status = statusOf(error);
    const message =
      status === 500
        ? 'internal error; see the server log'
        : error instanceof FtiError || error instanceof HttpError
          ? error.message
          : (error as Error).message;
    if (status === 500) process.stderr.write(`inference server error: ${(error as Error).message}\n`);
    void reply.status(status).send({ error: message });
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({ error: `no route ${request.method} ${request.url.split('?')[0]}` });
  });

  /**
   * The caller's grant, checked for `scope` (and `deployment` when the route names one): 401 without
   * a valid key, 403 when the key lacks the scope or is restricted to other deployments.
   */
  const authenticate = async (
    request: FastifyRequest,
    scope: ApiKeyScope,
    deployment?: string,
  ): Promise<ApiKeyGrant> => {
    if (!requireKey) return { client: 'anonymous', scopes: ['admin'], deployments: null };
    const header = request.headers.authorization;
    const key = header?.startsWith('Bearer ')
      ? header.slice(7)
      : (request.headers['x-api-key'] as string | undefined);
    if (!key)
      throw new HttpError(
        401,
        'missing API key: send "Authorization: Bearer <key>" or "x-api-key: <key>" (create one with `fti apikey create`)',
      );
    const grant = await keys.verify(key);
    if (!grant) throw new HttpError(401, 'invalid or revoked API key');
    if (!allows(grant, scope))
      throw new HttpError(
        403,
        `the API key of client ${grant.client} has scope(s) ${grant.scopes.join(', ')}; this call needs ${scope} (create a key with \`fti apikey create ${grant.client} --scope ${scope}\`)`,
      );
    if (!allows(grant, scope, deployment))
      throw new HttpError(
        403,
        `the API key of client ${grant.client} may call deployment(s) ${grant.deployments!.join(', ')} only, not ${deployment}`,
      );
    return grant;
  };

  const deploymentOf = async (name: string): Promise<ActiveDeployment> => {
    if (!/^[a-z][a-z0-9_-]{0,62}$/.test(name))
      throw new HttpError(404, `deployment ${JSON.stringify(name)} does not exist`);
    return runtime.get(name);
  };

  /** Scores instances grouped by their sticky variant; shadows score after the response. */
  /** One logged answer: the entity asked about, the features used, the output. */
  type Answer = {
    readonly entity: unknown;
    readonly features: unknown;
    readonly prediction: ModelOutput;
    readonly eventTime?: Date | undefined;
  };
  /** Writes one variant's answers to the prediction log (when logging is on). */
  const logAnswers = (
    deployment: ActiveDeployment,
    variant: ActiveVariant,
    requestId: string,
    answers: readonly Answer[],
    latencyMs: number,
  ) => {
    if (!logs) return;
    for (const a of answers)
      logs.log({
        deployment: deployment.name,
        deploymentVersion: deployment.version,
        variant: variant.binding.variant,
        modelVersion: variant.binding.model.version,
        shadow: variant.shadow,
        requestId,
        entity: a.entity,
        features: a.features,
        prediction: a.prediction,
        latencyMs,
        ...(a.eventTime ? { eventTime: a.eventTime } : {}),
      });
  };
  /**
   * Scores `shadows` after the response is sent (off the request path), counts and logs their
   * answers; a shadow's failure never reaches the caller.
   */
  const scoreShadows = (
    deployment: ActiveDeployment,
    requestId: string,
    shadows: readonly ActiveVariant[],
    score: (shadow: ActiveVariant) => Promise<{ answers: readonly Answer[]; latencyMs: number }>,
  ) => {
    if (shadows.length === 0) return;
    setImmediate(() => {
      for (const shadow of shadows)
        void score(shadow)
          .then(({ answers, latencyMs }) => {
            metrics.predictions.inc(
              { deployment: deployment.name, variant: shadow.binding.variant, shadow: 'true' },
              answers.length,
            );
            logAnswers(deployment, shadow, requestId, answers, latencyMs);
          })
          .catch(() => undefined);
    });
  };

  /** The event time a /predict instance carried (`eventTime`), if any. */
  const eventTimeOf = (instance: VectorRequest): Date | undefined => {
    const t = (instance as { eventTime?: unknown }).eventTime;
    return typeof t === 'string' ? new Date(t) : undefined;
  };

  const predictInstances = async (
    deployment: ActiveDeployment,
    instances: readonly VectorRequest[],
    requestId: string,
    /** The variant every instance goes to (an OIP request for one model version), else sticky per entity. */
    pinned?: ActiveVariant,
  ) => {
    const started = performance.now();
    const groups = new Map<ActiveVariant, number[]>();
    // One serving variant (no A/B split): every entity goes to it, no key to hash.
    const only =
      deployment.variants.length === 1 && !deployment.variants[0]!.shadow
        ? deployment.variants[0]
        : undefined;
    instances.forEach((instance, i) => {
      const variant = pinned ?? only ?? pickVariant(deployment.variants, entityKeyOf(instance.keys));
      (groups.get(variant) ?? groups.set(variant, []).get(variant)!).push(i);
    });
    const results: {
      variant: ActiveVariant;
      output: ModelOutput;
      features: Record<string, { value: unknown; status: string }>;
    }[] = new Array(instances.length);
    for (const [variant, indexes] of groups) {
      const scored = await variant.scorer.score(
        indexes.map((i) => instances[i]!),
        deployment.missing,
      );
      metrics.latency.observe(
        { deployment: deployment.name, variant: variant.binding.variant, stage: 'features' },
        scored.featureMs / 1000,
      );
      metrics.latency.observe(
        { deployment: deployment.name, variant: variant.binding.variant, stage: 'model' },
        scored.modelMs / 1000,
      );
      metrics.predictions.inc(
        { deployment: deployment.name, variant: variant.binding.variant, shadow: 'false' },
        indexes.length,
      );
      indexes.forEach((instanceIndex, j) => {
        const v = scored.vectors[j]!;
        const features: Record<string, { value: unknown; status: string }> = {};
        for (const [f, value] of Object.entries(v.values))
          features[f] = { value: value instanceof Date ? value.toISOString() : value, status: v.status[f]! };
        results[instanceIndex] = { variant, output: scored.outputs[j]!, features };
      });
    }
    const latencyMs = performance.now() - started;
    for (const variant of groups.keys())
      metrics.latency.observe(
        { deployment: deployment.name, variant: variant.binding.variant, stage: 'total' },
        latencyMs / 1000,
      );
    for (const [variant, indexes] of groups)
      logAnswers(
        deployment,
        variant,
        requestId,
        indexes.map((i) => ({
          entity: instances[i]!.keys,
          features: results[i]!.features,
          prediction: results[i]!.output,
          eventTime: eventTimeOf(instances[i]!),
        })),
        latencyMs,
      );
    scoreShadows(
      deployment,
      requestId,
      deployment.variants.filter((v) => v.shadow),
      async (shadow) => {
        const scored = await shadow.scorer.score(instances, 'null');
        return {
          answers: scored.outputs.map((prediction, i) => ({
            entity: instances[i]!.keys,
            features: scored.vectors[i]!.values,
            prediction,
            eventTime: eventTimeOf(instances[i]!),
          })),
          latencyMs: scored.featureMs + scored.modelMs,
        };
      },
    );
    return results;
  };

  const countRequest = (reply: FastifyReply, deployment: string, route: string) => {
    metrics.requests.inc({ deployment, variant: '', route, status: String(reply.statusCode) });
  };
  // A callback hook, not an async one: it runs on every response and needs no promise.
  app.addHook('onResponse', (request, reply, done) => {
    const name = (request.params as { name?: string } | undefined)?.name ?? '';
    const route = request.routeOptions.url ?? 'unknown';
    // Label values must stay few whatever clients send: a name becomes a label only for a deployment
    // this server has loaded and a caller that authenticated; the rest share one value.
    const known = reply.statusCode !== 401 && reply.statusCode !== 403 && name !== '' && runtime.has(name);
    if (route.startsWith('/v1/deployments') || route.startsWith('/v2/models'))
      countRequest(reply, known ? name : OTHER_DEPLOYMENTS, route);
    else if (route.startsWith('/v1/')) countRequest(reply, '', route);
    done();
  });

  app.post<{ Params: { name: string } }>('/v1/deployments/:name/predict', async (request) => {
    await authenticate(request, 'predict', request.params.name);
    const parsed = parsePredictBody(request.body);
    if ('error' in parsed) throw new HttpError(400, zodMessage(parsed.error, 'request body'));
    const instances = parsed.instances;
    if (instances.length > maxBatch)
      throw new HttpError(
        413,
        `batch of ${instances.length} instances exceeds the limit of ${maxBatch}; split it.`,
      );
    const deployment = await deploymentOf(request.params.name);
    const requestId = (request.headers['x-request-id'] as string | undefined)?.slice(0, 100) ?? randomUUID();
    const results = await predictInstances(deployment, instances as VectorRequest[], requestId);
    return {
      requestId,
      deployment: deployment.name,
      deploymentVersion: deployment.version,
      predictions: results.map((r) => ({
        variant: r.variant.binding.variant,
        model: { name: r.variant.binding.model.name, version: r.variant.binding.model.version },
        ...r.output,
        features: r.features,
      })),
    };
  });

  registerEventRoutes(app, {
    ingest: events,
    authenticate: (request) => authenticate(request, 'push'),
    bodyLimit: options.events?.bodyLimit,
  });

  // The feature store's REST API (scope `features`) and the OpenAPI document of the /v1 routes.
  // One cache and scratch folder for the routes that read datasets (model-ready splits, imports).
  const scratchDir = options.scratchDir ?? path.join(os.tmpdir(), `fti-service-${process.pid}`);
  const files = {
    scratchDir,
    cache: options.cache ?? new ObjectCache(options.store, { dir: path.join(scratchDir, 'cache') }),
  };
  registerFeatureStoreRoutes(app, {
    ...options,
    ...files,
    authenticate: (request) => authenticate(request, 'features'),
  });
  registerModelImportRoute(app, {
    ...options,
    ...files,
    authenticate: (request) => authenticate(request, 'models'),
  });
  app.get('/v1/openapi.json', async () => openApiDocument());

  // Open Inference Protocol v2 (KServe / Triton).
  // Liveness never depends on PostgreSQL or S3: restarting the process cannot fix their outage.
  // Readiness does, so a load balancer stops sending traffic while they are down.
  const readiness = async (_request: FastifyRequest, reply: FastifyReply) => {
    const postgres = await probe(options.pool);
    const listener = runtime.listenerState ?? 'off';
    const s3 = Date.now() - (lastOutage.get('s3') ?? 0) < 10_000 ? 'down' : 'up';
    const ready = postgres === 'up' && listener !== 'reconnecting' && s3 === 'up';
    if (!ready) void reply.status(503).header('retry-after', retryAfter);
    return { ready, postgres, listener, s3 };
  };
  app.get('/health', async () => ({ live: true }));
  app.get('/health/ready', readiness);
  app.get('/v2/health/live', async () => ({ live: true }));
  app.get('/v2/health/ready', readiness);
  app.get('/v2', async () => ({ name: 'fti-inference', version: '2', extensions: [] }));

  const modelMetadata = (deployment: ActiveDeployment, pinned?: ActiveVariant) => {
    const main = pinned ?? pickVariant(deployment.variants, '');
    const scorer = main.scorer;
    return {
      name: deployment.name,
      // Versions are the serving models' versions (what /versions/{v} routes to, as in KServe).
      versions: [
        ...new Set(deployment.variants.filter((v) => !v.shadow).map((v) => String(v.binding.model.version))),
      ],
      platform: 'onnxruntime_onnx',
      inputs: [
        {
          name: 'features',
          datatype: 'FP32',
          shape: [-1, scorer.cols],
          parameters: { featureNames: scorer.reader.outputs },
        },
        ...scorer.reader.view.entityKeys.map((k) => ({ name: k, datatype: 'BYTES', shape: [-1] })),
      ],
      outputs:
        scorer.signature.task === 'regression'
          ? [{ name: 'prediction', datatype: 'FP32', shape: [-1] }]
          : [
              { name: 'label', datatype: 'BYTES', shape: [-1] },
              { name: 'probabilities', datatype: 'FP32', shape: [-1, scorer.signature.classes?.length ?? 2] },
            ],
      parameters: {
        deployment_version: deployment.version,
        variants: deployment.variants.map((v) => ({
          variant: v.binding.variant,
          weight: v.weight,
          shadow: v.shadow,
          model: v.binding.model,
        })),
      },
    };
  };
  /**
   * The variant serving model version `version` (OIP `/versions/{v}`: the model's version, as in
   * KServe), or undefined without one; 404 when no serving variant has that version.
   */
  const variantOfVersion = (deployment: ActiveDeployment, version?: string): ActiveVariant | undefined => {
    if (version === undefined) return undefined;
    const serving = deployment.variants.filter((v) => !v.shadow);
    const found = serving.find((v) => String(v.binding.model.version) === version);
    if (!found)
      throw new HttpError(
        404,
        `deployment ${deployment.name} serves model version(s) ${[...new Set(serving.map((v) => v.binding.model.version))].join(', ')}, not ${version}`,
      );
    return found;
  };
  const versionCheck = (deployment: ActiveDeployment, version?: string) => {
    variantOfVersion(deployment, version);
  };

  app.get<{ Params: { name: string } }>('/v2/models/:name', async (request) => {
    await authenticate(request, 'predict', request.params.name);
    return modelMetadata(await deploymentOf(request.params.name));
  });
  app.get<{ Params: { name: string; version: string } }>(
    '/v2/models/:name/versions/:version',
    async (request) => {
      await authenticate(request, 'predict', request.params.name);
      const deployment = await deploymentOf(request.params.name);
      return modelMetadata(deployment, variantOfVersion(deployment, request.params.version));
    },
  );
  const ready = async (request: FastifyRequest<{ Params: { name: string; version?: string } }>) => {
    await authenticate(request, 'predict', request.params.name);
    const deployment = await deploymentOf(request.params.name);
    versionCheck(deployment, request.params.version);
    return { name: deployment.name, ready: true };
  };
  app.get('/v2/models/:name/ready', ready);
  app.get('/v2/models/:name/versions/:version/ready', ready);

  const infer = async (
    request: FastifyRequest<{ Params: { name: string; version?: string } }>,
    reply: FastifyReply,
  ) => {
    await authenticate(request, 'predict', request.params.name);
    const headerLength = request.headers['inference-header-content-length'];
    let decoded: DecodedInferRequest;
    try {
      decoded = decodeInferRequest(
        request.body,
        headerLength === undefined ? undefined : Number(headerLength),
      );
    } catch (error) {
      if (error instanceof OipRequestError) throw new HttpError(400, error.message);
      throw error;
    }
    const deployment = await deploymentOf(request.params.name);
    const pinned = variantOfVersion(deployment, request.params.version);
    const requestId = decoded.id ?? randomUUID();
    let outputs: ModelOutput[];
    let answered: ActiveVariant;
    const tensor = decoded.inputs.find((i) => i.name === 'features');
    if (tensor) {
      const rows = tensor.shape[0] ?? 0;
      if (rows > maxBatch) throw new HttpError(413, `batch of ${rows} rows exceeds the limit of ${maxBatch}`);
      if (!NUMERIC_DATATYPES.has(tensor.datatype))
        throw new HttpError(400, `input "features" must be a numeric tensor (FP32), not ${tensor.datatype}`);
      // Sticky like /predict: by the caller's routing key, else by the request id it chose, else
      // by the rows themselves (the same input always meets the same variant).
      const routing = decoded.parameters.routing_key;
      const variant =
        pinned ??
        pickVariant(
          deployment.variants,
          typeof routing === 'string' ? routing : (decoded.id ?? JSON.stringify(tensor.values)),
        );
      const cols = variant.scorer.cols;
      if (tensor.shape.length !== 2 || tensor.shape[1] !== cols)
        throw new HttpError(
          400,
          `input "features" must have shape [N, ${cols}] with N×${cols} values (got shape [${tensor.shape.join(', ')}] and ${tensor.values.length} values)`,
        );
      const X = Float32Array.from(tensor.values as number[]);
      const started = performance.now();
      outputs = await variant.scorer.scoreMatrix(X, rows);
      answered = variant;
      const latencyMs = performance.now() - started;
      metrics.predictions.inc(
        { deployment: deployment.name, variant: variant.binding.variant, shadow: 'false' },
        rows,
      );
      const names = variant.scorer.reader.outputs;
      // Status `model_input`: these are model inputs as sent (transformed), not stored feature values,
      // so monitors compare them with the model-input reference.
      const rowFeatures = (r: number) =>
        Object.fromEntries(names.map((n, c) => [n, { value: X[r * cols + c]!, status: 'model_input' }]));
      const answersOf = (scored: readonly ModelOutput[]) =>
        scored.map((prediction, r) => ({ entity: {}, features: rowFeatures(r), prediction }));
      logAnswers(deployment, variant, requestId, answersOf(outputs), latencyMs);
      // Shadows take the same tensor when they read the same model inputs.
      scoreShadows(
        deployment,
        requestId,
        deployment.variants.filter((v) => v.shadow && v.scorer.cols === cols),
        async (shadow) => ({ answers: answersOf(await shadow.scorer.scoreMatrix(X, rows)), latencyMs }),
      );
    } else {
      // Entity-key inputs: one tensor per key column (and optional request values), N entities.
      const n = decoded.inputs[0]!.values.length;
      if (decoded.inputs.some((i) => i.values.length !== n || i.shape.length !== 1))
        throw new HttpError(400, 'every input must be a 1-D tensor with one value per entity');
      if (n > maxBatch) throw new HttpError(413, `batch of ${n} entities exceeds the limit of ${maxBatch}`);
      const entityKeys = deployment.variants[0]!.scorer.reader.view.entityKeys;
      const instances: VectorRequest[] = Array.from({ length: n }, (_, i) => {
        const keysOf: Record<string, unknown> = {};
        const values: Record<string, unknown> = {};
        for (const input of decoded.inputs)
          (entityKeys.includes(input.name) ? keysOf : values)[input.name] = input.values[i];
        return { keys: keysOf, request: values };
      });
      const results = await predictInstances(deployment, instances, requestId, pinned);
      outputs = results.map((r) => r.output);
      answered = results[0]!.variant;
    }
    const first = outputs[0];
    const tensors: OutputTensor[] =
      first?.prediction !== undefined
        ? [
            {
              name: 'prediction',
              datatype: 'FP32',
              shape: [outputs.length],
              data: outputs.map((o) => o.prediction!),
            },
          ]
        : [
            { name: 'label', datatype: 'BYTES', shape: [outputs.length], data: outputs.map((o) => o.label!) },
            {
              name: 'probabilities',
              datatype: 'FP32',
              shape: [outputs.length, Object.keys(first?.probabilities ?? {}).length],
              data: outputs.flatMap((o) => Object.values(o.probabilities!)),
            },
          ];
    // model_version is the version of the model that answered; the deployment's is a parameter.
    const { body, headerLength: length } = encodeInferResponse(
      {
        model_name: deployment.name,
        model_version: String(answered.binding.model.version),
        id: requestId,
        parameters: {
          variant: answered.binding.variant,
          model: answered.binding.model,
          deployment_version: deployment.version,
        },
      },
      tensors,
      decoded,
    );
    if (length !== undefined)
      void reply
        .header('inference-header-content-length', String(length))
        .header('content-type', 'application/octet-stream');
    else void reply.header('content-type', 'application/json; charset=utf-8');
    return reply.send(body);
  };
  app.post('/v2/models/:name/infer', infer);
  app.post('/v2/models/:name/versions/:version/infer', infer);

  // Admin: what this server has loaded, and a forced reload (e.g. after a missed NOTIFY).
  app.get('/v1/admin/deployments', async (request) => {
    await authenticate(request, 'admin');
    return Promise.all(
      runtime.names().map(async (name) => {
        const d = await runtime.get(name);
        return {
          name,
          version: d.version,
          variants: d.variants.map((v) => ({
            variant: v.binding.variant,
            weight: v.weight,
            shadow: v.shadow,
            model: v.binding.model,
          })),
        };
      }),
    );
  });
  app.post<{ Params: { name: string } }>('/v1/admin/deployments/:name/refresh', async (request) => {
    await authenticate(request, 'admin');
    const d = await runtime.refresh(request.params.name);
    return { name: request.params.name, version: d.version };
  });

  // Delayed ground truth for live performance: scope `labels` of its own, since labels decide
  // performance alerts and automatic promotions (an event producer's `push` key must not).
  app.post<{ Params: { name: string } }>(
    '/v1/deployments/:name/labels',
    { bodyLimit: 16 * 1024 * 1024 },
    async (request) => {
      await authenticate(request, 'labels', request.params.name);
      const body = request.body as { labels?: unknown } | null;
      if (!body || typeof body !== 'object' || !Array.isArray(body.labels))
        throw new HttpError(
          400,
          'request body must be {"labels": [{"keys": {…}, "eventTime": "…", "label": …}, …]}',
        );
      if (body.labels.length > 10_000)
        throw new HttpError(
          413,
          `${body.labels.length} labels in one request; send at most 10000 (or use fti labels push).`,
        );
      // Only the deployment's label contract is read (pushLabels checks it exists): storing labels
      // must not load the model and its feature code, which this process may not even hold.
      return {
        deployment: request.params.name,
        ...(await pushLabels(options.db, request.params.name, body.labels)),
      };
    },
  );

  app.get('/metrics', async (_request, reply) => {
    void reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  return {
    app,
    runtime,
    metrics,
    logs,
    async close() {
      await app.close();
      await logs?.close();
      await runtime.close();
      await events.close();
    },
  };
}

/** `up` when PostgreSQL answers `SELECT 1` within 2 s, else `down` (never hangs a probe). */
async function probe(pool: pg.Pool): Promise<'up' | 'down'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'down'>((resolve) => {
    timer = setTimeout(() => resolve('down'), 2000);
  });
  try {
    return await Promise.race([pool.query('SELECT 1').then(() => 'up' as const), timeout]);
  } catch {
    return 'down';
  } finally {
    clearTimeout(timer);
  }
}

/**
 * S3 options of the online service's own store: few attempts (0.3–0.6 s of backoff), so a request
 * that needs S3 while it is down gets a 503 at once; pipelines' stores ride out outages instead.
 */
export const SERVICE_S3_OPTIONS = { maxAttempts: 3 } as const;
