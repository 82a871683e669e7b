import { Backoff, backoffDelay } from '../../core/backoff';

describe('reconnect backoff policy', () => {
  it('doubles from the initial delay and never exceeds the cap', () => {
    const options = { initialMs: 100, maxMs: 1000, multiplier: 2, jitter: 0 };
    expect([0, 1, 2, 3, 4, 5, 50, 5000].map((a) => backoffDelay(a, options, 0.5))).toEqual([
      100, 200, 400, 800, 1000, 1000, 1000, 1000,
    ]);
  });

  it('jitters each delay downwards by at most the jitter fraction, and stays within [0, maxMs]', () => {
    const options = { initialMs: 1000, maxMs: 8000, jitter: 0.5 };
    expect(backoffDelay(0, options, 0)).toBe(1000);
    expect(backoffDelay(0, options, 0.999999)).toBe(500);
    expect(backoffDelay(10, options, 0)).toBe(8000);
    expect(backoffDelay(10, options, 0.999999)).toBe(4000);
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(i % 12, options);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThanOrEqual(8000);
    }
  });

  it('spreads clients that retry at the same attempt (jitter is not constant)', () => {
    const delays = new Set(
      Array.from({ length: 20 }, () => backoffDelay(3, { initialMs: 1000, maxMs: 60_000 })),
    );
    expect(delays.size).toBeGreaterThan(1);
  });

  it('advances per retry and starts over after reset()', () => {
    const backoff = new Backoff({ initialMs: 10, maxMs: 100, jitter: 0 });
    expect([backoff.next(), backoff.next(), backoff.next(), backoff.next(), backoff.next()]).toEqual([
      10, 20, 40, 80, 100,
    ]);
    expect(backoff.attempt).toBe(5);
    backoff.reset();
    expect(backoff.next()).toBe(10);
  });

  it('rejects a policy that cannot work, naming the field', () => {
    expect(() => new Backoff({ initialMs: 0 })).toThrow(/initialMs/);
    expect(() => new Backoff({ initialMs: 500, maxMs: 100 })).toThrow(/maxMs/);
    expect(() => new Backoff({ multiplier: 0.5 })).toThrow(/multiplier/);
    expect(() => new Backoff({ jitter: 2 })).toThrow(/jitter/);
  });
});
