import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../config';
import { openDatabase, type DatabaseHandle } from '../../db';
import { DuckSession } from '../../duckdb';
import { ObjectCache, type S3ObjectStore } from '../../storage';
import { testObjectStore } from '../../../test/support/stores';
import { createCardGroup, loadBatch, rowsOf, type CardRow } from '../../../test/support/featurestore';
import { OfflineTable, type SnapshotRead } from './offline-table';
import { keyBucketSql } from './partitioning';

// Real PostgreSQL (commit timeline) + real S3 (Parquet files) + DuckDB: the partitioned layout.
describe('OfflineTable: partitioned layout and partition pruning', () => {
  let database: DatabaseHandle;
  let store: S3ObjectStore;
  let cacheDir: string;
  let duck: DuckSession;

  beforeAll(async () => {
    database = await openDatabase({ url: loadConfig().databaseUrl });
    store = testObjectStore();
    cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-parts-'));
    duck = await DuckSession.open({ threads: 2 });
  });
  afterAll(async () => {
    duck.close();
    await store.deletePrefix('');
    store.close();
    await database.close();
    fs.rmSync(cacheDir, { recursive: true, force: true });
  });

  async function newTable(partitioning: { period?: 'hour' | 'day'; keyBuckets?: number }) {
    const group = await createCardGroup(database.db, { partitioning });
    return new OfflineTable(
      {
        db: database.db,
        store,
        cache: new ObjectCache(store, { dir: path.join(cacheDir, group.spec.name) }),
      },
      group,
    );
  }

  /** Cards c0…c(n−1), one row each per hour of the given days. */
  function hourlyRows(days: readonly string[], hours: readonly number[], cards: number, base = 0): CardRow[] {
    const rows: CardRow[] = [];
    for (const day of days)
      for (const hour of hours)
        for (let c = 0; c < cards; c++)
          rows.push([`c${c}`, `${day} ${String(hour).padStart(2, '0')}:00:00`, base + c + hour, `k${c % 3}`]);
    return rows;
  }

  async function read(table: OfflineTable, filter?: Parameters<OfflineTable['registerSnapshot']>[3]) {
    let opened: SnapshotRead | undefined;
    await table.registerSnapshot(duck, 'v', undefined, { ...filter, onRead: (r) => (opened = r) });
    return { rows: await rowsOf(duck, 'v'), opened: opened! };
  }

  it('writes one file per day and key bucket, each with its partition and event-time bounds', async () => {
    const table = await newTable({ period: 'day', keyBuckets: 4 });
    await loadBatch(duck, 'b', hourlyRows(['2026-03-01', '2026-03-02', '2026-03-03'], [0, 12, 23], 12));
    const { commit } = await table.write(duck, 'b', { operation: 'upsert', idempotencyKey: 'backfill' });
    const expected = await duck.all<{ p: string; n: bigint }>(
      `SELECT 'period=' || strftime(event_time, '%Y-%m-%d') || '/bucket=' || ${keyBucketSql(['card_id'], 4)} AS p,
              count(*) AS n FROM b GROUP BY 1 ORDER BY 1`,
    );
    expect(expected.length).toBeGreaterThan(3 * 2); // three days, several buckets each
    expect(commit.files.map((f) => [f.partition, f.rows]).sort()).toEqual(
      expected.map((e) => [e.p, Number(e.n)]).sort(),
    );
    for (const file of commit.files) {
      expect(file.key).toContain(`/${file.partition}/part-`);
      const day = file.partition!.slice('period='.length, 'period='.length + 10);
      expect(new Date(file.minEventTimeUs! / 1000).toISOString().slice(0, 10)).toBe(day);
      expect(new Date(file.maxEventTimeUs! / 1000).toISOString().slice(0, 10)).toBe(day);
    }
    expect(commit.rowsInserted).toBe(3 * 3 * 12);
    const all = await read(table);
    expect(all.rows).toHaveLength(3 * 3 * 12);
  });

  it('a one-day read opens only that day’s files and returns exactly the full snapshot’s rows of that day', async () => {
    const table = await newTable({ period: 'day' });
    const days = ['2026-03-01', '2026-03-02', '2026-03-03', '2026-03-04'];
    // Hourly commits: history the way a scheduled pipeline writes it.
    for (const day of days)
      for (const hour of [1, 7, 13, 19]) {
        await loadBatch(duck, 'h', hourlyRows([day], [hour], 5));
        await table.write(duck, 'h', { operation: 'upsert', idempotencyKey: `${day}T${hour}` });
      }
    // A correction and a delete on day 2, so the one-day read must resolve versions and tombstones.
    await loadBatch(duck, 'fix', [['c1', '2026-03-02 07:00:00', 999, 'fixed']]);
    await table.write(duck, 'fix', { operation: 'upsert', idempotencyKey: 'fix' });
    await loadBatch(duck, 'del', [['c2', '2026-03-02 13:00:00', null, null]]);
    await table.write(duck, 'del', { operation: 'delete', idempotencyKey: 'del' });

    const full = await read(table);
    const dayTwo = await read(table, {
      filter: {
        eventTime: { start: new Date('2026-03-02T00:00:00Z'), end: new Date('2026-03-03T00:00:00Z') },
      },
    });
    expect(dayTwo.rows).toEqual(full.rows.filter((r) => String(r[1]).startsWith('2026-03-02')));
    expect(dayTwo.rows).toContainEqual(['c1', '2026-03-02 07:00:00', 999, 'fixed']);
    expect(dayTwo.rows.some((r) => r[0] === 'c2' && r[1] === '2026-03-02 13:00:00')).toBe(false);
    // 4 hourly files + the correction + the tombstone of day 2, out of 18.
    expect(dayTwo.opened).toMatchObject({ files: 6, snapshotFiles: 18 });
    expect(dayTwo.opened.bytes).toBeLessThan(full.opened.bytes / 2);
    // A range inside one hour: the row filter makes it exact, whatever the files hold.
    const oneHour = await read(table, {
      filter: {
        eventTime: { start: new Date('2026-03-04T13:00:00Z'), end: new Date('2026-03-04T14:00:00Z') },
      },
    });
    expect(oneHour.rows.map((r) => r[1])).toEqual(Array(5).fill('2026-03-04 13:00:00'));
    expect(oneHour.opened.files).toBe(1);
  });

  it('key-bucket reads return exactly their buckets’ rows, open only their files, and together make the snapshot', async () => {
    const table = await newTable({ keyBuckets: 4 });
    await loadBatch(duck, 'b', hourlyRows(['2026-03-01'], [0, 6], 20));
    await table.write(duck, 'b', { operation: 'upsert', idempotencyKey: 'b' });
    const full = await read(table);
    const union: unknown[][] = [];
    let opened = 0;
    for (let bucket = 0; bucket < 4; bucket++) {
      const part = await read(table, { filter: { keyBuckets: { count: 4, include: [bucket] } } });
      expect(part.opened.files).toBe(1);
      opened += part.opened.files;
      union.push(...part.rows);
    }
    expect(opened).toBe(full.opened.snapshotFiles);
    expect(union.sort()).toEqual([...full.rows].sort());
    // A bucket count other than the layout's still gives exact rows (filtered, not pruned).
    const halves = [
      await read(table, { filter: { keyBuckets: { count: 2, include: [0] } } }),
      await read(table, { filter: { keyBuckets: { count: 2, include: [1] } } }),
    ];
    expect(halves[0]!.opened.files).toBe(4);
    expect([...halves[0]!.rows, ...halves[1]!.rows].sort()).toEqual([...full.rows].sort());
  });

  it('compaction merges within each partition only, keeps every snapshot’s rows, and reads still prune', async () => {
    const table = await newTable({ period: 'day' });
    const commits: number[] = [];
    for (const day of ['2026-03-01', '2026-03-02'])
      for (const hour of [0, 8, 16]) {
        await loadBatch(duck, 'h', hourlyRows([day], [hour], 4, hour));
        commits.push(
          (await table.write(duck, 'h', { operation: 'upsert', idempotencyKey: `${day}T${hour}` })).commit.id,
        );
      }
    await loadBatch(duck, 'del', [['c0', '2026-03-01 08:00:00', null, null]]);
    await table.write(duck, 'del', { operation: 'delete', idempotencyKey: 'del' });
    const before = await read(table);
    const asOfThird = async () => {
      await table.registerSnapshot(duck, 'old', { commitId: commits[2]! });
      return rowsOf(duck, 'old');
    };
    const oldBefore = await asOfThird();

    const compaction = await table.compact(duck);
    expect(compaction?.operation).toBe('compaction');
    expect(compaction!.files.map((f) => f.partition).sort()).toEqual([
      'period=2026-03-01',
      'period=2026-03-02',
    ]);
    const after = await read(table);
    expect(after.rows).toEqual(before.rows);
    expect(after.opened.snapshotFiles).toBe(2);
    expect(await asOfThird()).toEqual(oldBefore);
    const dayOne = await read(table, {
      filter: {
        eventTime: { start: new Date('2026-03-01T00:00:00Z'), end: new Date('2026-03-02T00:00:00Z') },
      },
    });
    expect(dayOne.opened.files).toBe(1);
    expect(dayOne.rows).toEqual(before.rows.filter((r) => String(r[1]).startsWith('2026-03-01')));
    expect(dayOne.rows.some((r) => r[0] === 'c0' && r[1] === '2026-03-01 08:00:00')).toBe(false);
  });

  it('refuses a read filter whose range is reversed or whose bucket is out of range, naming the fix', async () => {
    const table = await newTable({ period: 'day' });
    await expect(
      table.registerSnapshot(duck, 'v', undefined, {
        filter: {
          eventTime: { start: new Date('2026-03-02T00:00:00Z'), end: new Date('2026-03-01T00:00:00Z') },
        },
      }),
    ).rejects.toThrow(/is not before end .*swap them/);
    await expect(
      table.registerSnapshot(duck, 'v', undefined, { filter: { keyBuckets: { count: 4, include: [4] } } }),
    ).rejects.toThrow(/key bucket 4 is outside 0…3/);
  });
});
