import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { loadConfig } from '../../core/config';
import { openDatabase, tables, type DatabaseHandle } from '../../core/db';
import { withDuck } from '../../core/duckdb';
import { OfflineTable, type CommitInfo, type FeatureGroupRecord } from '../../core/featurestore';
import { ObjectCache, type S3ObjectStore } from '../../core/storage';
import { chaosRandom, sleep } from '../support/chaos';
import { createCardGroup, loadBatch, type CardRow } from '../support/featurestore';
import { testObjectStore } from '../support/stores';

const WRITERS = 8;
const WINDOWS_PER_WRITER = 3;
const CARDS = 40;
const TIMES = ['2026-01-01 00:00:00', '2026-01-01 01:00:00', '2026-01-01 02:00:00'];
/** Writer 7 deletes (tombstones) instead of upserting, so undone deletes show too. */
const DELETER = WRITERS - 1;

interface Batch {
  readonly key: string;
  readonly operation: 'upsert' | 'delete';
  readonly rows: readonly CardRow[];
}

/** Record key (primary key + event time) of a row. */
const recordKey = (row: CardRow) => `${row[0]}|${row[1]}`;

// Chaos: 8 writers commit 3 windows each into ONE feature group at the same time, through the real
// offline table (PostgreSQL timeline + S3 files), while a compactor merges small files in a loop.
// The timeline must stay linear (sequences 1..N, no gaps; each window exactly one commit), and no
// update may be lost: the snapshot as of every commit equals a reference computed by applying the
// batches in commit (sequence) order, and so does the final snapshot.
describe('chaos: 8 concurrent writers on one feature group with compaction running', () => {
  let database: DatabaseHandle;
  let store: S3ObjectStore;
  let group: FeatureGroupRecord;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-chaos-cw-'));

  beforeAll(async () => {
    database = await openDatabase({ url: loadConfig().databaseUrl });
    store = testObjectStore();
    group = await createCardGroup(database.db, { online: { enabled: false } });
  });
  afterAll(async () => {
    await store.deletePrefix('');
    store.close();
    await database.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('keeps a linear timeline and every snapshot equal to the batches applied in commit order', async () => {
    const { random } = chaosRandom('concurrent-writers');
    const table = () =>
      new OfflineTable(
        { db: database.db, store, cache: new ObjectCache(store, { dir: path.join(dir, 'cache') }) },
        group,
      );
    // Every batch touches a random half of the record keys, so writers overwrite each other's rows.
    const batches: Batch[][] = [];
    for (let w = 0; w < WRITERS; w++) {
      const mine: Batch[] = [];
      for (let k = 0; k < WINDOWS_PER_WRITER; k++) {
        const rows: CardRow[] = [];
        for (let c = 0; c < CARDS; c++) {
          for (const t of TIMES) {
            if (random() < 0.5) rows.push([`c${c}`, t, w * 1000 + k * 100 + c, `w${w}k${k}`]);
          }
        }
        mine.push({ key: `writer-${w}:window-${k}`, operation: w === DELETER ? 'delete' : 'upsert', rows });
      }
      batches.push(mine);
    }
    const byKey = new Map(batches.flat().map((b) => [b.key, b]));

    let writing = true;
    let compactions = 0;
    const compactor = (async () => {
      while (writing) {
        const done = await withDuck((duck) => table().compact(duck, { minFiles: 2 }));
        if (done) compactions++;
        await sleep(Math.floor(random() * 200));
      }
    })();
    try {
      await Promise.all(
        batches.map(async (mine) => {
          for (const batch of mine) {
            await sleep(Math.floor(random() * 300));
            await withDuck(async (duck) => {
              await loadBatch(duck, 'batch', batch.rows);
              await table().write(duck, 'batch', { operation: batch.operation, idempotencyKey: batch.key });
            });
          }
        }),
      );
    } finally {
      writing = false;
      await compactor;
    }

    const t = tables.featureGroupCommits;
    const rows = await database.db.select().from(t).where(eq(t.featureGroupId, group.id));
    const completed = rows.filter((r) => r.state === 'completed').sort((a, b) => a.sequence! - b.sequence!);
    // Linear timeline: completed commits hold sequences 1..N with no gaps or duplicates.
    expect(completed.map((c) => c.sequence)).toEqual(completed.map((_, i) => i + 1));
    // Each window exactly one commit.
    const dataCommits = completed.filter((c) => c.operation !== 'compaction');
    expect(dataCommits.map((c) => c.idempotencyKey).sort()).toEqual([...byKey.keys()].sort());
    expect(rows.filter((r) => r.state === 'inflight' || r.state === 'requested')).toEqual([]);

    // Reference: apply the batches in sequence order; compare the snapshot as of every commit.
    const reference = new Map<string, CardRow>();
    const mismatches: string[] = [];
    let lost = 0;
    let extra = 0;
    await withDuck(async (duck) => {
      for (const commit of completed) {
        const batch = byKey.get(commit.idempotencyKey);
        if (batch) {
          for (const row of batch.rows) {
            if (batch.operation === 'delete') reference.delete(recordKey(row));
            else reference.set(recordKey(row), row);
          }
        }
        await duck.run('DROP VIEW IF EXISTS snap');
        await table().registerSnapshot(duck, 'snap', { commitId: commit.id });
        const got = await duck.all<{ card_id: string; ts: string; amount: number; category: string }>(
          `SELECT card_id, strftime(event_time, '%Y-%m-%d %H:%M:%S') AS ts, amount, category FROM snap`,
        );
        const actual = new Map(
          got.map((r) => [`${r.card_id}|${r.ts}`, [r.card_id, r.ts, r.amount, r.category]]),
        );
        let missing = 0;
        let wrong = 0;
        for (const [key, row] of reference) {
          const a = actual.get(key);
          if (!a) missing++;
          else if (a[2] !== row[2] || a[3] !== row[3]) wrong++;
        }
        const surplus = [...actual.keys()].filter((k) => !reference.has(k)).length;
        if (missing + wrong + surplus > 0) {
          mismatches.push(
            `as of sequence ${commit.sequence} (${commit.operation} ${commit.idempotencyKey}): ${missing} missing, ${wrong} stale, ${surplus} resurrected`,
          );
        }
        if (commit === completed.at(-1)) {
          lost = missing + wrong;
          extra = surplus;
        }
      }
    });
    const last = (await table().timeline()).at(-1) as CommitInfo;
    expect(last.sequence).toBe(completed.length);
    console.log(
      `concurrent-writers: ${WRITERS} writers × ${WINDOWS_PER_WRITER} windows, ${compactions} compactions, ${completed.length} commits; final rows lost ${lost}, resurrected ${extra}; ${mismatches.length} bad snapshots`,
    );
    expect(mismatches).toEqual([]);
  }, 240_000);
});
