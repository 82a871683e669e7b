import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, type Worker } from '@temporalio/worker';
import type { ActivityDeps } from '../../activities';
import { loadConfig, temporalConnectionOptions } from '../../core/config';
import { installTemporalLogging } from '../../workers/logging';
import { createPlatformWorker } from '../../workers/worker-factory';
import { createLogger } from '../../core/log';

/** Temporal client + native connection to the real server, on the test namespace. */
export interface TemporalTestContext {
  readonly client: Client;
  readonly nativeConnection: NativeConnection;
  readonly namespace: string;
  close(): Promise<void>;
}

/** Connects to the running Temporal server (the stack's dev server or TEMPORAL_ADDRESS). */
export async function connectTestTemporal(): Promise<TemporalTestContext> {
  const config = loadConfig();
  // Expected failures (bad-input tests) log at WARN; keep CI output to real errors.
  installTemporalLogging(createLogger('test-worker', 'error'));
  const connection = await Connection.connect(temporalConnectionOptions(config));
  const nativeConnection = await NativeConnection.connect(temporalConnectionOptions(config));
  return {
    client: new Client({ connection, namespace: config.temporalNamespace }),
    nativeConnection,
    namespace: config.temporalNamespace,
    async close() {
      await connection.close();
      await nativeConnection.close();
    },
  };
}

let bundle: Promise<{ code: string }> | undefined;

/** The current workflows/ bundled once per test process (never a stale dist/ bundle). */
function testBundle(): Promise<{ code: string }> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: require.resolve('../../workflows'),
    logger: new DefaultLogger('WARN'),
  });
  return bundle;
}

/** Platform workers on the given (test-unique) task queues, sharing one set of adapters. */
export async function createTestWorkers(
  ctx: TemporalTestContext,
  taskQueues: readonly string[],
  deps: ActivityDeps,
): Promise<Worker[]> {
  const workflowBundle = await testBundle();
  return Promise.all(
    taskQueues.map((taskQueue) =>
      createPlatformWorker({
        connection: ctx.nativeConnection,
        namespace: ctx.namespace,
        taskQueue,
        deps,
        workflowBundle,
      }),
    ),
  );
}

/** The innermost cause's message of a workflow failure (the activity's own error). */
export function rootMessage(error: unknown): string {
  let current: unknown = error;
  while (current instanceof Error && current.cause instanceof Error) current = current.cause;
  return current instanceof Error ? current.message : String(current);
}

/** Runs the workers while `fn` executes, then shuts them down and waits for them to stop. */
export async function withWorkers<T>(workers: readonly Worker[], fn: () => Promise<T>): Promise<T> {
  const running = workers.map((w) => w.run());
  try {
    return await fn();
  } finally {
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
    await Promise.allSettled(running);
  }
}
