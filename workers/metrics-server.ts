import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** Environment variable: port of a worker's Prometheus endpoint (unset: none). */
export const METRICS_PORT_ENV = 'FTI_METRICS_PORT';

/**
 * Serves `registry` at `GET /metrics` (Prometheus text format) on `port` (0: any free port) and
 * nothing else. Resolves once listening, with the port and a close function.
 */
export async function startMetricsServer(
  registry: Registry,
  port: number,
  host = '0.0.0.0',
): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((request, response) => {
    if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics here\n');
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (error: unknown) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`${String(error)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The port in `FTI_METRICS_PORT`, or undefined; a bad value is an error naming the variable. */
export function metricsPort(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const raw = env[METRICS_PORT_ENV];
  if (raw === undefined || raw === '') return undefined;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new Error(`${METRICS_PORT_ENV}=${raw} must be a port number (0–65535).`);
  return port;
}
