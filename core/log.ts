import pino, { type Logger } from 'pino';

/** The platform's structured logger type. */
export type { Logger };

/**
 * A JSON logger (pino) with secret-bearing fields redacted wherever they appear, so a config object or
 * connection options can be logged without leaking credentials.
 */
export function createLogger(name: string, level: string = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({
    name,
    level,
    redact: {
      paths: [
        'password',
        '*.password',
        's3SecretAccessKey',
        '*.s3SecretAccessKey',
        'secretAccessKey',
        '*.secretAccessKey',
        'apiKey',
        '*.apiKey',
        'authorization',
        '*.authorization',
      ],
      censor: '***',
    },
  });
}
