import { FtiError, ServiceUnavailableError } from '../errors';

/** The object does not exist. Not retryable: the key is wrong or the data was never written. */
export class ObjectNotFoundError extends FtiError {
  constructor(
    readonly key: string,
    readonly location: string,
    options: { cause?: unknown } = {},
  ) {
    super(`Object ${key} not found in ${location}. Check the key, or re-run the step that writes it.`, {
      retryable: false,
      ...options,
    });
  }
}

/** Credentials were refused or lack permission. Not retryable until configuration changes. */
export class ObjectAccessDeniedError extends FtiError {
  constructor(
    readonly key: string,
    readonly location: string,
    options: { cause?: unknown } = {},
  ) {
    super(
      `Access denied to ${key || 'the bucket'} in ${location}. Check S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY ` +
        'and the bucket policy.',
      { retryable: false, ...options },
    );
  }
}

/** An immutable key already holds different content; writing it again would change history. */
export class ImmutableObjectConflictError extends FtiError {
  constructor(
    readonly key: string,
    readonly location: string,
  ) {
    super(
      `Object ${key} in ${location} already exists with different content; immutable keys are never ` +
        'overwritten. Write under a new key (new commit, version or run).',
      { retryable: false },
    );
  }
}

/** The object store could not be reached after retries. Retryable. */
export class ObjectStoreUnavailableError extends ServiceUnavailableError {
  constructor(
    readonly key: string,
    readonly location: string,
    reason: string,
    options: { cause?: unknown } = {},
  ) {
    super(
      's3',
      `Object store ${location} unreachable while accessing ${key || 'the bucket'}: ${reason}. ` +
        'Start the local stack with `infra/stack.sh up`, or set S3_ENDPOINT to a reachable server.',
      options,
    );
  }
}
