import fs from 'node:fs';
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
  /** '' = automatic: TLS when a TEMPORAL_TLS_* file, the server name or an API key is set. */
  temporalTls: '',
  temporalTlsServerCaCertPath: '',
  temporalTlsClientCertPath: '',
  temporalTlsClientKeyPath: '',
  temporalTlsServerName: '',
  temporalApiKey: '',
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
  dbPoolMax: '10',
  /** '' = the queue's own default (see {@link FtiConfig.workerMaxConcurrentActivities}). */
  workerMaxConcurrentActivities: '',
  workerMaxActivitiesPerSecond: '',
  taskQueueMaxActivitiesPerSecond: '',
  duckdbMemoryLimit: '',
  duckdbThreads: '',
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

/**
 * Temporal namespace names: letters, digits, '-', '_' and '.', so Temporal Cloud's
 * `<namespace>.<account>` form passes too.
 */
const namespaceName = z.string().regex(/^[A-Za-z0-9]([A-Za-z0-9._-]{0,253}[A-Za-z0-9])?$/, {
  message:
    "must be letters, digits, '-', '_' and '.', starting and ending with a letter or digit (e.g. fti-prod, or fti-prod.a2b3c on Temporal Cloud)",
});

const booleanString = z
  .enum(['true', 'false', '1', '0'], { message: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1');

/** A variable that may be left unset: '' (and an absent override) become `undefined`. */
const unsetIsUndefined = <T extends z.ZodType>(schema: T) =>
  z
    .preprocess((v) => (v === '' || v === undefined ? undefined : v), schema.optional())
    // A required key whose value may be undefined (the pipe keeps the key out of `Partial`).
    .transform((v): z.output<T> | undefined => v);

const toText = (v: unknown) => (typeof v === 'number' || typeof v === 'boolean' ? String(v) : v);

const wholeNumber = (min: number, max: number, what: string) => {
  const message = `must be a whole number from ${min} to ${max} (${what})`;
  return z.preprocess(
    toText,
    z
      .string()
      .regex(/^\d+$/, { message })
      .transform(Number)
      .refine((n) => n >= min && n <= max, { message }),
  );
};

const perSecond = (what: string) => {
  const message = `must be a number of activities per second above 0, at most 100000 (${what})`;
  return z.preprocess(
    toText,
    z
      .string()
      .regex(/^\d+(\.\d+)?$/, { message })
      .transform(Number)
      .refine((n) => n > 0 && n <= 100_000, { message }),
  );
};

/** An optional setting held as text, '' when unset. */
const optionalText = (pattern: RegExp, message: string) =>
  z.string().refine((v) => v === '' || pattern.test(v), { message });

const configSchema = z.object({
  databaseUrl: url('PostgreSQL', ['postgres:', 'postgresql:']),
  temporalAddress: hostPort,
  temporalNamespace: namespaceName,
  temporalUiUrl: url('HTTP', ['http:', 'https:']),
  temporalTls: unsetIsUndefined(z.preprocess(toText, booleanString)),
  temporalTlsServerCaCertPath: z.string(),
  temporalTlsClientCertPath: z.string(),
  temporalTlsClientKeyPath: z.string(),
  temporalTlsServerName: optionalText(
    /^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/,
    'must be a host name, e.g. temporal.example.internal',
  ),
  // Never echo the value: only its shape is described.
  temporalApiKey: optionalText(
    /^\S+$/,
    'must be the key alone, without spaces or line breaks (a trailing newline copied from a file?)',
  ),
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
  dbPoolMax: wholeNumber(1, 1000, 'PostgreSQL connections per process'),
  workerMaxConcurrentActivities: unsetIsUndefined(
    wholeNumber(1, 10_000, 'activities one worker process runs at once'),
  ),
  workerMaxActivitiesPerSecond: unsetIsUndefined(perSecond('one worker process')),
  taskQueueMaxActivitiesPerSecond: unsetIsUndefined(perSecond('the whole task queue')),
  duckdbMemoryLimit: unsetIsUndefined(
    z.string().regex(/^\d+(\.\d+)?\s?(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i, {
      message: 'must be a size like 512MB or 4GB (KB, MB, GB, TB or KiB, MiB, GiB, TiB)',
    }),
  ),
  duckdbThreads: unsetIsUndefined(wholeNumber(1, 1024, 'DuckDB threads per query session')),
});

/** Settings read where they are used (pool, worker, DuckDB session) rather than passed down. */
const TUNABLE_KEYS = [
  'dbPoolMax',
  'workerMaxConcurrentActivities',
  'workerMaxActivitiesPerSecond',
  'taskQueueMaxActivitiesPerSecond',
  'duckdbMemoryLimit',
  'duckdbThreads',
] as const;

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
  /**
   * Whether Temporal connections use TLS: TEMPORAL_TLS when set, otherwise true exactly when a
   * certificate file, the server name or an API key is configured.
   */
  readonly temporalTls: boolean;
  /** Absolute path of the PEM CA certificate the Temporal server's certificate is checked against; '' = system CAs. */
  readonly temporalTlsServerCaCertPath: string;
  /** Absolute path of the PEM client certificate (mTLS); '' = none. Set together with the key. */
  readonly temporalTlsClientCertPath: string;
  /** Absolute path of the client certificate's PEM private key (mTLS); '' = none. */
  readonly temporalTlsClientKeyPath: string;
  /** Server name checked against the Temporal server's certificate (SNI); '' = the address's host. */
  readonly temporalTlsServerName: string;
  /** Temporal Cloud API key; '' = none. Secret; never logged (see {@link redactConfig}). */
  readonly temporalApiKey: string;
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
  /**
   * Connections in the PostgreSQL pool of each worker and service process (`openDatabase`'s default;
   * CLI commands open their own small pools).
   */
  readonly dbPoolMax: number;
  /**
   * Activities one worker process runs at once, replacing its queue's default (8; CPU training 2;
   * GPU training one per device); `undefined` = that default.
   */
  readonly workerMaxConcurrentActivities: number | undefined;
  /** Activities per second one worker process starts; `undefined` = no limit. */
  readonly workerMaxActivitiesPerSecond: number | undefined;
  /** Activities per second the server hands out from a worker's whole task queue; `undefined` = no limit. */
  readonly taskQueueMaxActivitiesPerSecond: number | undefined;
  /** DuckDB `memory_limit` of each query session (e.g. '4GB'); `undefined` = DuckDB's default, 80 % of RAM. */
  readonly duckdbMemoryLimit: string | undefined;
  /** DuckDB threads of each query session; `undefined` = all cores. */
  readonly duckdbThreads: number | undefined;
}

/**
 * The settings that the PostgreSQL pool, the worker factory and DuckDB sessions read from the
 * environment at their point of use (an explicit option there still wins).
 */
export type ProcessTunables = Pick<FtiConfig, (typeof TUNABLE_KEYS)[number]>;

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
  if (!parsed.success) throw invalid(zodProblems(parsed.error));
  const value = parsed.data;
  const resolveSet = (p: string) => (p === '' ? '' : path.resolve(cwd, p));
  const tlsFiles = {
    temporalTlsServerCaCertPath: resolveSet(value.temporalTlsServerCaCertPath),
    temporalTlsClientCertPath: resolveSet(value.temporalTlsClientCertPath),
    temporalTlsClientKeyPath: resolveSet(value.temporalTlsClientKeyPath),
  };
  const { temporalTls, problems } = checkTemporalTls({ ...value, ...tlsFiles });
  if (problems.length > 0) throw invalid(problems);
  return {
    ...value,
    ...tlsFiles,
    temporalTls,
    cacheDir: path.resolve(cwd, value.cacheDir),
    stateDir: path.resolve(cwd, value.stateDir),
  };
}

/**
 * Reads the {@link ProcessTunables} from the environment alone (no other variable is looked at), with
 * the same checks and messages as {@link loadConfig}; throws {@link ConfigError} for a bad value.
 */
export function processTunables(env: NodeJS.ProcessEnv = process.env): ProcessTunables {
  const raw: Record<string, unknown> = {};
  for (const key of TUNABLE_KEYS) {
    const fromEnv = env[ENV[key]];
    raw[key] = fromEnv !== undefined && fromEnv !== '' ? fromEnv : CONFIG_DEFAULTS[key];
  }
  const picked = Object.fromEntries(TUNABLE_KEYS.map((key) => [key, true as const])) as {
    [K in (typeof TUNABLE_KEYS)[number]]: true;
  };
  const parsed = configSchema.pick(picked).safeParse(raw);
  if (!parsed.success) throw invalid(zodProblems(parsed.error));
  return parsed.data;
}

function zodProblems(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const key = String(issue.path[0]) as keyof typeof ENV;
    return `${ENV[key]} ${issue.message}`;
  });
}

function invalid(problems: readonly string[]): ConfigError {
  return new ConfigError(
    `Invalid configuration: ${problems.join('; ')}. Fix the environment variable(s) or .env (see .env.example).`,
  );
}

type TemporalTlsInput = Pick<
  FtiConfig,
  | 'temporalTlsServerCaCertPath'
  | 'temporalTlsClientCertPath'
  | 'temporalTlsClientKeyPath'
  | 'temporalTlsServerName'
  | 'temporalApiKey'
> & { readonly temporalTls: boolean | undefined };

/**
 * Decides whether Temporal connections use TLS and checks the TLS settings together: the client
 * certificate and key come as a pair, TEMPORAL_TLS=false contradicts every TLS setting (and would
 * send an API key in clear text), and each named file is a readable PEM file of the right kind.
 * Messages name the variable and the file, never a file's contents or the API key.
 */
function checkTemporalTls(input: TemporalTlsInput): { temporalTls: boolean; problems: string[] } {
  const problems: string[] = [];
  const tlsSettings = [
    ['temporalTlsServerCaCertPath', input.temporalTlsServerCaCertPath],
    ['temporalTlsClientCertPath', input.temporalTlsClientCertPath],
    ['temporalTlsClientKeyPath', input.temporalTlsClientKeyPath],
    ['temporalTlsServerName', input.temporalTlsServerName],
  ] as const;
  const setTls = tlsSettings.filter(([, v]) => v !== '').map(([key]) => ENV[key]);
  if (input.temporalTls === false) {
    for (const name of setTls)
      problems.push(
        `${ENV.temporalTls}=false contradicts ${name}: unset ${name}, or set ${ENV.temporalTls}=true`,
      );
    if (input.temporalApiKey !== '')
      problems.push(
        `${ENV.temporalApiKey} would be sent unencrypted with ${ENV.temporalTls}=false: unset ${ENV.temporalTls} (an API key turns TLS on) or set it to true`,
      );
  }
  const cert = input.temporalTlsClientCertPath;
  const key = input.temporalTlsClientKeyPath;
  if (cert !== '' && key === '')
    problems.push(
      `${ENV.temporalTlsClientCertPath} is set without ${ENV.temporalTlsClientKeyPath}: mTLS needs the client certificate and its private key (set both, or neither)`,
    );
  if (key !== '' && cert === '')
    problems.push(
      `${ENV.temporalTlsClientKeyPath} is set without ${ENV.temporalTlsClientCertPath}: mTLS needs the client certificate and its private key (set both, or neither)`,
    );
  const files = [
    ['temporalTlsServerCaCertPath', input.temporalTlsServerCaCertPath, 'certificate'],
    ['temporalTlsClientCertPath', cert, 'certificate'],
    ['temporalTlsClientKeyPath', key, 'private key'],
  ] as const;
  for (const [name, file, kind] of files) {
    if (file === '') continue;
    const problem = pemFileProblem(file, kind);
    if (problem) problems.push(`${ENV[name]}=${file} ${problem}`);
  }
  const temporalTls = input.temporalTls ?? (setTls.length > 0 || input.temporalApiKey !== '');
  return { temporalTls, problems };
}

const PEM_BEGIN = {
  certificate: /-----BEGIN CERTIFICATE-----/,
  'private key': /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/,
} as const;

/** Why `file` is not a usable PEM file of `kind`, or undefined; never quotes the file's contents. */
function pemFileProblem(file: string, kind: keyof typeof PEM_BEGIN): string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'does not exist: mount the file there, or fix the path';
    if (code === 'EACCES')
      return "is not readable by this process: fix the file's permissions (on Kubernetes, the Secret volume's defaultMode)";
    if (code === 'EISDIR') return `is a directory: name the PEM ${kind} file in it`;
    return `cannot be read (${code ?? 'unknown error'})`;
  }
  if (!PEM_BEGIN[kind].test(text))
    return kind === 'certificate'
      ? 'holds no PEM certificate (a -----BEGIN CERTIFICATE----- block); DER files must be converted to PEM'
      : 'holds no PEM private key (a -----BEGIN PRIVATE KEY----- block); is it the certificate instead of its key?';
  return undefined;
}

/** A copy safe to print: secrets and URL passwords replaced by `***`. */
export function redactConfig(config: FtiConfig): Record<string, string | number | boolean> {
  const shown: Record<string, string | number | boolean> = {};
  // Unset optional settings show as '' (as an unset S3_PREFIX does).
  for (const [key, value] of Object.entries(config))
    shown[key] = (value as string | number | boolean | undefined) ?? '';
  return {
    ...shown,
    databaseUrl: redactUrl(config.databaseUrl),
    natsUrl: redactUrl(config.natsUrl, { hideUser: true }),
    s3SecretAccessKey: '***',
    temporalApiKey: config.temporalApiKey === '' ? '' : '***',
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
