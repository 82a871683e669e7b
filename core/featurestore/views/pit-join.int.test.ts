import { loadConfig } from '../../config';
import { openDatabase, type DatabaseHandle } from '../../db';
import { DuckSession } from '../../duckdb';
import type { S3ObjectStore } from '../../storage';
import { testObjectStore } from '../../../test/support/stores';
import { commitRows, createGroup, testViewDeps, type ViewTestDeps } from '../../../test/support/featureviews';
import type { FeatureGroupRecord } from '../feature-group-repository';
import { OfflineTable } from '../offline/offline-table';
import { parseFeatureViewDefinition } from './definition';
import { loadSpine } from './spine-input';
import { materializeView, SPINE_ROW } from './pit-join';
import { resolveFeatureView } from './resolve';

/** Deterministic PRNG so a failing case can be replayed from its seed. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Row = { id: number; event_time: Date; [k: string]: unknown };
type Commit = { op: 'upsert' | 'delete'; rows: Row[] };

// Fifteen minutes before midnight: the 30 random minutes cross an hour and a day, so hour partitions split them.
const BASE = Date.UTC(2025, 11, 31, 23, 45, 0);
const at = (minute: number) => new Date(BASE + minute * 60_000);

/** Reference snapshot: replay commits in order; a record key (id, event time) keeps its latest write. */
function replay(commits: readonly Commit[]): Row[] {
  const state = new Map<string, Row>();
  for (const c of commits)
    for (const r of c.rows) {
      const key = `${r.id}|${r.event_time.getTime()}`;
      if (c.op === 'delete') state.delete(key);
      else state.set(key, r);
    }
  return [...state.values()];
}

/** Reference point-in-time lookup, written the obvious way. */
function asOfLookup(
  rows: readonly Row[],
  id: number,
  time: Date,
  lookbackMs: number | null,
): Row | undefined {
  let best: Row | undefined;
  for (const r of rows) {
    if (r.id !== id || r.event_time.getTime() > time.getTime()) continue;
    if (!best || r.event_time.getTime() > best.event_time.getTime()) best = r;
  }
  if (best && lookbackMs !== null && best.event_time.getTime() < time.getTime() - lookbackMs)
    return undefined;
  return best;
}

describe('point-in-time join vs a reference implementation (real S3 + Postgres + DuckDB)', () => {
  let database: DatabaseHandle;
  let store: S3ObjectStore;
  let deps: ViewTestDeps;
  let duck: DuckSession;

  beforeAll(async () => {
    database = await openDatabase({ url: loadConfig().databaseUrl });
    store = testObjectStore();
    deps = testViewDeps(database, store);
    duck = await DuckSession.open({ threads: 2 });
  });
  afterAll(async () => {
    duck.close();
    await store.deletePrefix('');
    store.close();
    await database.close();
  });

  function randomBatch(rand: () => number, n: number, value: (i: number) => unknown, column: string): Row[] {
    // Few ids and minutes: many equal timestamps across groups and repeated record keys across commits.
    const rows = new Map<string, Row>();
    for (let i = 0; i < n; i++) {
      const row: Row = {
        id: 1 + Math.floor(rand() * 4),
        event_time: at(Math.floor(rand() * 30)),
        [column]: value(i),
      };
      rows.set(`${row.id}|${row.event_time.getTime()}`, row);
    }
    return [...rows.values()];
  }

  async function writeCommits(group: FeatureGroupRecord, commits: Commit[]): Promise<number[]> {
    const ids: number[] = [];
    for (const c of commits) ids.push((await commitRows(deps, group, c.rows, c.op)).id);
    return ids;
  }

  const CASES = 16;
  it.each(Array.from({ length: CASES }, (_, i) => 1000 + i))('random case seed %i', async (seed) => {
    const rand = mulberry32(seed);
    // Layouts rotate per seed: the same join must come out of unpartitioned, key-bucketed and
    // period + bucket partitioned groups alike, with each read narrowed to the range it can use.
    const LAYOUTS = [undefined, { keyBuckets: 3 }, { period: 'hour' as const, keyBuckets: 2 }];
    const layout = (shift: number) => {
      const partitioning = LAYOUTS[(seed + shift) % LAYOUTS.length];
      return partitioning ? { partitioning } : {};
    };
    const numeric = (name: string, shift = 0) => ({
      ...layout(shift),
      prefix: name,
      primaryKey: ['id'],
      eventTime: 'event_time',
      features: [
        { name: 'id', type: 'int' as const },
        { name: 'event_time', type: 'timestamp' as const },
        { name, type: 'double' as const },
      ],
    });
    const labels = await createGroup(deps, {
      ...numeric('label'),
      features: [
        { name: 'id', type: 'int' },
        { name: 'event_time', type: 'timestamp' },
        { name: 'label', type: 'bigint' },
      ],
    });
    const ga = await createGroup(deps, numeric('a', 1));
    const gb = await createGroup(deps, numeric('b', 2));

    const spineCommits: Commit[] = [{ op: 'upsert', rows: randomBatch(rand, 15, (i) => i, 'label') }];
    let counter = 0;
    const makeCommits = (column: string): Commit[] => {
      const commits: Commit[] = [];
      for (let c = 0; c < 3; c++) {
        const rows = randomBatch(rand, 4 + Math.floor(rand() * 6), () => ++counter + rand(), column);
        commits.push({ op: 'upsert', rows });
      }
      // Late data and deletes: the last commit removes some earlier record keys.
      const victims = replay(commits).filter(() => rand() < 0.3);
      if (victims.length) commits.push({ op: 'delete', rows: victims });
      return commits;
    };
    const aCommits = makeCommits('a');
    const bCommits = makeCommits('b');
    await writeCommits(labels, spineCommits);
    const aIds = await writeCommits(ga, aCommits);
    const bIds = await writeCommits(gb, bCommits);

    const lookbackB = rand() < 0.5 ? null : 5;
    const definition = parseFeatureViewDefinition({
      name: 'pit_case',
      spine: { featureGroup: { name: labels.spec.name } },
      labels: ['label'],
      joins: [
        { featureGroup: { name: ga.spec.name }, prefix: 'x_' },
        {
          featureGroup: { name: gb.spec.name },
          prefix: 'y_',
          ...(lookbackB ? { lookback: `${lookbackB}m` } : {}),
        },
      ],
    });
    const view = resolveFeatureView(definition, 1, labels, [ga, gb]);

    // Time travel: read group a at a random commit, b at its head.
    const aPin = Math.floor(rand() * aIds.length);
    const pins = {
      [labels.id]: (await new OfflineTable(deps, labels).timeline()).at(-1)!.id,
      [ga.id]: aIds[aPin]!,
      [gb.id]: bIds.at(-1)!,
    };
    const materialize = (output: string, ordered?: boolean) =>
      materializeView(duck, deps, view, {
        pins,
        spine: { kind: 'group' },
        output,
        purpose: 'training',
        onDemand: deps.onDemand,
        scratchDir: deps.scratchDir,
        ...(ordered === undefined ? {} : { ordered }),
      });
    const spineRows = {
      n: await materialize('pit_out'),
      rows: await duck.all<Record<string, unknown>>(`SELECT * FROM pit_out ORDER BY ${SPINE_ROW}`),
    };
    // The default output is stored in spine-row order; `ordered: false` holds the same rows and numbers.
    const stored = await duck.all<{ r: bigint }>(`SELECT ${SPINE_ROW} AS r FROM pit_out`);
    expect(stored.map((x) => Number(x.r))).toEqual(spineRows.rows.map((_, i) => i + 1));
    expect(await materialize('pit_out_unordered', false)).toBe(spineRows.n);
    expect(
      await duck.all<Record<string, unknown>>(`SELECT * FROM pit_out_unordered ORDER BY ${SPINE_ROW}`),
    ).toEqual(spineRows.rows);

    const spine = replay(spineCommits);
    const aSnap = replay(aCommits.slice(0, aPin + 1));
    const bSnap = replay(bCommits);
    expect(spineRows.n).toBe(spine.length);
    const expected = spine
      .map((s) => ({
        id: s.id,
        event_time: s.event_time.getTime(),
        label: BigInt(s.label as number),
        x_a: asOfLookup(aSnap, s.id, s.event_time, null)?.a ?? null,
        y_b: asOfLookup(bSnap, s.id, s.event_time, lookbackB === null ? null : lookbackB * 60_000)?.b ?? null,
      }))
      .sort((p, q) => p.event_time - q.event_time || p.id - q.id);
    const actual = spineRows.rows.map((r) => ({
      id: r.id,
      event_time: (r.event_time as Date).getTime(),
      label: r.label,
      x_a: r.x_a,
      y_b: r.y_b,
    }));
    expect(actual).toEqual(expected);
  });

  it('a caller spine keeps every row — duplicates, equal times, unknown keys — in a deterministic order', async () => {
    const g = await createGroup(deps, {
      prefix: 'v',
      primaryKey: ['id'],
      eventTime: 'event_time',
      features: [
        { name: 'id', type: 'int' },
        { name: 'event_time', type: 'timestamp' },
        { name: 'v', type: 'double' },
      ],
    });
    const commit = await commitRows(deps, g, [
      { id: 1, event_time: at(10), v: 1 },
      { id: 1, event_time: at(20), v: 2 },
      { id: 2, event_time: at(10), v: 3 },
    ]);
    const definition = parseFeatureViewDefinition({
      name: 'spine_table',
      spine: {
        columns: [
          { name: 'id', type: 'int' },
          { name: 'ts', type: 'timestamp' },
        ],
        eventTime: 'ts',
      },
      joins: [{ featureGroup: g.spec.name }],
    });
    const view = resolveFeatureView(definition, 1, undefined, [g]);
    await loadSpine(
      duck,
      deps,
      {
        rows: [
          { id: 1, ts: at(20) },
          { id: 1, ts: at(20) },
          { id: 1, ts: at(19) },
          { id: 2, ts: at(5) },
          { id: 9, ts: at(30) },
        ],
      },
      'caller_spine',
    );
    await materializeView(duck, deps, view, {
      pins: { [g.id]: commit.id },
      spine: { kind: 'relation', relation: 'caller_spine' },
      output: 'spine_out',
      purpose: 'training',
      onDemand: deps.onDemand,
      scratchDir: deps.scratchDir,
    });
    const rows = await duck.all<{ id: number; ts: Date; v: number | null }>(
      `SELECT id, ts, v FROM spine_out ORDER BY ${SPINE_ROW}`,
    );
    expect(rows.map((r) => [r.id, r.ts.getTime(), r.v])).toEqual([
      [2, at(5).getTime(), null],
      [1, at(19).getTime(), 1],
      [1, at(20).getTime(), 2],
      [1, at(20).getTime(), 2],
      [9, at(30).getTime(), null],
    ]);
  });
});
