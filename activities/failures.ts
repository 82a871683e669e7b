import { ApplicationFailure } from '@temporalio/common';
import { describeError, FtiError } from '../core/errors';

/**
 * Maps an error to what Temporal should do with it, once, at the activity boundary: a platform error
 * that retrying cannot fix (bad input, bad configuration) becomes a non-retryable failure carrying
 * its message and type; anything else is rethrown for Temporal's retry policy. Driver errors never
 * reach the message with their parameters (only the first line of the platform's own message).
 */
export function toActivityFailure(error: unknown, details?: unknown): unknown {
  if (error instanceof ApplicationFailure) return error;
  if (error instanceof FtiError && !error.retryable) {
    return ApplicationFailure.create({
      message: describeError(error),
      type: error.name,
      nonRetryable: true,
      details: details === undefined ? [] : [details],
      cause: undefined,
    });
  }
  return error;
}

/** Runs an activity body, translating failures with {@link toActivityFailure}. */
export async function activityBoundary<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw toActivityFailure(error);
  }
}
