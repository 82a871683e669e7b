import path from 'node:path';
import { ENV, loadConfig, type FtiConfig } from '../../core/config';
import { projectRoot } from '../../core/project-root';
import { natsService } from './nats';
import { postgresService } from './postgres';
import { provision, type ProvisionReport } from './provision';
import { seaweedfsService } from './seaweedfs';
import type { ServiceStatus, StackContext, StackService } from './service';
import { temporalService } from './temporal';

/** Services in start order; stopped in reverse. */
const SERVICES: readonly StackService[] = [postgresService, seaweedfsService, temporalService, natsService];

/** Options for the stack commands. */
export interface StackOptions {
  /** @default loadConfig() */
  config?: FtiConfig;
  /** @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Per-service health-check timeout. @default 90000 */
  timeoutMs?: number;
}

function context(options: StackOptions): StackContext {
  const env = options.env ?? process.env;
  const config = options.config ?? loadConfig({}, env);
  const isSet = (name: string) => (env[name] ?? '') !== '';
  return {
    root: projectRoot(),
    stateDir: config.stateDir,
    config,
    explicit: {
      database: isSet(ENV.databaseUrl),
      s3: isSet(ENV.s3Endpoint),
      temporal: isSet(ENV.temporalAddress),
      nats: isSet(ENV.natsUrl),
    },
    timeoutMs: options.timeoutMs ?? 90_000,
  };
}

/**
 * Brings every service up (starting only what is missing), then provisions databases, migrations,
 * buckets, namespaces and search attributes. Idempotent: a second call changes nothing.
 */
export async function stackUp(
  options: StackOptions = {},
): Promise<{ services: ServiceStatus[]; provisioned: ProvisionReport }> {
  const ctx = context(options);
  const results = await Promise.allSettled(SERVICES.map((service) => service.up(ctx)));
  const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
  if (failures.length > 0) {
    const error = failures[0]!;
    if (failures.length > 1)
      error.message += `\n(also: ${failures
        .slice(1)
        .map((e) => e.message.split('\n')[0])
        .join('; ')})`;
    throw error;
  }
  const provisioned = await provision(ctx.config);
  return { services: results.map((r) => (r as PromiseFulfilledResult<ServiceStatus>).value), provisioned };
}

/** Stops what `up` started (by pid/state files) and nothing else. Returns the services stopped. */
export async function stackDown(options: StackOptions = {}): Promise<string[]> {
  const ctx = context(options);
  const stopped: string[] = [];
  for (const service of [...SERVICES].reverse()) {
    if (await service.down(ctx)) stopped.push(service.name);
  }
  return stopped;
}

/** Each service's state and URLs. */
export async function stackStatus(options: StackOptions = {}): Promise<ServiceStatus[]> {
  const ctx = context(options);
  return Promise.all(SERVICES.map((service) => service.status(ctx)));
}

/** Where the stack writes logs, for messages. */
export function stackLogDir(options: StackOptions = {}): string {
  return path.join(context(options).stateDir, 'logs');
}
