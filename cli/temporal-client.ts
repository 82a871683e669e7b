import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import {
  describeTemporalTarget,
  temporalConnectionOptions,
  temporalTlsHint,
  type FtiConfig,
} from '../core/config';
import { describeError, ServiceUnavailableError } from '../core/errors';

/** A Temporal client on the configured namespace; the error names the address and the fix. */
export async function connectTemporal(config: FtiConfig): Promise<Client> {
  // A certificate file that went missing is a configuration error, not an outage: outside the try.
  const options = temporalConnectionOptions(config);
  try {
    const connection = await Connection.connect({ ...options, connectTimeout: 5000 });
    return new Client({ connection, namespace: config.temporalNamespace });
  } catch (error) {
    throw new ServiceUnavailableError(
      'temporal',
      `cannot connect to Temporal at ${describeTemporalTarget(config)}: ${describeError(error)}. Start the stack with \`infra/stack.sh up\` or set TEMPORAL_ADDRESS; ${temporalTlsHint(config)}.`,
      { cause: error },
    );
  }
}

/** Link to a run in the Temporal Web UI. */
export function runUrl(config: FtiConfig, workflowId: string, runId?: string): string {
  const base = `${config.temporalUiUrl}/namespaces/${encodeURIComponent(config.temporalNamespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return runId ? `${base}/${encodeURIComponent(runId)}` : base;
}

/**
 * Prints a running workflow's progress to stderr once a second while `done` is pending: the
 * workflow's `step` query when it has one, and the latest heartbeat of its pending activity.
 */
export async function showProgress<T>(handle: WorkflowHandle, done: Promise<T>, quiet = false): Promise<T> {
  if (quiet) return done;
  let last = '';
  const timer = setInterval(() => {
    void (async () => {
      try {
        const step = await handle.query<string>('step').catch(() => '');
        const described = await handle.describe();
        const pending = (described.raw.pendingActivities ?? [])[0];
        const payload = pending?.heartbeatDetails?.payloads?.[0]?.data;
        const detail = payload ? Buffer.from(payload).toString('utf8').replace(/^"|"$/g, '') : '';
        const activity = pending?.activityType?.name ?? '';
        const line = [step, activity && `${activity}${detail ? `: ${detail}` : ''}`]
          .filter(Boolean)
          .join(' — ');
        if (line && line !== last) process.stderr.write(`  ${line}\n`);
        last = line;
      } catch {
        // between tasks or already closed: try again next tick
      }
    })();
  }, 1000);
  try {
    return await done;
  } finally {
    clearInterval(timer);
  }
}
