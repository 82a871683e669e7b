import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { loadConfig } from '../../config';
import { ValidationError } from '../../errors';
import { testObjectStore } from '../../../test/support/stores';
import {
  ImmutableObjectConflictError,
  ObjectAccessDeniedError,
  ObjectNotFoundError,
  ObjectStoreUnavailableError,
} from '../errors';
import { ObjectCache } from '../object-cache';
import type { S3ObjectStore } from './s3-object-store';

// Real SeaweedFS (or the configured S3_ENDPOINT): no mocks.
describe('S3ObjectStore against the real object store', () => {
  let store: S3ObjectStore;
  let tmp: string;

  beforeAll(async () => {
    store = testObjectStore({ partSize: 5 * 1024 * 1024, listPageSize: 7 });
    await store.ensureBucket();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-s3-'));
  });
  afterAll(async () => {
    await store.deletePrefix('');
    store.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('puts, heads, gets and reports existence', async () => {
    const info = await store.put('a/hello.txt', 'hello world', { contentType: 'text/plain' });
    expect(info.size).toBe(11);
    expect((await store.get('a/hello.txt')).toString()).toBe('hello world');
    expect(await store.exists('a/hello.txt')).toBe(true);
    expect(await store.exists('a/missing.txt')).toBe(false);
    expect((await store.head('a/hello.txt'))?.etag).toBe(
      createHash('md5').update('hello world').digest('hex'),
    );
  });

  it('presigns GET URLs that download the exact bytes without credentials, and expire', async () => {
    const body = randomBytes(300_000);
    await store.put('signed/blob.bin', body);
    const url = await store.presignGet('signed/blob.bin', 60);
    expect(url).toContain('X-Amz-Signature=');
    expect(url).not.toContain(loadConfig().s3SecretAccessKey);
    const ok = await fetch(url);
    expect(ok.status).toBe(200);
    expect(Buffer.from(await ok.arrayBuffer()).equals(body)).toBe(true);
    // The signature covers the key: pointing the URL at another object is refused.
    await store.put('signed/other.bin', 'secret');
    expect((await fetch(url.replace('signed/blob.bin', 'signed/other.bin'))).status).toBe(403);
    const short = await store.presignGet('signed/blob.bin', 1);
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    expect((await fetch(short)).status).toBe(403);
    await expect(store.presignGet('signed/blob.bin', 0)).rejects.toThrow(/1–604800/);
  });

  it('uploads a large stream in parts and streams it back intact', async () => {
    const body = randomBytes(12 * 1024 * 1024 + 17);
    const info = await store.put(
      'big/blob.bin',
      Readable.from([body.subarray(0, 3_000_000), body.subarray(3_000_000)]),
    );
    expect(info.size).toBe(body.length);
    const head = await store.head('big/blob.bin');
    expect(head?.size).toBe(body.length);
    expect(head?.etag).toMatch(/-3$/); // three parts of 5 MiB, 5 MiB, ~2 MiB
    const chunks: Buffer[] = [];
    for await (const chunk of await store.getStream('big/blob.bin')) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).equals(body)).toBe(true);
  });

  it('uploads a file and downloads it atomically', async () => {
    const source = path.join(tmp, 'src.bin');
    fs.writeFileSync(source, randomBytes(1024));
    await store.putFile('files/src.bin', source);
    const target = path.join(tmp, 'nested', 'dst.bin');
    await store.download('files/src.bin', target);
    expect(fs.readFileSync(target).equals(fs.readFileSync(source))).toBe(true);
    expect(fs.readdirSync(path.dirname(target)).filter((f) => f.endsWith('.part'))).toEqual([]);
  });

  it('lists every key under a prefix across pages, in key order', async () => {
    const keys = Array.from({ length: 23 }, (_, i) => `list/item-${String(i).padStart(2, '0')}`);
    await Promise.all(keys.map((key) => store.put(key, key)));
    const listed: string[] = [];
    for await (const item of store.list('list/')) listed.push(item.key);
    expect(listed).toEqual(keys);
  });

  it('deletes single keys, batches and prefixes; missing keys are fine', async () => {
    await store.put('del/one', '1');
    await store.put('del/two', '2');
    await store.delete('del/one');
    await store.delete(['del/never-existed']);
    expect(await store.exists('del/one')).toBe(false);
    expect(await store.deletePrefix('del/')).toBe(1);
    expect(await store.exists('del/two')).toBe(false);
  });

  it('keeps immutable keys immutable, but lets an identical retry through', async () => {
    await store.put('imm/artifact', 'v1', { immutable: true });
    await expect(store.put('imm/artifact', 'v1', { immutable: true })).resolves.toMatchObject({ size: 2 });
    await expect(store.put('imm/artifact', 'v2', { immutable: true })).rejects.toBeInstanceOf(
      ImmutableObjectConflictError,
    );
    expect((await store.get('imm/artifact')).toString()).toBe('v1');
  });

  it('raises ObjectNotFoundError naming the key and location', async () => {
    const error = await store.get('nope/missing.parquet').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ObjectNotFoundError);
    expect((error as Error).message).toContain('nope/missing.parquet');
    expect((error as Error).message).toContain(loadConfig().s3Endpoint);
  });

  it('rejects unsafe keys before any request', async () => {
    await expect(store.put('../escape', 'x')).rejects.toBeInstanceOf(ValidationError);
  });

  it('reports wrong credentials as access denied, without the secret', async () => {
    const bad = testObjectStore({ secretAccessKey: 'wrong-secret-value', maxAttempts: 1 });
    const error = await bad.put('x', 'y').catch((e: unknown) => e);
    bad.close();
    expect(error).toBeInstanceOf(ObjectAccessDeniedError);
    expect((error as Error).message).toContain('S3_SECRET_ACCESS_KEY');
    expect((error as Error).message).not.toContain('wrong-secret-value');
  });

  it('reports an unreachable endpoint as a retryable outage naming the endpoint', async () => {
    const down = testObjectStore({ endpoint: 'http://127.0.0.1:9', maxAttempts: 2 });
    const error = await down.get('x').catch((e: unknown) => e);
    down.close();
    expect(error).toBeInstanceOf(ObjectStoreUnavailableError);
    expect((error as ObjectStoreUnavailableError).retryable).toBe(true);
    expect((error as Error).message).toContain('http://127.0.0.1:9');
  });

  describe('ObjectCache', () => {
    it('fetches an immutable object once and serves later reads locally', async () => {
      await store.put('cache/part-0.parquet', 'columnar bytes', { immutable: true });
      const cache = new ObjectCache(store, { dir: path.join(tmp, 'cache') });
      const [first, second] = await Promise.all([
        cache.localPath('cache/part-0.parquet'),
        cache.localPath('cache/part-0.parquet'),
      ]);
      expect(first).toBe(second);
      expect(fs.readFileSync(first, 'utf8')).toBe('columnar bytes');
      // Gone from the store: the cache still answers, proving no second fetch happens.
      await store.delete('cache/part-0.parquet');
      expect(fs.readFileSync(await cache.localPath('cache/part-0.parquet'), 'utf8')).toBe('columnar bytes');
    });

    it('prunes least-recently-used files above its size limit', async () => {
      await store.put('cache/a', 'x'.repeat(100));
      await store.put('cache/b', 'y'.repeat(100));
      const cache = new ObjectCache(store, { dir: path.join(tmp, 'cache2'), maxBytes: 150 });
      const a = await cache.localPath('cache/a');
      await new Promise((r) => setTimeout(r, 20));
      const b = await cache.localPath('cache/b');
      fs.utimesSync(a, new Date(0), new Date(0));
      expect(await cache.prune()).toBe(100);
      expect(fs.existsSync(a)).toBe(false);
      expect(fs.existsSync(b)).toBe(true);
    });

    it('passes through not-found errors', async () => {
      const cache = new ObjectCache(store, { dir: path.join(tmp, 'cache3') });
      await expect(cache.localPath('cache/none')).rejects.toBeInstanceOf(ObjectNotFoundError);
    });
  });
});
