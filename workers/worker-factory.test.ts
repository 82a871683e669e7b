import { platformActivityLimits } from './worker-factory';

describe('platformActivityLimits', () => {
  it("keeps the queue's default and sets no rate limit when nothing is configured", () => {
    expect(platformActivityLimits(undefined, {})).toEqual({ maxConcurrentActivityTaskExecutions: 8 });
    expect(platformActivityLimits(2, {})).toEqual({ maxConcurrentActivityTaskExecutions: 2 });
  });

  it('FTI_WORKER_MAX_CONCURRENT_ACTIVITIES replaces the default of every queue', () => {
    const env = { FTI_WORKER_MAX_CONCURRENT_ACTIVITIES: '3' };
    expect(platformActivityLimits(undefined, env).maxConcurrentActivityTaskExecutions).toBe(3);
    expect(platformActivityLimits(2, env).maxConcurrentActivityTaskExecutions).toBe(3);
  });

  it('maps the per-worker and the per-queue rate to their Temporal worker options', () => {
    expect(
      platformActivityLimits(undefined, {
        FTI_WORKER_MAX_ACTIVITIES_PER_SECOND: '0.5',
        FTI_TASK_QUEUE_MAX_ACTIVITIES_PER_SECOND: '20',
      }),
    ).toEqual({
      maxConcurrentActivityTaskExecutions: 8,
      maxActivitiesPerSecond: 0.5,
      maxTaskQueueActivitiesPerSecond: 20,
    });
  });

  it('names a malformed variable', () => {
    expect(() => platformActivityLimits(undefined, { FTI_WORKER_MAX_CONCURRENT_ACTIVITIES: '0' })).toThrow(
      /FTI_WORKER_MAX_CONCURRENT_ACTIVITIES must be a whole number from 1 to 10000/,
    );
  });
});
