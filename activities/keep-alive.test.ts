import { withKeepAlive } from './keep-alive';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Waits until `ready()` (no timing assumed: a loaded machine only makes it slower). */
async function until(ready: () => boolean): Promise<void> {
  while (!ready()) await sleep(5);
}

describe('withKeepAlive', () => {
  it('heartbeats with the latest progress message while a silent phase runs, and stops after', async () => {
    const beats: string[] = [];
    const result = await withKeepAlive(
      async (progress) => {
        progress('loading');
        // A phase that reports nothing: only the timer can beat now.
        await until(() => beats.length >= 4);
        progress('committing');
        return 42;
      },
      { everyMs: 10, beat: (m) => beats.push(m) },
    );
    expect(result).toBe(42);
    expect(beats.slice(0, 4)).toEqual(['loading', 'loading', 'loading', 'loading']);
    expect(beats.at(-1)).toBe('committing');
    const after = beats.length;
    await sleep(50);
    expect(beats.length).toBe(after);
  });

  it('stops heartbeating when the work fails, and passes the failure on', async () => {
    const beats: string[] = [];
    await expect(
      withKeepAlive(
        async () => {
          await until(() => beats.length >= 2);
          throw new Error('S3 unreachable');
        },
        { everyMs: 10, beat: (m) => beats.push(m) },
      ),
    ).rejects.toThrow('S3 unreachable');
    expect(beats).toEqual(['started', 'started']);
    await sleep(50);
    expect(beats).toHaveLength(2);
  });
});

describe('withKeepAlive and a hung step', () => {
  it('stops beating after the silent limit without progress, so the heartbeat timeout can fire', async () => {
    const beats: string[] = [];
    let clock = 0;
    await withKeepAlive(
      async (progress) => {
        progress('committing');
        await until(() => beats.length >= 3); // timer beats while within the limit
        clock = 1_000; // past the limit: no progress for too long
        const before = beats.length;
        await sleep(60); // several timer periods
        expect(beats.length).toBe(before);
        progress('uploading'); // progress resumes the beats
        await until(() => beats.length >= before + 3);
      },
      { everyMs: 10, silentLimitMs: 500, beat: (m) => beats.push(m), now: () => clock },
    );
    expect(beats.at(-1)).toBe('uploading');
  });
});
