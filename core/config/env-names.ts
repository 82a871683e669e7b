/**
 * Every environment variable the platform reads, in one place. Resolution order everywhere is:
 * explicit option > environment variable > documented default.
 */
export const ENV = {
  databaseUrl: 'DATABASE_URL',
  temporalAddress: 'TEMPORAL_ADDRESS',
  temporalNamespace: 'TEMPORAL_NAMESPACE',
  temporalUiUrl: 'TEMPORAL_UI_URL',
  s3Endpoint: 'S3_ENDPOINT',
  s3Region: 'S3_REGION',
  s3AccessKeyId: 'S3_ACCESS_KEY_ID',
  s3SecretAccessKey: 'S3_SECRET_ACCESS_KEY',
  s3Bucket: 'S3_BUCKET',
  s3ForcePathStyle: 'S3_FORCE_PATH_STYLE',
  s3Prefix: 'S3_PREFIX',
  /**
   * NATS server with JetStream that carries feature event streams (`nats://host:4222`, or `tls://`).
   * When set, `stack up` only checks that it answers with JetStream on; when unset, the stack uses a
   * server already on the default port or starts its own `nats-server -js`.
   */
  natsUrl: 'NATS_URL',
  /**
   * Temporal TLS: `true` or `false`. Unset: on when any TEMPORAL_TLS_* file, the server name or
   * TEMPORAL_API_KEY is set, off otherwise (plaintext gRPC, as the local dev server speaks). The
   * TEMPORAL_TLS_* and TEMPORAL_API_KEY names are the Temporal CLI's and SDKs' own, so one environment
   * configures the platform and the `temporal` CLI alike.
   */
  temporalTls: 'TEMPORAL_TLS',
  /** PEM file of the CA that signed the Temporal server's certificate (default: the system's CAs). */
  temporalTlsServerCaCertPath: 'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
  /** mTLS: PEM client certificate presented to Temporal; needs TEMPORAL_TLS_CLIENT_KEY_PATH too. */
  temporalTlsClientCertPath: 'TEMPORAL_TLS_CLIENT_CERT_PATH',
  /** mTLS: PEM private key of the client certificate; needs TEMPORAL_TLS_CLIENT_CERT_PATH too. */
  temporalTlsClientKeyPath: 'TEMPORAL_TLS_CLIENT_KEY_PATH',
  /** Name the Temporal server's certificate must carry (SNI), when it differs from the address's host. */
  temporalTlsServerName: 'TEMPORAL_TLS_SERVER_NAME',
  /** Temporal Cloud API key (sent as `Authorization: Bearer …`); turns TLS on. Secret. */
  temporalApiKey: 'TEMPORAL_API_KEY',
  /** Connections in each worker or service process's PostgreSQL pool (default 10). */
  dbPoolMax: 'FTI_DB_POOL_MAX',
  /**
   * Activities one worker process runs at once, replacing its queue's default (8; CPU training 2;
   * GPU training one per device).
   */
  workerMaxConcurrentActivities: 'FTI_WORKER_MAX_CONCURRENT_ACTIVITIES',
  /** Activities per second one worker process starts (Temporal `maxActivitiesPerSecond`; default no limit). */
  workerMaxActivitiesPerSecond: 'FTI_WORKER_MAX_ACTIVITIES_PER_SECOND',
  /**
   * Activities per second the Temporal server dispatches from the worker's whole task queue, over all
   * its workers (Temporal `maxTaskQueueActivitiesPerSecond`; default no limit). Give every worker of a
   * queue the same value: the last poller's value wins.
   */
  taskQueueMaxActivitiesPerSecond: 'FTI_TASK_QUEUE_MAX_ACTIVITIES_PER_SECOND',
  /** DuckDB memory limit of each offline query session, e.g. `4GB` (default DuckDB's, 80 % of RAM). */
  duckdbMemoryLimit: 'FTI_DUCKDB_MEMORY_LIMIT',
  /** DuckDB threads of each offline query session (default all cores). */
  duckdbThreads: 'FTI_DUCKDB_THREADS',
  cacheDir: 'FTI_CACHE_DIR',
  stateDir: 'FTI_STATE_DIR',
  logLevel: 'LOG_LEVEL',
  serviceHost: 'FTI_SERVICE_HOST',
  servicePort: 'FTI_SERVICE_PORT',
  requireApiKey: 'FTI_REQUIRE_API_KEY',
  /**
   * Default connection URL of `postgres` feature sources, read on the features worker. Separate
   * from DATABASE_URL on purpose: user SQL never runs with the platform's own credentials.
   */
  sourceDatabaseUrl: 'FTI_SOURCE_DATABASE_URL',
  /**
   * Renames the task queue a worker process polls (default: its role's queue, e.g. `fti-features`);
   * its activities stay those of the role. For a team's own queue, side-by-side deployments and tests.
   */
  workerTaskQueue: 'FTI_WORKER_TASK_QUEUE',
  /**
   * JSON file of the external trainers a training worker may run (`{ "<name>": { "command": [...],
   * "timeoutSeconds", "env", "passEnv" } }`); pipelines name them. Commands never come from input.
   */
  externalTrainers: 'FTI_EXTERNAL_TRAINERS',
  /**
   * GPU training workers: the devices to use, comma-separated (`0,1` or GPU UUIDs); default: every
   * GPU nvidia-smi lists. One job per device, pinned with CUDA_VISIBLE_DEVICES.
   */
  gpuDevices: 'FTI_GPU_DEVICES',
  /** Online service: days prediction log rows are kept (default 30; 0 keeps them forever). */
  predictionLogRetentionDays: 'FTI_PREDICTION_LOG_RETENTION_DAYS',
  /** Online service: `false` logs predictions without feature values (default true). */
  predictionLogFeatures: 'FTI_PREDICTION_LOG_FEATURES',
} as const;

/** Name of one of the platform's environment variables. */
export type EnvName = (typeof ENV)[keyof typeof ENV];
