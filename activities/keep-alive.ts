import { heartbeat } from './pipeline-runs';

/**
 * Runs `fn(progress)` while heartbeating every `everyMs` with the latest progress message, so a long
 * phase that reports nothing for a while (a DuckDB query, an upload) is not taken for a dead worker
 * by the step's heartbeat timeout. A dead process stops the timer with it, so a worker that dies is
 * still noticed within the timeout. So is a step that hangs: after `silentLimitMs` without a
 * `progress` call the timer stops beating, the heartbeat timeout fires and Temporal retries the step
 * elsewhere. Each `progress` call also heartbeats at once.
 */
export async function withKeepAlive<T>(
  fn: (progress: (message: string) => void) => Promise<T>,
  options: {
    everyMs?: number;
    /** @default 10 minutes */
    silentLimitMs?: number;
    beat?: (message: string) => void;
    now?: () => number;
  } = {},
): Promise<T> {
  const beat = options.beat ?? heartbeat;
  const now = options.now ?? Date.now;
  const silentLimit = options.silentLimitMs ?? 600_000;
  let last = 'started';
  let lastProgress = now();
  const timer = setInterval(() => {
    if (now() - lastProgress <= silentLimit) beat(last);
  }, options.everyMs ?? 5_000);
  try {
    return await fn((message) => {
      last = message;
      lastProgress = now();
      beat(message);
    });
  } finally {
    clearInterval(timer);
  }
}
