import { FtiError } from '../../core/errors';

/**
 * A local-stack service could not be brought up, checked or stopped. The message is one paragraph:
 * the service, what failed, and how to fix it.
 */
export class StackError extends FtiError {
  constructor(
    readonly service: string,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(`${service}: ${message}`, { retryable: false, ...options });
  }
}
