/** Options of {@link Backoff} and {@link backoffDelay}. */
export interface BackoffOptions {
  /** Delay before the first retry, in ms. @default 250 */
  readonly initialMs?: number;
  /** No delay is ever longer than this, in ms (jitter included). @default 30000 */
  readonly maxMs?: number;
  /** Growth factor per attempt. @default 2 */
  readonly multiplier?: number;
  /**
   * Fraction of the delay that is randomized, 0–1: the delay is drawn uniformly from
   * `[base × (1 − jitter), base]`. Jitter keeps many clients that lost the same server from
   * reconnecting in lockstep. @default 0.5
   */
  readonly jitter?: number;
}

/** Normalized {@link BackoffOptions}. */
interface BackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly multiplier: number;
  readonly jitter: number;
}

function policyOf(options: BackoffOptions): BackoffPolicy {
  const policy = {
    initialMs: options.initialMs ?? 250,
    maxMs: options.maxMs ?? 30_000,
    multiplier: options.multiplier ?? 2,
    jitter: options.jitter ?? 0.5,
  };
  if (!(policy.initialMs > 0) || !(policy.maxMs >= policy.initialMs))
    throw new RangeError(
      `backoff: initialMs (${policy.initialMs}) must be > 0 and maxMs (${policy.maxMs}) >= initialMs`,
    );
  if (!(policy.multiplier >= 1))
    throw new RangeError(`backoff: multiplier (${policy.multiplier}) must be >= 1`);
  if (!(policy.jitter >= 0 && policy.jitter <= 1))
    throw new RangeError(`backoff: jitter (${policy.jitter}) must be between 0 and 1`);
  return policy;
}

/**
 * The delay before retry number `attempt` (0 = first retry): `initialMs × multiplier^attempt`,
 * capped at `maxMs`, then jittered downwards by up to `jitter` of itself. Pure: `random` (a number in
 * [0, 1)) is a parameter so tests can pin it. The result is always within `[0, maxMs]`.
 */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random = Math.random()): number {
  const policy = policyOf(options);
  const exponent = Math.max(0, Math.floor(attempt));
  // Capping before multiplying by a huge power keeps the value finite for any attempt count.
  const base = Math.min(policy.maxMs, policy.initialMs * policy.multiplier ** Math.min(exponent, 1000));
  const jittered = base * (1 - policy.jitter * Math.min(Math.max(random, 0), 1));
  return Math.round(Math.min(policy.maxMs, Math.max(0, jittered)));
}

/**
 * A retry schedule with state: `next()` returns the delay before the next attempt and advances;
 * `reset()` starts over after a success (so a connection that held for a while retries quickly again).
 */
export class Backoff {
  private attempts = 0;
  private readonly options: BackoffOptions;

  constructor(
    options: BackoffOptions = {},
    private readonly random: () => number = Math.random,
  ) {
    policyOf(options); // validates once, here, rather than at the first failure
    this.options = options;
  }

  /** Retries scheduled since the last reset. */
  get attempt(): number {
    return this.attempts;
  }

  /** The delay before the next attempt (ms); advances the schedule. */
  next(): number {
    return backoffDelay(this.attempts++, this.options, this.random());
  }

  /** Back to the first (shortest) delay. */
  reset(): void {
    this.attempts = 0;
  }
}
