import type { FtiConfig } from '../core/config';
import type { Logger } from '../core/log';
import { createInferenceServer, type InferenceServer, type InferenceServerOptions } from '../core/serving';

/**
 * S3 options of the online service's own store: few attempts (0.3–0.6 s of backoff), so a request
 * that needs S3 while it is down gets a 503 at once; pipelines' stores ride out outages instead.
 */
export const SERVICE_S3_OPTIONS = { maxAttempts: 3 } as const;

/** Starts the online inference service on FTI_SERVICE_HOST:FTI_SERVICE_PORT and logs its URL. */
export async function startInferenceService(
  options: Omit<InferenceServerOptions, 'requireApiKey'>,
  config: FtiConfig,
  logger: Logger,
): Promise<InferenceServer> {
  const server = await createInferenceServer({ ...options, requireApiKey: config.requireApiKey });
  const address = await server.app.listen({ host: config.serviceHost, port: config.servicePort });
  logger.info({ url: address, requireApiKey: config.requireApiKey }, 'inference service listening');
  return server;
}
