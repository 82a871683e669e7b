import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import type { Logger } from '../core/log';

const LEVELS: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/**
 * Routes the Temporal SDK's own logs (worker, workflow and activity loggers) into the platform's
 * pino logger, so a worker prints one stream of JSON lines. Installs the runtime once per process.
 */
export function installTemporalLogging(logger: Logger): void {
  try {
    Runtime.install({
      logger: new DefaultLogger(
        (process.env.TEMPORAL_LOG_LEVEL as LogLevel | undefined) ?? 'INFO',
        ({ level, message, meta }) => logger[LEVELS[level]](meta ?? {}, message),
      ),
    });
  } catch {
    // Already installed in this process (tests create several workers).
  }
}
