import { ApplicationFailure } from '@temporalio/common';
import { toActivityFailure } from '../../activities/failures';
import { loadConfig } from '../../core/config';
import { ObjectStoreUnavailableError } from '../../core/storage';
import { OutageProxy } from '../support/outage-proxy';
import { testObjectStore } from '../support/stores';

describe('S3 outage', () => {
  const endpoint = new URL(loadConfig().s3Endpoint);
  const proxy = new OutageProxy({ host: endpoint.hostname, port: Number(endpoint.port || 80) });
  beforeAll(() => proxy.up());
  afterAll(() => proxy.down());

  it('a write and a read started while S3 is down for 3 s succeed once it is back (client retries with backoff)', async () => {
    const store = testObjectStore({ endpoint: `http://127.0.0.1:${proxy.port}` });
    try {
      await store.put('before.txt', 'written before the outage');
      await proxy.down();
      const write = store.put('during.txt', 'written during the outage');
      const read = store.get('before.txt');
      await new Promise((r) => setTimeout(r, 3000));
      await proxy.up();
      await write;
      expect((await read).toString()).toBe('written before the outage');
      expect((await store.get('during.txt')).toString()).toBe('written during the outage');
    } finally {
      await proxy.up().catch(() => undefined);
      await store.deletePrefix('');
      store.close();
    }
  });

  it('an outage that outlasts the retries is a retryable activity failure naming the store, never a non-retryable one', async () => {
    await proxy.down();
    const store = testObjectStore({ endpoint: `http://127.0.0.1:${proxy.port}`, maxAttempts: 2 });
    try {
      const error = await store.put('x.txt', 'x').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ObjectStoreUnavailableError);
      expect((error as ObjectStoreUnavailableError).retryable).toBe(true);
      expect((error as Error).message).toContain(`127.0.0.1:${proxy.port}`);
      expect((error as Error).message).toMatch(
        /unreachable while accessing x.txt: (connect )?(ECONNREFUSED|ECONNRESET)/,
      );
      const failure = toActivityFailure(error);
      // Rethrown as is: Temporal retries it under the activity's retry policy.
      expect(failure).toBe(error);
      expect(failure instanceof ApplicationFailure && failure.nonRetryable).toBe(false);
    } finally {
      store.close();
      await proxy.up();
    }
  });
});
