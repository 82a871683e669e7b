import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../config';
import { openDatabase, tables, type DatabaseHandle } from '../../db';
import { DuckSession } from '../../duckdb';
import { ObjectCache, type S3ObjectStore } from '../../storage';
import { testObjectStore } from '../../../test/support/stores';
import { createCardGroup, loadBatch, rowsOf } from '../../../test/support/featurestore';
import { CommitNotFoundError } from '../errors';
import { OfflineTable } from './offline-table';

// Real PostgreSQL (commit timeline) + real S3 (Parquet files) + DuckDB.
describe('OfflineTable: incremental table with a commit timeline', () => {
  let database: DatabaseHandle;
  let store: S3ObjectStore;
  let cacheDir: string;
  let duck: DuckSession;

  beforeAll(async () => {
    database = await openDatabase({ url: loadConfig().databaseUrl });
    store = testObjectStore();
    cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-cache-'));
    duck = await DuckSession.open({ threads: 2 });
  });
  afterAll(async () => {
    duck.close();
    await store.deletePrefix('');
    store.close();
    await database.close();
    fs.rmSync(cacheDir, { recursive: true, force: true });
  });

  async function newTable() {
    const group = await createCardGroup(database.db);
    // A separate cache per table proves reads come from S3, not from a writer's leftovers.
    return new OfflineTable(
      {
        db: database.db,
        store,
        cache: new ObjectCache(store, { dir: path.join(cacheDir, group.spec.name) }),
      },
      group,
    );
  }

  it('collapses duplicates within a batch (last in input order wins) and keeps history per event time', async () => {
    const table = await newTable();
    await loadBatch(duck, 'b1', [
      ['c1', '2026-01-01 10:00:00', 1, 'a'],
      ['c1', '2026-01-01 10:00:00', 2, 'b'],
      ['c1', '2026-01-01 11:00:00', 3, 'a'],
      ['c2', '2026-01-01 10:00:00', 4, null],
    ]);
    const { commit, reused } = await table.write(duck, 'b1', { operation: 'upsert', idempotencyKey: 'w1' });
    expect(reused).toBe(false);
    expect(commit).toMatchObject({
      state: 'completed',
      sequence: 1,
      rowsInserted: 3,
      rowsUpdated: 0,
      operation: 'upsert',
    });
    expect(commit.files).toHaveLength(1);
    expect(commit.files[0]!.key).toContain(`commit=${commit.id}/`);
    await table.registerSnapshot(duck, 'snap');
    expect(await rowsOf(duck, 'snap')).toEqual([
      ['c1', '2026-01-01 10:00:00', 2, 'b'],
      ['c1', '2026-01-01 11:00:00', 3, 'a'],
      ['c2', '2026-01-01 10:00:00', 4, null],
    ]);
  });

  it('upserts, inserts-if-absent, deletes, time travels and reads incrementally', async () => {
    const table = await newTable();
    await loadBatch(duck, 'b', [
      ['c1', '2026-01-01 10:00:00', 1, 'a'],
      ['c2', '2026-01-01 10:00:00', 2, 'a'],
    ]);
    const c1 = (await table.write(duck, 'b', { operation: 'insert', idempotencyKey: 'c1' })).commit;

    await loadBatch(duck, 'b', [
      ['c1', '2026-01-01 10:00:00', 10, 'z'], // existing key: replaced
      ['c3', '2026-01-01 10:00:00', 3, 'a'],
    ]);
    const c2 = (await table.write(duck, 'b', { operation: 'upsert', idempotencyKey: 'c2' })).commit;
    expect(c2).toMatchObject({ rowsInserted: 1, rowsUpdated: 1 });

    await loadBatch(duck, 'b', [
      ['c1', '2026-01-01 10:00:00', 99, 'x'], // insert never replaces an existing record key
      ['c4', '2026-01-01 10:00:00', 4, 'a'],
    ]);
    const c3 = (await table.write(duck, 'b', { operation: 'insert', idempotencyKey: 'c3' })).commit;
    expect(c3).toMatchObject({ rowsInserted: 1 });

    await loadBatch(duck, 'b', [['c2', '2026-01-01 10:00:00', null, null]]);
    const c4 = (await table.write(duck, 'b', { operation: 'delete', idempotencyKey: 'c4' })).commit;
    expect(c4).toMatchObject({ rowsDeleted: 1, operation: 'delete' });

    await table.registerSnapshot(duck, 'latest');
    expect(await rowsOf(duck, 'latest')).toEqual([
      ['c1', '2026-01-01 10:00:00', 10, 'z'],
      ['c3', '2026-01-01 10:00:00', 3, 'a'],
      ['c4', '2026-01-01 10:00:00', 4, 'a'],
    ]);

    const asOfFirst = await table.registerSnapshot(duck, 'v1', { commitId: c1.id });
    expect(asOfFirst?.id).toBe(c1.id);
    expect(await rowsOf(duck, 'v1')).toEqual([
      ['c1', '2026-01-01 10:00:00', 1, 'a'],
      ['c2', '2026-01-01 10:00:00', 2, 'a'],
    ]);
    await table.registerSnapshot(duck, 'bytime', { time: c2.completedAt! });
    expect((await rowsOf(duck, 'bytime')).map((r) => r[0])).toEqual(['c1', 'c2', 'c3']);
    await expect(table.registerSnapshot(duck, 'x', { time: new Date(0) })).rejects.toBeInstanceOf(
      CommitNotFoundError,
    );

    const changed = await table.registerIncremental(duck, 'inc', c2.id);
    expect(changed.map((c) => c.id)).toEqual([c3.id, c4.id]);
    expect(await rowsOf(duck, 'inc')).toEqual([
      ['c2', '2026-01-01 10:00:00', 2, 'a', 'delete'],
      ['c4', '2026-01-01 10:00:00', 4, 'a', 'upsert'],
    ]);

    const details = await table.commitDetails();
    expect(details.map((c) => c.id)).toEqual([c4.id, c3.id, c2.id, c1.id]);
  });

  it('deletes every event time of a key when the delete batch has no event time', async () => {
    const table = await newTable();
    await loadBatch(duck, 'b', [
      ['c1', '2026-01-01 10:00:00', 1, 'a'],
      ['c1', '2026-01-02 10:00:00', 2, 'a'],
      ['c2', '2026-01-01 10:00:00', 3, 'a'],
    ]);
    await table.write(duck, 'b', { operation: 'upsert', idempotencyKey: 'load' });
    await duck.run(
      `CREATE OR REPLACE TABLE keys AS SELECT 'c1' AS card_id, NULL::TIMESTAMP AS event_time, NULL::DOUBLE AS amount, NULL::VARCHAR AS category, 1 AS _fti_row`,
    );
    const { commit } = await table.write(duck, 'keys', { operation: 'delete', idempotencyKey: 'del' });
    expect(commit.rowsDeleted).toBe(2);
    await table.registerSnapshot(duck, 's');
    expect((await rowsOf(duck, 's')).map((r) => r[0])).toEqual(['c2']);
  });

  it('overwrite replaces the snapshot and keeps older commits for time travel', async () => {
    const table = await newTable();
    await loadBatch(duck, 'b', [['c1', '2026-01-01 10:00:00', 1, 'a']]);
    const first = (await table.write(duck, 'b', { operation: 'upsert', idempotencyKey: 'a' })).commit;
    await loadBatch(duck, 'b', [['c9', '2026-02-01 10:00:00', 9, 'q']]);
    const over = (await table.write(duck, 'b', { operation: 'overwrite', idempotencyKey: 'b' })).commit;
    expect(over.replacedFiles).toEqual(first.files.map((f) => f.key));
    await table.registerSnapshot(duck, 's');
    expect((await rowsOf(duck, 's')).map((r) => r[0])).toEqual(['c9']);
    await table.registerSnapshot(duck, 'old', { commitId: first.id });
    expect((await rowsOf(duck, 'old')).map((r) => r[0])).toEqual(['c1']);
  });

  it('is idempotent per key: a re-run returns the same single commit', async () => {
    const table = await newTable();
    await loadBatch(duck, 'b', [['c1', '2026-01-01 10:00:00', 1, 'a']]);
    const first = await table.write(duck, 'b', { operation: 'upsert', idempotencyKey: 'window-1' });
    const again = await table.write(duck, 'b', { operation: 'upsert', idempotencyKey: 'window-1' });
    expect(again).toEqual({ commit: first.commit, reused: true });
    expect(await table.timeline()).toHaveLength(1);
  });

  it('takes over an abandoned attempt: its files are removed, one commit results', async () => {
    const table = await newTable();
    await loadBatch(duck, 'b', [['c1', '2026-01-01 10:00:00', 1, 'a']]);
    // Simulate a writer that died after uploading: an inflight row and a stray file.
    const { db } = database;
    const [row] = await db
      .insert(tables.featureGroupCommits)
      .values({
        featureGroupId: table.featureGroup.id,
        instant: '19990101000000000',
        operation: 'upsert',
        idempotencyKey: 'crashy',
        state: 'inflight',
      })
      .returning();
    const stray = `${table.prefix}/commit=${row!.id}/part-99999.parquet`;
    await store.put(stray, 'garbage');
    const { commit } = await table.write(duck, 'b', { operation: 'upsert', idempotencyKey: 'crashy' });
    expect(commit.id).toBe(row!.id);
    expect(await store.exists(stray)).toBe(false);
    await table.registerSnapshot(duck, 's');
    expect(await rowsOf(duck, 's')).toEqual([['c1', '2026-01-01 10:00:00', 1, 'a']]);
  });

  it('compaction never changes a query result, as of any commit', async () => {
    const table = await newTable();
    const commits = [];
    for (let i = 0; i < 5; i++) {
      await loadBatch(duck, 'b', [
        [`c${i % 3}`, `2026-01-0${1 + (i % 2)} 10:00:00`, i, 'a'],
        [`c${i}`, '2026-01-03 10:00:00', i * 10, i % 2 ? null : 'b'],
      ]);
      commits.push((await table.write(duck, 'b', { operation: 'upsert', idempotencyKey: `k${i}` })).commit);
    }
    await loadBatch(duck, 'b', [['c1', '2026-01-03 10:00:00', null, null]]);
    commits.push((await table.write(duck, 'b', { operation: 'delete', idempotencyKey: 'd' })).commit);
    const before = [];
    for (const c of commits) {
      await table.registerSnapshot(duck, 'v', { commitId: c.id });
      before.push(await rowsOf(duck, 'v'));
    }
    const compaction = await table.compact(duck);
    expect(compaction).toMatchObject({ operation: 'compaction', rowsInserted: 0 });
    expect(compaction!.replacedFiles).toHaveLength(6);
    for (const [i, c] of commits.entries()) {
      await table.registerSnapshot(duck, 'v', { commitId: c.id });
      expect(await rowsOf(duck, 'v')).toEqual(before[i]);
    }
    await table.registerSnapshot(duck, 'v');
    expect(await rowsOf(duck, 'v')).toEqual(before.at(-1));
    // Compaction carries no changes for incremental readers.
    await table.registerIncremental(duck, 'inc', commits.at(-1)!.id);
    expect(await rowsOf(duck, 'inc')).toEqual([]);
    expect(await table.compact(duck)).toBeUndefined(); // one live file: nothing to do
  });

  it('retention removes replaced files after the configured days; time travel there then fails clearly', async () => {
    const group = await createCardGroup(database.db, { retentionDays: 1 });
    const table = new OfflineTable(
      {
        db: database.db,
        store,
        cache: new ObjectCache(store, { dir: path.join(cacheDir, `${group.spec.name}-r`) }),
      },
      group,
    );
    await loadBatch(duck, 'b', [['c1', '2026-01-01 10:00:00', 1, 'a']]);
    const first = (await table.write(duck, 'b', { operation: 'upsert', idempotencyKey: 'r1' })).commit;
    await loadBatch(duck, 'b', [['c2', '2026-01-01 10:00:00', 2, 'a']]);
    await table.write(duck, 'b', { operation: 'upsert', idempotencyKey: 'r2' });
    await table.compact(duck);
    expect(await table.applyRetention(new Date())).toEqual({ deletedFiles: 0 }); // too recent
    const later = new Date(Date.now() + 2 * 86_400_000);
    expect(await table.applyRetention(later)).toEqual({ deletedFiles: 2 });
    await table.registerSnapshot(duck, 'now');
    expect((await rowsOf(duck, 'now')).map((r) => r[0])).toEqual(['c1', 'c2']);
    const fresh = new OfflineTable(
      {
        db: database.db,
        store,
        cache: new ObjectCache(store, { dir: path.join(cacheDir, `${group.spec.name}-r2`) }),
      },
      group,
    );
    await expect(fresh.registerSnapshot(duck, 'old', { commitId: first.id })).rejects.toThrow(/not found/);
  });
});
