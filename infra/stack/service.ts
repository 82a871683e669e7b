import type { FtiConfig } from '../../core/config';

/** How a stack service is provided. */
export type ServiceMode =
  /** Started by `up` and recorded in a pid/state file; `down` stops it. */
  | 'managed'
  /** Already running when `up` looked (e.g. the machine's PostgreSQL); `down` leaves it alone. */
  | 'existing'
  /** Configured by an environment variable to live elsewhere; never started or stopped here. */
  | 'external';

/** What `status` reports for one service. */
export interface ServiceStatus {
  readonly service: string;
  readonly running: boolean;
  readonly mode: ServiceMode | 'absent';
  readonly url: string;
  /** Extra URLs worth printing (e.g. the Temporal Web UI). */
  readonly links?: Readonly<Record<string, string>>;
  readonly detail?: string;
}

/** Everything a service needs to act: where state lives and which settings were explicit. */
export interface StackContext {
  readonly root: string;
  readonly stateDir: string;
  readonly config: FtiConfig;
  /** Settings given explicitly through the environment (so the service is external). */
  readonly explicit: {
    readonly database: boolean;
    readonly s3: boolean;
    readonly temporal: boolean;
    readonly nats: boolean;
  };
  /** Seconds each health check may take. */
  readonly timeoutMs: number;
}

/** One local-stack service: idempotent up, down that stops only what up started, and status. */
export interface StackService {
  readonly name: string;
  up(ctx: StackContext): Promise<ServiceStatus>;
  down(ctx: StackContext): Promise<boolean>;
  status(ctx: StackContext): Promise<ServiceStatus>;
}

/** host and port of a URL or host:port string. */
export function hostPortOf(value: string, defaultPort: number): { host: string; port: number } {
  const url = value.includes('://') ? new URL(value) : new URL(`tcp://${value}`);
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port: url.port ? Number(url.port) : defaultPort };
}
