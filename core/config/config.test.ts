import path from 'node:path';
import { ConfigError } from '../errors';
import { CONFIG_DEFAULTS, loadConfig, redactConfig, redactUrl } from './config';
import { testSettingsFor } from './test-settings';

describe('loadConfig', () => {
  it('defaults to the local stack and resolves paths against cwd', () => {
    const config = loadConfig({}, {}, '/srv/app');
    expect(config.databaseUrl).toBe(CONFIG_DEFAULTS.databaseUrl);
    expect(config.temporalAddress).toBe('127.0.0.1:7233');
    expect(config.s3ForcePathStyle).toBe(true);
    expect(config.cacheDir).toBe(path.resolve('/srv/app', '.fti/cache'));
  });

  it('prefers explicit options over environment over defaults', () => {
    const env = { S3_BUCKET: 'from-env', TEMPORAL_NAMESPACE: 'team-a' };
    const config = loadConfig({ s3Bucket: 'explicit' }, env);
    expect(config.s3Bucket).toBe('explicit');
    expect(config.temporalNamespace).toBe('team-a');
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({}, { DATABASE_URL: '' }).databaseUrl).toBe(CONFIG_DEFAULTS.databaseUrl);
  });

  it('parses boolean strings', () => {
    expect(loadConfig({}, { S3_FORCE_PATH_STYLE: 'false' }).s3ForcePathStyle).toBe(false);
    expect(loadConfig({}, { S3_FORCE_PATH_STYLE: '1' }).s3ForcePathStyle).toBe(true);
  });

  it('names every bad variable, what it must look like, and where to fix it', () => {
    const attempt = () =>
      loadConfig(
        {},
        { DATABASE_URL: 'mysql://x', TEMPORAL_ADDRESS: 'nohostport', S3_FORCE_PATH_STYLE: 'maybe' },
      );
    expect(attempt).toThrow(ConfigError);
    try {
      attempt();
    } catch (error) {
      const message = (error as Error).message;
      expect(message).toContain('DATABASE_URL must be a PostgreSQL URL');
      expect(message).toContain('TEMPORAL_ADDRESS must be host:port');
      expect(message).toContain('S3_FORCE_PATH_STYLE must be true or false');
      expect(message).toContain('.env.example');
      expect(message.split('\n')).toHaveLength(1);
    }
  });

  it('defaults NATS_URL to the local server and rejects a URL that is not nats:// or tls://', () => {
    expect(loadConfig({}, {}).natsUrl).toBe('nats://127.0.0.1:4222');
    expect(loadConfig({}, { NATS_URL: 'tls://nats.example.internal:4222' }).natsUrl).toBe(
      'tls://nats.example.internal:4222',
    );
    expect(() => loadConfig({}, { NATS_URL: 'http://127.0.0.1:4222' })).toThrow(
      /NATS_URL must be a NATS URL \(nats: or tls:\/\/host:port/,
    );
    expect(() => loadConfig({}, { NATS_URL: '127.0.0.1:4222' })).toThrow(/NATS_URL must be a NATS URL/);
  });

  it('never echoes a secret in its error', () => {
    expect(() => loadConfig({}, { DATABASE_URL: 'postgres://u:hunter2@', S3_BUCKET: 'UPPER' })).toThrow(
      /S3_BUCKET must be a valid S3 bucket name/,
    );
    try {
      loadConfig({}, { DATABASE_URL: 'postgres://u:hunter2@h/db', S3_BUCKET: 'UPPER' });
    } catch (error) {
      expect((error as Error).message).not.toContain('hunter2');
    }
  });
});

describe('redaction', () => {
  it('hides the URL password and the S3 secret', () => {
    const shown = redactConfig(loadConfig({ databaseUrl: 'postgres://app:s3cret@db:5432/fti' }, {}));
    expect(shown.databaseUrl).toBe('postgres://app:***@db:5432/fti');
    expect(shown.s3SecretAccessKey).toBe('***');
    expect(JSON.stringify(shown)).not.toContain('s3cret');
  });

  it('hides a NATS token or user and password', () => {
    const token = redactConfig(loadConfig({ natsUrl: 'nats://s3cr3ttoken@nats:4222' }, {}));
    expect(token.natsUrl).toBe('nats://***@nats:4222');
    const userPass = redactConfig(loadConfig({ natsUrl: 'nats://app:pw123@nats:4222' }, {}));
    expect(userPass.natsUrl).toBe('nats://***:***@nats:4222');
    expect(redactConfig(loadConfig({}, {})).natsUrl).toBe('nats://127.0.0.1:4222');
  });

  it('leaves URLs without a password alone', () => {
    expect(redactUrl('postgres://app@db/fti')).toBe('postgres://app@db/fti');
    expect(redactUrl('not a url')).toBe('<unparsable url>');
  });
});

describe('testSettingsFor', () => {
  it('derives isolated test resources and is idempotent', () => {
    const base = { databaseUrl: 'postgres://p:x@h:5432/fti', s3Bucket: 'fti', temporalNamespace: 'fti' };
    const test = testSettingsFor(base);
    expect(test).toEqual({
      databaseUrl: 'postgres://p:x@h:5432/fti_test',
      s3Bucket: 'fti-test',
      temporalNamespace: 'fti-test',
    });
    expect(testSettingsFor(test)).toEqual(test);
  });
});
