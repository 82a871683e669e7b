import { NativeConnection } from '@temporalio/worker';
import {
  describeTemporalTarget,
  ENV,
  loadConfig,
  redactConfig,
  temporalConnectionOptions,
  temporalTlsHint,
} from '../core/config';
import { openDatabase } from '../core/db';
import { describeError } from '../core/errors';
import { createLogger } from '../core/log';
import os from 'node:os';
import path from 'node:path';
import { PostgresOnlineStore } from '../core/featurestore';
import { TASK_QUEUES } from '../core/pipelines';
import { ObjectCache, objectStoreFromConfig } from '../core/storage';
import { loadFeatureModules } from '../core/featurestore';
import { describeDevices } from '../activities/devices';
import { DevicePool, gpuDeviceIds, TrainerRegistry, TrainerThreads } from '../core/ml';
import { installTemporalLogging } from './logging';
import { SERVICE_S3_OPTIONS, startInferenceService } from './inference-service';
import { execFileSync } from 'node:child_process';
import { createPlatformWorker, createStreamWorker, streamSlots } from './worker-factory';
import { metricsPort, startMetricsServer } from './metrics-server';
import { streamMetrics } from '../core/streaming';

/** Overrides the task queue a worker process polls (see `ENV.workerTaskQueue`). */
export const WORKER_TASK_QUEUE_ENV = ENV.workerTaskQueue;

/**
 * Main of a worker process for one task queue: wires the concrete adapters (PostgreSQL, S3),
 * connects to Temporal and polls until SIGTERM/SIGINT, then drains in-flight tasks and closes every
 * connection. Exits non-zero with a one-line cause when a dependency is unreachable.
 */
export async function runWorker(taskQueue: string): Promise<void> {
  // The role (which activities) stays the entry's; only the queue polled may be renamed, so a test
  // can run a real worker process on a queue nobody else polls.
  const pollQueue = process.env[WORKER_TASK_QUEUE_ENV] || taskQueue;
  const logger = createLogger(`worker:${pollQueue}`);
  installTemporalLogging(logger);
  // Once polling, the SDK handles the first SIGTERM (drain, then exit) and then stops listening, so a
  // second one — a group signal plus the supervisor's forwarded copy — would kill the worker
  // mid-drain; it is ignored. Before polling starts there is nothing to drain: exit at once.
  let polling = false;
  process.on('SIGTERM', () => {
    if (!polling) process.exit(143);
  });
  try {
    const config = loadConfig();
    logger.info({ config: redactConfig(config), taskQueue: pollQueue, role: taskQueue }, 'starting worker');
    const database = await openDatabase({ url: config.databaseUrl });
    const store = objectStoreFromConfig(config);
    const connection = await NativeConnection.connect(temporalConnectionOptions(config)).catch(
      (error: unknown) => {
        throw new Error(
          `cannot connect to Temporal at ${describeTemporalTarget(config)}: ${describeError(error)}. Start the stack (infra/stack.sh up) or set TEMPORAL_ADDRESS; ${temporalTlsHint(config)}.`,
        );
      },
    );
    const scratchDir = path.join(os.tmpdir(), `fti-scratch-${process.pid}`);
    const modules = await loadFeatureModules(database.db);
    const ingestion =
      taskQueue === TASK_QUEUES.features
        ? {
            db: database.db,
            store,
            cache: new ObjectCache(store, { dir: config.cacheDir }),
            online: new PostgresOnlineStore({ pool: database.pool, scratchDir }),
            transformations: modules.transformations,
            storeFor: (bucket: string) => objectStoreFromConfig({ ...config, s3Bucket: bucket }),
            env: process.env,
            scratchDir,
          }
        : undefined;
    const isTraining = taskQueue === TASK_QUEUES.training || taskQueue === TASK_QUEUES.trainingGpu;
    const devices = describeDevices();
    if (isTraining) logger.info({ taskQueue, devices }, 'training devices');
    // GPU queues: one training slot per device, each job pinned to the device it holds.
    const pool =
      taskQueue === TASK_QUEUES.trainingGpu
        ? new DevicePool(gpuDeviceIds(process.env[ENV.gpuDevices], devices.gpus))
        : undefined;
    if (pool && pool.size === 0)
      logger.warn({ taskQueue }, 'GPU training worker found no GPU: one job at a time, on the CPU');
    const training = isTraining
      ? {
          db: database.db,
          store,
          cache: new ObjectCache(store, { dir: config.cacheDir }),
          onDemand: modules.onDemand,
          scratchDir,
          trainers: externalTrainers(new TrainerRegistry()),
          codeVersion: codeVersion(),
          ...(pool && pool.size > 0 ? { devices: pool } : {}),
          // Built-in trainers run on threads: training never blocks heartbeats or cancellation.
          trainerThreads: new TrainerThreads(),
        }
      : undefined;
    const inference =
      taskQueue === TASK_QUEUES.inference
        ? {
            db: database.db,
            store,
            cache: new ObjectCache(store, { dir: config.cacheDir }),
            online: new PostgresOnlineStore({ pool: database.pool, scratchDir }),
            onDemand: modules.onDemand,
            scratchDir,
            scoringThreads: 2,
          }
        : undefined;
    const streaming = ingestion ? { ...ingestion, natsUrl: config.natsUrl } : undefined;
    const maxConcurrentActivities = pool ? Math.max(1, pool.size) : isTraining ? 2 : undefined;
    const worker = await createPlatformWorker({
      connection,
      namespace: config.temporalNamespace,
      taskQueue: pollQueue,
      deps: {
        db: database.db,
        store,
        ...(ingestion ? { ingestion } : {}),
        ...(training ? { training } : {}),
        ...(inference ? { inference } : {}),
        ...(streaming ? { streaming } : {}),
      },
      ...(maxConcurrentActivities ? { maxConcurrentActivities } : {}),
    });
    // Streaming consumers run for hours: they get a queue and a slot limit of their own, so they
    // never take the slots batch steps need, and partitions spread over the workers.
    const streamWorker = streaming
      ? await createStreamWorker({
          connection,
          namespace: config.temporalNamespace,
          taskQueue: pollQueue,
          deps: streaming,
          slots: streamSlots(),
        })
      : undefined;
    // The online service runs with the inference worker unless FTI_SERVICE=0 (or on its own: npm run serve).
    const serviceStore =
      inference && process.env.FTI_SERVICE !== '0'
        ? objectStoreFromConfig(config, '', SERVICE_S3_OPTIONS)
        : undefined;
    const service =
      inference && serviceStore
        ? await startInferenceService(
            { ...inference, store: serviceStore, pool: database.pool },
            config,
            logger,
          )
        : undefined;
    logger.info(
      { taskQueue: pollQueue, role: taskQueue, namespace: config.temporalNamespace },
      'worker polling',
    );
    // worker.run() resolves after SIGTERM/SIGINT once in-flight tasks are done (SDK shutdown signals).
    const port = streaming ? metricsPort() : undefined;
    const metrics = port === undefined ? undefined : await startMetricsServer(streamMetrics.registry, port);
    if (metrics) logger.info({ port: metrics.port }, 'streaming metrics at /metrics');
    polling = true;
    await Promise.all([worker.run(), streamWorker?.run()]);
    await metrics?.close();
    await service?.close();
    serviceStore?.close();
    await connection.close();
    await database.close();
    store.close();
    logger.info({ taskQueue: pollQueue, role: taskQueue }, 'worker stopped');
  } catch (error) {
    logger.error({ taskQueue }, describeError(error));
    process.exitCode = 1;
  }
}

/** The code version recorded as model lineage: FTI_CODE_VERSION, else the git commit, else unknown. */
function codeVersion(): string {
  if (process.env.FTI_CODE_VERSION) return process.env.FTI_CODE_VERSION;
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return 'unknown';
  }
}

/** The built-in trainers plus the external ones registered in the file FTI_EXTERNAL_TRAINERS names. */
function externalTrainers(registry: TrainerRegistry): TrainerRegistry {
  const file = process.env[ENV.externalTrainers];
  return file ? registry.loadExternalTrainers(file) : registry;
}
