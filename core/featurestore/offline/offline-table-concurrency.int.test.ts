import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../config';
import { openDatabase, type DatabaseHandle } from '../../db';
import { DuckSession } from '../../duckdb';
import { ObjectCache, type S3ObjectStore } from '../../storage';
import { testObjectStore } from '../../../test/support/stores';
import { createCardGroup, loadBatch, rowsOf, type CardRow } from '../../../test/support/featurestore';
import { seededRandom } from '../../ml/random';
import { CommitFencedError } from '../errors';
import { CommitLog } from './commit-log';
import { liveFilesOf, type WriteOperation } from './commits';
import { OfflineTable } from './offline-table';

/** Rows compared as sorted JSON strings, the same way for the table and the reference. */
const canonical = (rows: readonly (readonly unknown[])[]) => rows.map((r) => JSON.stringify(r)).sort();

// Real PostgreSQL + real S3 + DuckDB: writers, compaction and the cleaner racing on one group.
describe('OfflineTable under concurrency: fencing and compaction', () => {
  let database: DatabaseHandle;
  let store: S3ObjectStore;
  let cacheDir: string;
  const sessions: DuckSession[] = [];

  beforeAll(async () => {
    database = await openDatabase({ url: loadConfig().databaseUrl, maxConnections: 20 });
    store = testObjectStore();
    cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-cache-'));
  });
  afterAll(async () => {
    sessions.forEach((s) => s.close());
    store.close();
    await database.close();
    fs.rmSync(cacheDir, { recursive: true, force: true });
  });

  async function duck(): Promise<DuckSession> {
    const session = await DuckSession.open({ threads: 1 });
    sessions.push(session);
    return session;
  }

  async function newTable() {
    const group = await createCardGroup(database.db);
    const cache = new ObjectCache(store, { dir: path.join(cacheDir, group.spec.name) });
    return new OfflineTable({ db: database.db, store, cache }, group);
  }

  async function snapshot(table: OfflineTable, session: DuckSession, commitId?: number) {
    await table.registerSnapshot(session, 'snap', commitId === undefined ? undefined : { commitId });
    return canonical(await rowsOf(session, 'snap'));
  }

  it('a commit that completes while compaction runs keeps its upsert and its delete', async () => {
    const table = await newTable();
    const [d1, d2] = [await duck(), await duck()];
    await loadBatch(d1, 'a', [['c1', '2026-01-01 10:00:00', 1, 'x']]);
    await table.write(d1, 'a', { operation: 'upsert', idempotencyKey: 'a' });
    await loadBatch(d1, 'b', [['c2', '2026-01-01 10:00:00', 2, 'y']]);
    await table.write(d1, 'b', { operation: 'upsert', idempotencyKey: 'b' });

    const compaction = await table.compact(d1, {
      onProgress: async (phase) => {
        if (phase !== 'merged') return;
        // Completes after the compaction read its inputs and before it completes.
        await loadBatch(d2, 'u', [['c1', '2026-01-01 10:00:00', 100, 'x']]);
        await table.write(d2, 'u', { operation: 'upsert', idempotencyKey: 'u' });
        await loadBatch(d2, 'd', [['c2', '2026-01-01 10:00:00', 2, 'y']]);
        await table.write(d2, 'd', { operation: 'delete', idempotencyKey: 'd' });
      },
    });
    expect(compaction).toMatchObject({ operation: 'compaction', sequence: 5 });
    expect(await snapshot(table, d1)).toEqual(canonical([['c1', '2026-01-01 10:00:00', 100, 'x']]));
  });

  it('a stale attempt cannot complete, and never removes the live attempt’s files', async () => {
    const table = await newTable();
    const session = await duck();
    const log = new CommitLog(database.db, table.featureGroup.id, 'test');
    const stale = await log.begin({ operation: 'upsert', idempotencyKey: 'w' });
    // The newer attempt (a Temporal retry after a missed heartbeat) takes the commit over.
    await loadBatch(session, 'b', [['c1', '2026-01-01 10:00:00', 1, 'a']]);
    const { commit } = await table.write(session, 'b', { operation: 'upsert', idempotencyKey: 'w' });
    expect(commit).toMatchObject({ id: stale.commitId, attempt: stale.attempt + 1, state: 'completed' });
    await expect(
      log.complete(stale, {
        files: [],
        rowsInserted: 0,
        rowsUpdated: 0,
        rowsDeleted: 0,
        dependency: { kind: 'blind' },
      }),
    ).rejects.toBeInstanceOf(CommitFencedError);
    // The stale attempt's own upload lands in its own prefix; the cleaner removes it, not the live file.
    const strayKey = `${table.prefix}/commit=${stale.commitId}/attempt=${stale.attempt}/part-00000.parquet`;
    await store.put(strayKey, 'late upload of a fenced attempt');
    await table.cleanAbandoned();
    expect(await store.exists(strayKey)).toBe(false);
    expect(await store.exists(commit.files[0]!.key)).toBe(true);
    expect(await snapshot(table, session)).toEqual(canonical([['c1', '2026-01-01 10:00:00', 1, 'a']]));
  });

  it('the cleaner spares a writer that heartbeats and fences one that went silent', async () => {
    const table = await newTable();
    const log = new CommitLog(database.db, table.featureGroup.id, 'test');
    const alive = await log.begin({ operation: 'upsert', idempotencyKey: 'slow' });
    await new Promise((r) => setTimeout(r, 700));
    expect(await log.heartbeat(alive)).toBe(true);
    expect(await table.cleanAbandoned(500)).toBe(0); // created 700 ms ago, but heartbeating
    await new Promise((r) => setTimeout(r, 700));
    expect(await table.cleanAbandoned(500)).toBe(1); // silent for 700 ms
    expect(await log.heartbeat(alive)).toBe(false);
    await expect(
      log.complete(alive, {
        files: [],
        rowsInserted: 0,
        rowsUpdated: 0,
        rowsDeleted: 0,
        dependency: { kind: 'blind' },
      }),
    ).rejects.toBeInstanceOf(CommitFencedError);
  });

  it('randomized concurrent writers with compaction: every snapshot equals the serial reference, as of every commit', async () => {
    const seed = Number(process.env.FTI_TEST_SEED ?? 20261130);
    const random = seededRandom(seed);
    const table = await newTable();
    const writers = 4;
    const opsPerWriter = 6;
    const cards = ['c0', 'c1', 'c2', 'c3', 'c4'];
    const hours = ['10', '11', '12', '13'];
    type Op = { key: string; operation: WriteOperation; rows: CardRow[] };
    const ops = new Map<string, Op>();
    const plans: Op[][] = [];
    for (let w = 0; w < writers; w++) {
      const plan: Op[] = [];
      for (let i = 0; i < opsPerWriter; i++) {
        const roll = random();
        const operation: WriteOperation = roll < 0.6 ? 'upsert' : roll < 0.8 ? 'insert' : 'delete';
        const rows: CardRow[] = Array.from({ length: 1 + Math.floor(random() * 4) }, () => [
          cards[Math.floor(random() * cards.length)]!,
          `2026-01-01 ${hours[Math.floor(random() * hours.length)]}:00:00`,
          Math.round(random() * 1000),
          random() < 0.2 ? null : `w${w}`,
        ]);
        const op = { key: `w${w}-op${i}`, operation, rows };
        plan.push(op);
        ops.set(op.key, op);
      }
      plans.push(plan);
    }

    let writing = true;
    let compactions = 0;
    const compactor = (async () => {
      const session = await duck();
      while (writing) {
        if (await table.compact(session, { minFiles: 2, idempotencyKey: `compaction-${compactions}` }))
          compactions++;
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    await Promise.all(
      plans.map(async (plan, w) => {
        const session = await duck();
        for (const op of plan) {
          await loadBatch(session, `batch_${w}`, op.rows);
          await table.write(session, `batch_${w}`, { operation: op.operation, idempotencyKey: op.key });
        }
      }),
    );
    writing = false;
    await compactor;

    // Replay the writes in timeline order on a plain reference and compare at every commit.
    const timeline = await table.timeline();
    expect(timeline.map((c) => c.sequence)).toEqual(timeline.map((_, i) => i + 1));
    expect(timeline.filter((c) => c.operation !== 'compaction')).toHaveLength(writers * opsPerWriter);
    const reference = new Map<string, CardRow>();
    const session = await duck();
    for (const commit of timeline) {
      const op = ops.get(commit.idempotencyKey);
      if (op) {
        const batch = new Map<string, CardRow>();
        for (const row of op.rows) batch.set(`${row[0]}|${row[1]}`, row);
        for (const [key, row] of batch) {
          if (op.operation === 'upsert') reference.set(key, row);
          else if (op.operation === 'insert' && !reference.has(key)) reference.set(key, row);
          else if (op.operation === 'delete') reference.delete(key);
        }
      }
      const expected = canonical([...reference.values()]);
      expect({ seed, commit: commit.sequence, rows: await snapshot(table, session, commit.id) }).toEqual({
        seed,
        commit: commit.sequence,
        rows: expected,
      });
    }
    expect(compactions).toBeGreaterThan(0);
    // The live-file list that writers and head reads use equals the timeline replayed.
    const log = new CommitLog(database.db, table.featureGroup.id, 'test');
    const { head, files } = await log.headSnapshot();
    expect(head?.id).toBe(timeline.at(-1)!.id);
    expect(files.map((f) => [f.key, f.sequence]).sort()).toEqual(
      liveFilesOf(timeline)
        .map((f) => [f.key, f.sequence])
        .sort(),
    );
  });
});
