import { heartbeat } from './pipeline-runs';

/**
 * Runs `fn(progress)` while heartbeating at least every `everyMs` with the latest progress message,
 * so a long phase that reports nothing (a DuckDB query, an upload) is not taken for a dead worker by
 * the step's heartbeat timeout. A dead process stops the timer with it, so a worker that dies is
 * still noticed within the timeout. Each `progress` call also heartbeats at once.
 */
export async function withKeepAlive<T>(
  fn: (progress: (message: string) => void) => Promise<T>,
  options: { everyMs?: number; beat?: (message: string) => void } = {},
): Promise<T> {
  const beat = options.beat ?? heartbeat;
  let last = 'started';
  const timer = setInterval(() => beat(last), options.everyMs ?? 5_000);
  try {
    return await fn((message) => {
      last = message;
      beat(message);
    });
  } finally {
    clearInterval(timer);
  }
}
