import type { FtiConfig } from '../core/config';
import type { Logger } from '../core/log';
import { createInferenceServer, type InferenceServer, type InferenceServerOptions } from '../core/serving';

export { SERVICE_S3_OPTIONS } from '../core/serving';

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
