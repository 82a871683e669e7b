import { backoffDelay, type BackoffOptions } from '../../backoff';

// Structural copies of the AWS SDK's RetryStrategyV2 types (@smithy/types), so this file does not
// import a package the project does not depend on directly.
interface RetryToken {
  getRetryCount(): number;
  getRetryDelay(): number;
}
interface RetryErrorInfo {
  errorType: 'TRANSIENT' | 'THROTTLING' | 'SERVER_ERROR' | 'CLIENT_ERROR';
  retryAfterHint?: Date;
}

/** Options of {@link OutageRetryStrategy}. */
export interface OutageRetryOptions {
  /** Attempts per request, the first included. @default 8 */
  readonly maxAttempts?: number;
  /** Delays between attempts. @default { initialMs: 200, maxMs: 5000, multiplier: 2, jitter: 0.5 } */
  readonly backoff?: BackoffOptions;
}

const token = (retries: number, delay: number): RetryToken => ({
  getRetryCount: () => retries,
  getRetryDelay: () => delay,
});

/**
 * The S3 client's retry strategy: outages (connection refused/reset, timeouts, 5xx, throttling)
 * are retried with capped, jittered exponential backoff; client errors (404, 403, bad request) are
 * not. Unlike the SDK's standard strategy it has no retry quota: a quota empties within seconds of
 * an outage under load, after which every request fails at once — the opposite of riding it out.
 *
 * With the defaults one request waits 7.6–15 s in total before it gives up (8 attempts), so a short
 * outage is absorbed inside a request and a longer one (~30 s) by the activity's own retries.
 */
export class OutageRetryStrategy {
  /** Read by the SDK for its user-agent/metrics only. */
  readonly mode = 'standard';
  private readonly maxAttempts: number;
  private readonly backoff: BackoffOptions;

  constructor(options: OutageRetryOptions = {}) {
    this.maxAttempts = Math.max(1, Math.floor(options.maxAttempts ?? 8));
    this.backoff = { initialMs: 200, maxMs: 5000, multiplier: 2, jitter: 0.5, ...options.backoff };
    backoffDelay(0, this.backoff); // validates the policy here rather than at the first outage
  }

  /** First attempt: no delay. */
  async acquireInitialRetryToken(_scope: string): Promise<RetryToken> {
    return token(0, 0);
  }

  /** The next attempt's token, or a rejection when the error is not retryable or attempts are spent. */
  async refreshRetryTokenForRetry(previous: RetryToken, error: RetryErrorInfo): Promise<RetryToken> {
    const retries = previous.getRetryCount();
    if (error.errorType === 'CLIENT_ERROR') throw new Error('not retryable');
    if (retries + 1 >= this.maxAttempts) throw new Error('retry attempts exhausted');
    let delay = backoffDelay(retries, this.backoff);
    if (error.retryAfterHint) {
      const hinted = error.retryAfterHint.getTime() - Date.now();
      delay = Math.max(delay, Math.min(hinted, this.backoff.maxMs ?? 5000));
    }
    return token(retries + 1, delay);
  }

  /** Nothing to account for: there is no quota. */
  recordSuccess(_token: RetryToken): void {}
}
