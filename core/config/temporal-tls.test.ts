import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../errors';
import { loadConfig, processTunables, redactConfig } from './config';
import { describeTemporalTarget, temporalConnectionOptions, temporalTlsHint } from './temporal-connection';

// Only the PEM block markers are checked by the config; the TLS stack checks the rest.
const CERT = '-----BEGIN CERTIFICATE-----\nMIIBfakecert\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nMIIBfakekeyS3CRETKEYBYTES\n-----END PRIVATE KEY-----\n';
const API_KEY = 'tcld-apikey-S3CRET0123456789';

let dir: string;
let files: { ca: string; cert: string; key: string };

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-tls-config-'));
  files = {
    ca: path.join(dir, 'ca.pem'),
    cert: path.join(dir, 'client.pem'),
    key: path.join(dir, 'client.key'),
  };
  fs.writeFileSync(files.ca, CERT);
  fs.writeFileSync(files.cert, CERT);
  fs.writeFileSync(files.key, KEY);
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The ConfigError message of `load`, or fails the test. */
function errorOf(load: () => unknown): string {
  try {
    load();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message.split('\n')).toHaveLength(1);
    return message;
  }
  throw new Error('expected a ConfigError');
}

describe('Temporal TLS settings', () => {
  it('default to plaintext gRPC with no credentials', () => {
    const config = loadConfig({}, {});
    expect(config.temporalTls).toBe(false);
    expect(temporalConnectionOptions(config)).toEqual({ address: '127.0.0.1:7233' });
    expect(describeTemporalTarget(config)).toBe('127.0.0.1:7233 (plaintext)');
    expect(temporalTlsHint(config)).toContain('TEMPORAL_TLS=true');
  });

  it('TEMPORAL_TLS=true turns TLS on with the system CAs and the address host', () => {
    const config = loadConfig(
      {},
      { TEMPORAL_TLS: 'true', TEMPORAL_ADDRESS: 'temporal.example.internal:7233' },
    );
    expect(config.temporalTls).toBe(true);
    expect(temporalConnectionOptions(config)).toEqual({ address: 'temporal.example.internal:7233', tls: {} });
    expect(describeTemporalTarget(config)).toBe('temporal.example.internal:7233 (TLS)');
  });

  it('a CA file, client pair and server name go into the connection options as file contents', () => {
    const config = loadConfig(
      {},
      {
        TEMPORAL_TLS_SERVER_CA_CERT_PATH: path.relative(dir, files.ca),
        TEMPORAL_TLS_CLIENT_CERT_PATH: 'client.pem',
        TEMPORAL_TLS_CLIENT_KEY_PATH: 'client.key',
        TEMPORAL_TLS_SERVER_NAME: 'temporal.internal',
      },
      dir,
    );
    // Any TLS setting implies TLS; paths resolve against the working directory.
    expect(config.temporalTls).toBe(true);
    expect(config.temporalTlsClientCertPath).toBe(files.cert);
    const options = temporalConnectionOptions(config);
    expect(options.apiKey).toBeUndefined();
    expect(options.tls?.serverNameOverride).toBe('temporal.internal');
    expect(options.tls?.serverRootCACertificate?.toString()).toBe(CERT);
    expect(options.tls?.clientCertPair?.crt.toString()).toBe(CERT);
    expect(options.tls?.clientCertPair?.key.toString()).toBe(KEY);
    expect(describeTemporalTarget(config)).toBe('127.0.0.1:7233 (TLS, mTLS client certificate)');
  });

  it('an API key implies TLS (Temporal Cloud) and is passed as apiKey', () => {
    const config = loadConfig(
      {},
      {
        TEMPORAL_API_KEY: API_KEY,
        TEMPORAL_ADDRESS: 'eu-west-1.aws.api.temporal.io:7233',
        TEMPORAL_NAMESPACE: 'fti-prod.a2b3c',
      },
    );
    expect(config.temporalTls).toBe(true);
    expect(config.temporalNamespace).toBe('fti-prod.a2b3c');
    expect(temporalConnectionOptions(config)).toEqual({
      address: 'eu-west-1.aws.api.temporal.io:7233',
      tls: {},
      apiKey: API_KEY,
    });
    expect(describeTemporalTarget(config)).not.toContain(API_KEY);
  });

  it('TEMPORAL_TLS=false with nothing else set stays plaintext; explicit overrides win', () => {
    expect(loadConfig({}, { TEMPORAL_TLS: 'false' }).temporalTls).toBe(false);
    expect(loadConfig({ temporalTls: true }, { TEMPORAL_TLS: '0' }).temporalTls).toBe(true);
  });

  it('names the variable and the fix for a certificate without its key, and the reverse', () => {
    expect(errorOf(() => loadConfig({}, { TEMPORAL_TLS_CLIENT_CERT_PATH: files.cert }))).toContain(
      'TEMPORAL_TLS_CLIENT_CERT_PATH is set without TEMPORAL_TLS_CLIENT_KEY_PATH: mTLS needs the client certificate and its private key (set both, or neither)',
    );
    expect(errorOf(() => loadConfig({}, { TEMPORAL_TLS_CLIENT_KEY_PATH: files.key }))).toContain(
      'TEMPORAL_TLS_CLIENT_KEY_PATH is set without TEMPORAL_TLS_CLIENT_CERT_PATH',
    );
  });

  it('refuses TEMPORAL_TLS=false beside TLS settings, and an API key in clear text', () => {
    const message = errorOf(() =>
      loadConfig(
        {},
        { TEMPORAL_TLS: 'false', TEMPORAL_TLS_SERVER_CA_CERT_PATH: files.ca, TEMPORAL_API_KEY: API_KEY },
      ),
    );
    expect(message).toContain(
      'TEMPORAL_TLS=false contradicts TEMPORAL_TLS_SERVER_CA_CERT_PATH: unset TEMPORAL_TLS_SERVER_CA_CERT_PATH, or set TEMPORAL_TLS=true',
    );
    expect(message).toContain('TEMPORAL_API_KEY would be sent unencrypted with TEMPORAL_TLS=false');
    expect(message).not.toContain(API_KEY);
  });

  it('names a missing file, a directory, and a file of the wrong kind, never quoting contents', () => {
    const missing = path.join(dir, 'nope.pem');
    expect(errorOf(() => loadConfig({}, { TEMPORAL_TLS_SERVER_CA_CERT_PATH: missing }))).toContain(
      `TEMPORAL_TLS_SERVER_CA_CERT_PATH=${missing} does not exist: mount the file there, or fix the path`,
    );
    expect(errorOf(() => loadConfig({}, { TEMPORAL_TLS_SERVER_CA_CERT_PATH: dir }))).toContain(
      `TEMPORAL_TLS_SERVER_CA_CERT_PATH=${dir} is a directory`,
    );
    // Certificate and key swapped: both are reported.
    const swapped = errorOf(() =>
      loadConfig({}, { TEMPORAL_TLS_CLIENT_CERT_PATH: files.key, TEMPORAL_TLS_CLIENT_KEY_PATH: files.cert }),
    );
    expect(swapped).toContain(`TEMPORAL_TLS_CLIENT_CERT_PATH=${files.key} holds no PEM certificate`);
    expect(swapped).toContain(`TEMPORAL_TLS_CLIENT_KEY_PATH=${files.cert} holds no PEM private key`);
    expect(swapped).not.toContain('S3CRETKEYBYTES');
    expect(swapped).not.toContain('MIIB');
  });

  (process.getuid?.() === 0 ? it.skip : it)('names an unreadable file and the permission fix', () => {
    const locked = path.join(dir, 'locked.key');
    fs.writeFileSync(locked, KEY, { mode: 0o000 });
    expect(
      errorOf(() =>
        loadConfig({}, { TEMPORAL_TLS_CLIENT_CERT_PATH: files.cert, TEMPORAL_TLS_CLIENT_KEY_PATH: locked }),
      ),
    ).toContain(`TEMPORAL_TLS_CLIENT_KEY_PATH=${locked} is not readable by this process`);
  });

  it('accepts the RSA and EC private key PEM headers', () => {
    for (const header of ['RSA PRIVATE KEY', 'EC PRIVATE KEY']) {
      const file = path.join(dir, `${header.split(' ')[0]!}.key`);
      fs.writeFileSync(file, `-----BEGIN ${header}-----\nx\n-----END ${header}-----\n`);
      const config = loadConfig(
        {},
        { TEMPORAL_TLS_CLIENT_CERT_PATH: files.cert, TEMPORAL_TLS_CLIENT_KEY_PATH: file },
      );
      expect(config.temporalTlsClientKeyPath).toBe(file);
    }
  });

  it('checks the server name and the API key shape without echoing the key', () => {
    expect(errorOf(() => loadConfig({}, { TEMPORAL_TLS_SERVER_NAME: 'https://x' }))).toContain(
      'TEMPORAL_TLS_SERVER_NAME must be a host name',
    );
    const message = errorOf(() => loadConfig({}, { TEMPORAL_API_KEY: `${API_KEY}\n` }));
    expect(message).toContain('TEMPORAL_API_KEY must be the key alone, without spaces or line breaks');
    expect(message).not.toContain(API_KEY);
    expect(errorOf(() => loadConfig({}, { TEMPORAL_TLS: 'yes' }))).toContain(
      'TEMPORAL_TLS must be true or false',
    );
  });

  it('reports a certificate file removed after loading, naming the variable', () => {
    const ca = path.join(dir, 'rotated.pem');
    fs.writeFileSync(ca, CERT);
    const config = loadConfig({}, { TEMPORAL_TLS_SERVER_CA_CERT_PATH: ca });
    fs.rmSync(ca);
    expect(() => temporalConnectionOptions(config)).toThrow(
      new ConfigError(
        `TEMPORAL_TLS_SERVER_CA_CERT_PATH=${ca} cannot be read (ENOENT): mount the file there, or fix the path.`,
      ),
    );
  });

  it('redacts the API key and shows certificate paths, never certificate contents', () => {
    const shown = redactConfig(
      loadConfig(
        {},
        {
          TEMPORAL_API_KEY: API_KEY,
          TEMPORAL_TLS_CLIENT_CERT_PATH: files.cert,
          TEMPORAL_TLS_CLIENT_KEY_PATH: files.key,
        },
      ),
    );
    expect(shown.temporalApiKey).toBe('***');
    expect(shown.temporalTlsClientKeyPath).toBe(files.key);
    const text = JSON.stringify(shown);
    expect(text).not.toContain(API_KEY);
    expect(text).not.toContain('S3CRETKEYBYTES');
    expect(redactConfig(loadConfig({}, {})).temporalApiKey).toBe('');
  });
});

describe('Temporal namespace names', () => {
  it("allow letters, digits, '-', '_' and '.' (Temporal Cloud's <namespace>.<account>)", () => {
    for (const ns of ['fti', 'fti-prod.a2b3c', 'Team_A.prod', 'f1'])
      expect(loadConfig({}, { TEMPORAL_NAMESPACE: ns }).temporalNamespace).toBe(ns);
  });

  it('refuse other characters and a leading or trailing separator, saying what is allowed', () => {
    for (const ns of ['fti prod', 'fti/prod', '.fti', 'fti.', '-fti', 'fti$'])
      expect(errorOf(() => loadConfig({}, { TEMPORAL_NAMESPACE: ns }))).toContain(
        "TEMPORAL_NAMESPACE must be letters, digits, '-', '_' and '.'",
      );
  });
});

describe('process tunables', () => {
  it('default to a 10-connection pool and leave the rest to each consumer', () => {
    expect(processTunables({})).toEqual({
      dbPoolMax: 10,
      workerMaxConcurrentActivities: undefined,
      workerMaxActivitiesPerSecond: undefined,
      taskQueueMaxActivitiesPerSecond: undefined,
      duckdbMemoryLimit: undefined,
      duckdbThreads: undefined,
    });
  });

  it('read every variable, and loadConfig shows the same values', () => {
    const env = {
      FTI_DB_POOL_MAX: '25',
      FTI_WORKER_MAX_CONCURRENT_ACTIVITIES: '4',
      FTI_WORKER_MAX_ACTIVITIES_PER_SECOND: '2.5',
      FTI_TASK_QUEUE_MAX_ACTIVITIES_PER_SECOND: '100',
      FTI_DUCKDB_MEMORY_LIMIT: '4GB',
      FTI_DUCKDB_THREADS: '2',
    };
    const expected = {
      dbPoolMax: 25,
      workerMaxConcurrentActivities: 4,
      workerMaxActivitiesPerSecond: 2.5,
      taskQueueMaxActivitiesPerSecond: 100,
      duckdbMemoryLimit: '4GB',
      duckdbThreads: 2,
    };
    expect(processTunables(env)).toEqual(expected);
    expect(loadConfig({}, env)).toMatchObject(expected);
    const shown = redactConfig(loadConfig({}, {}));
    expect(shown.dbPoolMax).toBe(10);
    expect(shown.duckdbThreads).toBe('');
  });

  it('name each bad variable and the range it must be in', () => {
    const message = errorOf(() =>
      processTunables({
        FTI_DB_POOL_MAX: '0',
        FTI_WORKER_MAX_CONCURRENT_ACTIVITIES: 'many',
        FTI_WORKER_MAX_ACTIVITIES_PER_SECOND: '-1',
        FTI_TASK_QUEUE_MAX_ACTIVITIES_PER_SECOND: '0',
        FTI_DUCKDB_MEMORY_LIMIT: '4 gigs',
        FTI_DUCKDB_THREADS: '1.5',
      }),
    );
    expect(message).toContain(
      'FTI_DB_POOL_MAX must be a whole number from 1 to 1000 (PostgreSQL connections per process)',
    );
    expect(message).toContain('FTI_WORKER_MAX_CONCURRENT_ACTIVITIES must be a whole number from 1 to 10000');
    expect(message).toContain(
      'FTI_WORKER_MAX_ACTIVITIES_PER_SECOND must be a number of activities per second above 0',
    );
    expect(message).toContain(
      'FTI_TASK_QUEUE_MAX_ACTIVITIES_PER_SECOND must be a number of activities per second above 0',
    );
    expect(message).toContain('FTI_DUCKDB_MEMORY_LIMIT must be a size like 512MB or 4GB');
    expect(message).toContain('FTI_DUCKDB_THREADS must be a whole number from 1 to 1024');
    // loadConfig reports them at start, with every other problem.
    expect(errorOf(() => loadConfig({}, { FTI_DB_POOL_MAX: 'ten' }))).toContain(
      'FTI_DB_POOL_MAX must be a whole number',
    );
  });

  it('ignore every other variable, so a consumer never fails on an unrelated one', () => {
    expect(processTunables({ DATABASE_URL: 'mysql://x', FTI_DB_POOL_MAX: '3' }).dbPoolMax).toBe(3);
  });
});
