import fs from 'node:fs';
import path from 'node:path';
import { assertObjectKey } from './keys';
import type { ObjectStore } from './object-store';
import { mapLimited } from '../concurrency';

/** Options for {@link ObjectCache}. */
export interface ObjectCacheOptions {
  /** Folder holding cached files; created on demand. */
  dir: string;
  /** Above this many bytes, {@link ObjectCache.prune} removes least-recently-used files. @default 10 GiB */
  maxBytes?: number;
}

/**
 * A local read-through cache for **immutable** objects (commit files, dataset files, model artifacts):
 * a key, once cached, is never re-fetched, because immutable keys never change content. DuckDB and
 * onnxruntime read the returned local paths. Safe across processes: files appear atomically
 * (download to a temp name, then rename), so a reader never sees a partial file.
 */
export class ObjectCache {
  private readonly dir: string;
  private readonly maxBytes: number;
  private readonly inflight = new Map<string, Promise<string>>();

  constructor(
    private readonly store: ObjectStore,
    options: ObjectCacheOptions,
  ) {
    // Separate stores (endpoints/buckets) must not share cached keys.
    const scope = store.location.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 120);
    this.dir = path.join(options.dir, scope);
    this.maxBytes = options.maxBytes ?? 10 * 1024 ** 3;
  }

  /** Local path of the object, fetching it on first use. Concurrent calls for one key share a fetch. */
  async localPath(key: string): Promise<string> {
    const target = path.join(this.dir, assertObjectKey(key));
    const pending = this.inflight.get(target);
    if (pending) return pending;
    const fetch = (async () => {
      try {
        const now = new Date();
        await fs.promises.utimes(target, now, now);
        return target;
      } catch {
        await this.store.download(key, target);
        return target;
      }
    })().finally(() => this.inflight.delete(target));
    this.inflight.set(target, fetch);
    return fetch;
  }

  /**
   * Moves a local file that was just uploaded under `key` into the cache, so the writer's next read
   * costs no download. The file must hold exactly the object's bytes.
   */
  async adopt(key: string, filePath: string): Promise<string> {
    const target = path.join(this.dir, assertObjectKey(key));
    await fs.promises.mkdir(path.dirname(target), { recursive: true });
    try {
      await fs.promises.rename(filePath, target);
    } catch {
      // Different filesystem: copy instead.
      await fs.promises.copyFile(filePath, `${target}.adopt.part`);
      await fs.promises.rename(`${target}.adopt.part`, target);
      await fs.promises.rm(filePath, { force: true });
    }
    return target;
  }

  /** A fresh scratch file path inside the cache's filesystem (for files about to be uploaded). */
  async scratchPath(name: string): Promise<string> {
    const dir = path.join(this.dir, '.scratch');
    await fs.promises.mkdir(dir, { recursive: true });
    return path.join(dir, `${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}-${name}`);
  }

  /** Local paths of many objects, fetched with bounded parallelism, in input order. */
  async localPaths(keys: readonly string[], concurrency = 4): Promise<string[]> {
    return mapLimited(keys, concurrency, (key) => this.localPath(key));
  }

  /** Removes least-recently-used files until the cache is under its size limit; returns bytes freed. */
  async prune(): Promise<number> {
    const files = await listFiles(this.dir);
    let total = files.reduce((sum, f) => sum + f.size, 0);
    let freed = 0;
    for (const file of files.sort((a, b) => a.atimeMs - b.atimeMs)) {
      if (total <= this.maxBytes) break;
      await fs.promises.rm(file.path, { force: true });
      total -= file.size;
      freed += file.size;
    }
    return freed;
  }
}

async function listFiles(dir: string): Promise<{ path: string; size: number; atimeMs: number }[]> {
  const out: { path: string; size: number; atimeMs: number }[] = [];
  let entries: fs.Dirent[];
  try {
    entries = await fs.promises.readdir(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(full)));
    else if (!entry.name.endsWith('.part')) {
      const stat = await fs.promises.stat(full);
      out.push({ path: full, size: stat.size, atimeMs: stat.atimeMs });
    }
  }
  return out;
}
