import fs from 'node:fs';
import path from 'node:path';
import type { ObjectInfo, ObjectStore } from '../storage';

/**
 * Staged batches this process just uploaded, kept on local disk for the pipeline's next step.
 *
 * Steps hand batches over through the object store (the next step may run on another worker),
 * but usually the next step runs here, and downloading the file this process uploaded a moment
 * ago cost 0.2–0.4 s per step at 1M rows (bench/ingest). A kept file is used only while the
 * object still has the entity tag and size of the upload that produced it, so a retried step that
 * rewrote the key elsewhere is read from the store, never from a stale local copy. Each file is
 * used once (a retried consumer downloads), and the oldest files go when the handoff holds more
 * than {@link MAX_KEPT} of them, so batches consumed on other workers cannot fill the disk.
 */
interface Kept {
  readonly file: string;
  readonly etag: string;
  readonly size: number;
}

/** At most this many files wait for a step of this process (a few runs in flight at once). */
const MAX_KEPT = 8;
const kept = new Map<string, Kept>();

const slot = (store: ObjectStore, key: string) => `${store.location}\n${key}`;

/** Folders this process has already swept of files left by processes that died. */
const swept = new Set<string>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes kept files of processes that no longer run (a worker killed with files waiting never
 * removes them itself), once per folder and process. Files of live processes stay: several
 * workers may share one scratch folder.
 */
async function sweepDeadProcesses(dir: string): Promise<void> {
  if (swept.has(dir)) return;
  swept.add(dir);
  for (const name of await fs.promises.readdir(dir).catch(() => [] as string[])) {
    const pid = Number(/^handoff-(\d+)-/.exec(name)?.[1]);
    if (pid && pid !== process.pid && !alive(pid))
      await fs.promises.rm(path.join(dir, name), { force: true });
  }
}

/**
 * Moves `file` (the bytes just uploaded as `uploaded`) into `dir` for {@link takeStaged}. Without an
 * entity tag to check it against later, the file is removed instead.
 */
export async function keepStaged(
  store: ObjectStore,
  uploaded: ObjectInfo,
  file: string,
  dir: string,
): Promise<void> {
  if (!uploaded.etag) {
    await fs.promises.rm(file, { force: true });
    return;
  }
  await fs.promises.mkdir(dir, { recursive: true });
  await sweepDeadProcesses(dir);
  const target = path.join(
    dir,
    `handoff-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`,
  );
  await fs.promises.rename(file, target);
  const id = slot(store, uploaded.key);
  const previous = kept.get(id);
  kept.delete(id);
  kept.set(id, { file: target, etag: uploaded.etag, size: uploaded.size });
  if (previous) await fs.promises.rm(previous.file, { force: true });
  while (kept.size > MAX_KEPT) {
    const [oldest, entry] = kept.entries().next().value as [string, Kept];
    kept.delete(oldest);
    await fs.promises.rm(entry.file, { force: true });
  }
}

/**
 * The local file kept for `key`, if this process uploaded it and the object is still those bytes;
 * the caller owns (and removes) the file. Undefined: download it.
 */
export async function takeStaged(store: ObjectStore, key: string): Promise<string | undefined> {
  const id = slot(store, key);
  const entry = kept.get(id);
  if (!entry) return undefined;
  kept.delete(id);
  const current = await store.head(key).catch(() => undefined);
  if (current?.etag === entry.etag && current.size === entry.size) return entry.file;
  await fs.promises.rm(entry.file, { force: true });
  return undefined;
}

/** Removes the kept files of keys under `prefix` (a finished run's staging prefix). */
export async function dropStaged(store: ObjectStore, prefix: string): Promise<void> {
  const start = slot(store, prefix);
  for (const [id, entry] of [...kept]) {
    if (!id.startsWith(start)) continue;
    kept.delete(id);
    await fs.promises.rm(entry.file, { force: true });
  }
}
