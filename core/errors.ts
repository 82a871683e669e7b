/**
 * Base class of every error the platform raises on purpose. `retryable` tells orchestration
 * whether trying again can help (an outage) or cannot (bad input, bad configuration).
 * Messages name what failed, where, and how to fix it; they never embed secrets or feature values.
 */
export class FtiError extends Error {
  readonly retryable: boolean;
  constructor(message: string, options: { retryable: boolean; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.retryable = options.retryable;
  }
}

/** Configuration is missing or malformed; fixing the environment is the only remedy. */
export class ConfigError extends FtiError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { retryable: false, ...options });
  }
}

/** Input supplied by a user (file, request, definition) is invalid; retrying the same input cannot succeed. */
export class ValidationError extends FtiError {
  /** Where the bad input was found (file, row, column, field path). */
  readonly location: string | undefined;
  constructor(message: string, options: { location?: string; cause?: unknown } = {}) {
    super(message, { retryable: false, cause: options.cause });
    this.location = options.location;
  }
}

/** A dependency (database, object store, Temporal) could not be reached; a retry may succeed. */
export class ServiceUnavailableError extends FtiError {
  readonly service: string;
  constructor(service: string, message: string, options: { cause?: unknown } = {}) {
    super(message, { retryable: true, ...options });
    this.service = service;
  }
}

/** Short, single-line description of any thrown value, for logs and CLI output. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message.split('\n')[0] ?? error.name;
  return String(error);
}
