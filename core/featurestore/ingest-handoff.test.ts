import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ObjectInfo, ObjectStore } from '../storage';
import { dropStaged, keepStaged, takeStaged } from './ingest-handoff';

/** Just enough of a store: a location and the objects' current ETags. */
function fakeStore(location: string) {
  const objects = new Map<string, ObjectInfo>();
  const store = {
    location,
    head: async (key: string) => objects.get(key),
  } as unknown as ObjectStore;
  const put = (key: string, etag: string, size = 5): ObjectInfo => {
    const info = { key, size, etag, lastModified: undefined };
    objects.set(key, info);
    return info;
  };
  return { store, put };
}

describe('staged-batch handoff between steps of one process', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-handoff-'));
  const file = (name: string) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, 'bytes');
    return f;
  };
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('hands the uploaded file over once, while the object still has the upload’s ETag and size', async () => {
    const { store, put } = fakeStore('s3://a');
    await keepStaged(store, put('run/1/raw.parquet', 'e1'), file('one'), path.join(dir, 'kept'));
    const kept = await takeStaged(store, 'run/1/raw.parquet');
    expect(kept && fs.readFileSync(kept, 'utf8')).toBe('bytes');
    expect(await takeStaged(store, 'run/1/raw.parquet')).toBeUndefined();
  });

  it('never hands over a stale copy: rewritten elsewhere (other ETag) or another store → download', async () => {
    const { store, put } = fakeStore('s3://a');
    await keepStaged(store, put('run/2/raw.parquet', 'e1'), file('two'), path.join(dir, 'kept'));
    put('run/2/raw.parquet', 'e2'); // a retry on another worker rewrote the key
    expect(await takeStaged(store, 'run/2/raw.parquet')).toBeUndefined();
    await keepStaged(store, put('run/3/raw.parquet', 'e1'), file('three'), path.join(dir, 'kept'));
    expect(await takeStaged(fakeStore('s3://b').store, 'run/3/raw.parquet')).toBeUndefined();
  });

  it('keeps no file without an ETag, drops a finished run’s files, and holds at most 8', async () => {
    const { store, put } = fakeStore('s3://c');
    const noTag = file('notag');
    await keepStaged(
      store,
      { ...put('run/4/raw.parquet', ''), etag: undefined },
      noTag,
      path.join(dir, 'kept'),
    );
    expect(fs.existsSync(noTag)).toBe(false);
    expect(await takeStaged(store, 'run/4/raw.parquet')).toBeUndefined();

    await keepStaged(store, put('run/5/staged.parquet', 'e5'), file('five'), path.join(dir, 'kept'));
    await dropStaged(store, 'run/5/');
    expect(await takeStaged(store, 'run/5/staged.parquet')).toBeUndefined();

    for (let i = 0; i < 10; i++)
      await keepStaged(store, put(`many/${i}`, `e${i}`), file(`many-${i}`), path.join(dir, 'kept'));
    expect(await takeStaged(store, 'many/0')).toBeUndefined();
    expect(await takeStaged(store, 'many/1')).toBeUndefined();
    expect(await takeStaged(store, 'many/9')).toBeDefined();
  });

  it('removes files left by a process that died, and keeps those of live processes', async () => {
    const kept = path.join(dir, 'sweep');
    fs.mkdirSync(kept, { recursive: true });
    const child = spawnSync(process.execPath, ['-e', '0']);
    const dead = path.join(kept, `handoff-${child.pid}-1-x`);
    const live = path.join(kept, `handoff-${process.ppid}-1-y`);
    fs.writeFileSync(dead, 'left by a killed worker');
    fs.writeFileSync(live, 'another worker is waiting on this');
    const { store, put } = fakeStore('s3://sweep');
    await keepStaged(store, put('run/9/raw.parquet', 'e9'), file('nine'), kept);
    expect(fs.existsSync(dead)).toBe(false);
    expect(fs.existsSync(live)).toBe(true);
  });
});
