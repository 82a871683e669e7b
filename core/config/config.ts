import path from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../errors';
import { ENV } from './env-names';

/** Defaults point at the local stack that `infra/stack.sh up` brings up. */
export const CONFIG_DEFAULTS = {
  databaseUrl: 'postgres://postgres:postgres@127.0.0.1:5432/fti',
  temporalAddress: '127.0.0.1:7233',
  temporalNamespace: 'fti',
  temporalUiUrl: 'http://127.0.0.1:8233',
  s3Endpoint: 'http://127.0.0.1:8333',
  s3Region: 'us-east-1',
  s3AccessKeyId: 'fti-local-access-key',
  s3SecretAccessKey: 'fti-local-secret-key',
  s3Bucket: 'fti',
  s3ForcePathStyle: true,
  s3Prefix: '',
  natsUrl: 'nats://127.0.0.1:4222',
  cacheDir: '.fti/cache',
  stateDir: '.fti/stack',
  logLevel: 'info',
  serviceHost: '127.0.0.1',
  servicePort: '8080',
  requireApiKey: true,
} as const;

const url = (what: string, protocols: readonly string[]) =>
  z.string().refine(
    (value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    { message: `must be a ${what} URL (${protocols.join(' or ')}//host:port/...)` },
  );

const hostPort = z
  .string()
  .regex(/^[A-Za-z0-9.\-[\]:]+:\d{1,5}$/, { message: 'must be host:port, e.g. 127.0.0.1:7233' });

const identifier = z
  .string()
  .regex(/^[a-z][a-z0-9-]{1,62}$/, { message: 'must be lowercase letters, digits and dashes' });

const booleanString = z
  .enum(['true', 'false', '1', '0'], { message: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1');

const configSchema = z.object({
  databaseUrl: url('PostgreSQL', ['postgres:', 'postgresql:']),
  temporalAddress: hostPort,
  temporalNamespace: identifier,
  temporalUiUrl: url('HTTP', ['http:', 'https:']),
  s3Endpoint: url('HTTP', ['http:', 'https:']),
  s3Region: z.string().min(1),
  s3AccessKeyId: z.string().min(1),
  s3SecretAccessKey: z.string().min(1),
  s3Bucket: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, { message: 'must be a valid S3 bucket name' }),
  s3ForcePathStyle: z.preprocess((v) => (typeof v === 'boolean' ? String(v) : v), booleanString),
  s3Prefix: z.string().regex(/^([a-z0-9][a-z0-9._-]*(\/[a-z0-9][a-z0-9._-]*)*)?$/, {
    message: 'must be a key prefix like "team-a/fti" (lowercase segments, no leading or trailing /)',
  }),
  natsUrl: url('NATS', ['nats:', 'tls:']),
  cacheDir: z.string().min(1),
  stateDir: z.string().min(1),
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']),
  serviceHost: z.string().min(1),
  servicePort: z.coerce.number().int().min(0).max(65535),
  requireApiKey: z.preprocess((v) => (typeof v === 'boolean' ? String(v) : v), booleanString),
});

/** The platform's resolved configuration. Paths are absolute. */
export interface FtiConfig {
  /** PostgreSQL URL of the metadata database (and online store). */
  readonly databaseUrl: string;
  /** Temporal frontend gRPC address, host:port. */
  readonly temporalAddress: string;
  /** Temporal namespace all platform workflows run in. */
  readonly temporalNamespace: string;
  /** Base URL of the Temporal Web UI, used to print links to runs. */
  readonly temporalUiUrl: string;
  /** S3-compatible endpoint URL. */
  readonly s3Endpoint: string;
  readonly s3Region: string;
  readonly s3AccessKeyId: string;
  /** Secret; never logged (see {@link redactConfig}). */
  readonly s3SecretAccessKey: string;
  /** Bucket holding offline feature data, datasets and model artifacts. */
  readonly s3Bucket: string;
  /** Path-style addressing (needed by SeaweedFS and MinIO). */
  readonly s3ForcePathStyle: boolean;
  /** Key prefix inside the bucket for everything the platform writes ('' = bucket root). */
  readonly s3Prefix: string;
  /** NATS server (JetStream enabled) carrying feature event streams; may hold credentials. */
  readonly natsUrl: string;
  /** Local read-through cache for immutable objects. */
  readonly cacheDir: string;
  /** Where the local stack keeps pid files, logs and data. */
  readonly stateDir: string;
  readonly logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
  /** Interface the online inference service listens on. */
  readonly serviceHost: string;
  /** Port of the online inference service (0 = any free port). */
  readonly servicePort: number;
  /** Whether the inference service demands an API key on predict/infer routes. */
  readonly requireApiKey: boolean;
}

/** Explicit values that take precedence over the environment. */
export type ConfigOverrides = Partial<FtiConfig>;

/**
 * Resolves configuration: explicit override > environment variable > default.
 * Throws {@link ConfigError} naming every bad variable and what it must look like; never a stack trace
 * worth of zod output.
 */
export function loadConfig(
  overrides: ConfigOverrides = {},
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = process.cwd(),
): FtiConfig {
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(CONFIG_DEFAULTS) as (keyof typeof CONFIG_DEFAULTS)[]) {
    const fromEnv = env[ENV[key]];
    raw[key] = overrides[key] ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : CONFIG_DEFAULTS[key]);
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const key = String(issue.path[0]) as keyof typeof ENV;
      return `${ENV[key]} ${issue.message}`;
    });
    throw new ConfigError(
      `Invalid configuration: ${problems.join('; ')}. Fix the environment variable(s) or .env (see .env.example).`,
    );
  }
  const value = parsed.data;
  return {
    ...value,
    cacheDir: path.resolve(cwd, value.cacheDir),
    stateDir: path.resolve(cwd, value.stateDir),
  };
}

/** A copy safe to print: secrets and URL passwords replaced by `***`. */
export function redactConfig(config: FtiConfig): Record<string, string | number | boolean> {
  return {
    ...config,
    databaseUrl: redactUrl(config.databaseUrl),
    natsUrl: redactUrl(config.natsUrl, { hideUser: true }),
    s3SecretAccessKey: '***',
  };
}

/**
 * Removes the password from a URL so it can appear in messages and logs. With `hideUser`, the user
 * part goes too: NATS puts a bare token there (`nats://TOKEN@host:4222`).
 */
export function redactUrl(value: string, options: { hideUser?: boolean } = {}): string {
  try {
    const parsed = new URL(value);
    if (parsed.password) parsed.password = '***';
    if (options.hideUser && parsed.username) parsed.username = '***';
    return parsed.toString();
  } catch {
    return '<unparsable url>';
  }
}
