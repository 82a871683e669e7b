import { Client, Connection } from '@temporalio/client';
import type { FtiConfig } from '../core/config';
import { describeError, ServiceUnavailableError } from '../core/errors';

/** A Temporal client on the configured namespace; the error names the address and the fix. */
export async function connectTemporal(config: FtiConfig): Promise<Client> {
  try {
    const connection = await Connection.connect({ address: config.temporalAddress, connectTimeout: 5000 });
    return new Client({ connection, namespace: config.temporalNamespace });
  } catch (error) {
    throw new ServiceUnavailableError(
      'temporal',
      `cannot connect to Temporal at ${config.temporalAddress}: ${describeError(error)}. Start the stack with \`infra/stack.sh up\` or set TEMPORAL_ADDRESS.`,
      { cause: error },
    );
  }
}

/** Link to a run in the Temporal Web UI. */
export function runUrl(config: FtiConfig, workflowId: string, runId?: string): string {
  const base = `${config.temporalUiUrl}/namespaces/${encodeURIComponent(config.temporalNamespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return runId ? `${base}/${encodeURIComponent(runId)}` : base;
}
