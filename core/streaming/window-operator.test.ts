import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import { withDuck } from '../duckdb';
import { ValidationError } from '../errors';
import { windowAggregation, type WindowAggregationSpec } from '../featurestore/transformations';
import { WindowOperator, WindowSnapshotError, type AddResult, type OperatorRow } from './window-operator';

type Event = {
  card_id: string;
  region: number;
  ts: string;
  amount: number | null;
  qty: number | null;
  city: string | null;
  merchant: string | null;
};

const SPEC: WindowAggregationSpec = {
  partitionBy: ['card_id', 'region'],
  timeColumn: 'ts',
  keep: ['merchant'],
  timeOffset: '1ms',
  features: [
    { name: 'n_10s', fn: 'count', window: '10s' },
    { name: 'n_amount_5s', fn: 'count', column: 'amount', window: '5s' },
    { name: 'sum_amount_30s', fn: 'sum', column: 'amount', window: '30s' },
    { name: 'mean_amount_1m', fn: 'mean', column: 'amount', window: '1m' },
    { name: 'min_amount_1500ms', fn: 'min', column: 'amount', window: '1500ms' },
    { name: 'max_qty_10s', fn: 'max', column: 'qty', window: '10s' },
    { name: 'sd_amount_30s', fn: 'stddev', column: 'amount', window: '30s' },
    { name: 'last_city_20s', fn: 'last', column: 'city', window: '20s' },
    { name: 'last_amount_2s', fn: 'last', column: 'amount', window: '2s' },
  ],
};
const LATENESS_MS = 5_000;
const LONGEST_MS = 60_000;
const EXACT = new Set(['card_id', 'region', 'ts', 'merchant', 'n_10s', 'n_amount_5s', 'max_qty_10s']);
const EXACT_TOO = new Set(['min_amount_1500ms', 'last_city_20s', 'last_amount_2s']);

/** mulberry32: a small seeded PRNG, so a failing sequence can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Events in arrival order, none late: the clock moves 0–2.75 s (often 0: ties), some events are older
 * than the newest (within the lateness), some repeat an earlier time of their key exactly, and one
 * key goes quiet for long stretches (so its state is dropped and rebuilt).
 */
function randomEvents(seed: number, count: number): Event[] {
  const rand = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const cities = ['berlin', 'paris', 'rome', null];
  const events: Event[] = [];
  const seen = new Map<string, number[]>();
  let clock = Date.parse('2026-03-01T00:00:00.000Z');
  for (let i = 0; i < count; i += 1) {
    // A 250 ms grid makes window edges (an event exactly `window` before a row) frequent.
    if (rand() > 0.3) clock += 250 * Math.floor(rand() * 12);
    const card = rand() < 0.03 ? 'quiet' : `c${Math.floor(rand() * 5)}`;
    const region = card === 'quiet' ? 1 : 1 + Math.floor(rand() * 2);
    const id = `${card}/${region}`;
    const watermark = clock - LATENESS_MS;
    let t = clock;
    const roll = rand();
    const mine = (seen.get(id) ?? []).filter((x) => x >= watermark);
    if (roll < 0.2) t = clock - 250 * Math.floor(rand() * (LATENESS_MS / 250 + 1));
    else if (roll < 0.35 && mine.length > 0) t = pick(mine);
    seen.set(id, [...mine, t]);
    events.push({
      card_id: card,
      region,
      ts: new Date(t).toISOString(),
      amount: rand() < 0.15 ? null : Math.round(rand() * 100_000) / 100,
      qty: rand() < 0.2 ? null : Math.floor(rand() * 20) - 5,
      city: pick(cities),
      merchant: rand() < 0.1 ? null : `m${Math.floor(rand() * 50)}`,
    });
  }
  return events;
}

const rowId = (row: Readonly<Record<string, unknown>>) => JSON.stringify([row.card_id, row.region, row.ts]);

/** Feeds events in order; later rows for a (key, time) replace earlier ones, as the stores do. */
function stream(operator: WindowOperator, events: readonly Event[]): Map<string, OperatorRow> {
  const rows = new Map<string, OperatorRow>();
  for (const event of events) {
    const result = operator.add(event);
    if (result.late) throw new Error(`unexpected late event at ${event.ts}`);
    for (const row of result.rows) rows.set(rowId(row), row);
  }
  return rows;
}

/** The batch transformation on the same events (input order = arrival), deduplicated like the offline table. */
async function batch(
  events: readonly Event[],
  spec: WindowAggregationSpec,
): Promise<Map<string, OperatorRow>> {
  const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'fti-window-operator-'));
  try {
    const file = path.join(dir, 'events.jsonl');
    await fs.promises.writeFile(
      file,
      events.map((e, i) => JSON.stringify({ ...e, ts: Date.parse(e.ts), _fti_row: i + 1 })).join('\n'),
    );
    return await withDuck(
      async (duck) => {
        await duck.run(
          `CREATE TABLE raw AS SELECT card_id, region, epoch_ms(ts) AS ts, amount, qty, city, merchant, _fti_row
           FROM read_json($1, format = 'newline_delimited', columns = {card_id: 'VARCHAR', region: 'INTEGER',
             ts: 'BIGINT', amount: 'DOUBLE', qty: 'INTEGER', city: 'VARCHAR', merchant: 'VARCHAR', _fti_row: 'BIGINT'})`,
          [file],
        );
        await windowAggregation(spec).apply('raw', 'out', { duck, scratchDir: dir });
        const rows = await duck.all<Record<string, unknown>>(
          `SELECT * EXCLUDE (_fti_row) FROM out
           QUALIFY row_number() OVER (PARTITION BY card_id, region, ts ORDER BY _fti_row DESC) = 1`,
        );
        const byId = new Map<string, OperatorRow>();
        for (const row of rows) {
          const plain: OperatorRow = {};
          for (const [k, v] of Object.entries(row)) {
            plain[k] = v instanceof Date ? v.toISOString() : typeof v === 'bigint' ? Number(v) : (v as never);
          }
          byId.set(rowId(plain), plain);
        }
        return byId;
      },
      { threads: 1 },
    );
  } finally {
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
}

/** Doubles equal up to summation order: relative 1e-9 (absolute near zero, e.g. a stddev of equal values). */
function close(a: unknown, b: unknown): boolean {
  if (typeof a !== 'number' || typeof b !== 'number') return a === b;
  return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
}

function expectSameRows(got: Map<string, OperatorRow>, want: Map<string, OperatorRow>): void {
  expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
  const mismatches: string[] = [];
  for (const [id, expected] of want) {
    const actual = got.get(id)!;
    expect(Object.keys(actual).sort()).toEqual(Object.keys(expected).sort());
    for (const column of Object.keys(expected)) {
      const exact = EXACT.has(column) || EXACT_TOO.has(column);
      const same = exact ? actual[column] === expected[column] : close(actual[column], expected[column]);
      if (!same)
        mismatches.push(
          `${id} ${column}: stream ${String(actual[column])}, batch ${String(expected[column])}`,
        );
    }
  }
  expect(mismatches).toEqual([]);
}

/**
 * A snapshot's content. Bytes are not compared: V8 may encode an equal number as an integer or a
 * double depending on how the value was last handled.
 */
const state = (bytes: Uint8Array): unknown => v8.deserialize(bytes);

function feed(operator: WindowOperator, events: readonly Event[]): AddResult[] {
  return events.map((e) => operator.add(e));
}

describe('WindowOperator', () => {
  const events = randomEvents(12, 3_000);

  it('the generated stream exercises ties, out-of-order events, nulls and a key that goes quiet', () => {
    let outOfOrder = 0;
    let newest = -Infinity;
    for (const e of events) {
      const t = Date.parse(e.ts);
      if (t < newest) outOfOrder += 1;
      newest = Math.max(newest, t);
    }
    const times = new Set(events.map((e) => `${e.card_id}/${e.region}/${e.ts}`));
    expect(outOfOrder).toBeGreaterThan(300);
    expect(events.length - times.size).toBeGreaterThan(150); // events sharing (key, time) with another
    expect(events.filter((e) => e.amount === null).length).toBeGreaterThan(200);
    expect(events.filter((e) => e.card_id === 'quiet').length).toBeGreaterThan(20);
  });

  it('gives every row the batch windowAggregation gives on the same events, deduplicated like the offline table', async () => {
    const operator = new WindowOperator(SPEC, { allowedLatenessMs: LATENESS_MS });
    const got = stream(operator, events);
    const want = await batch(events, SPEC);
    expect(want.size).toBeGreaterThan(2_000);
    expectSameRows(got, want);
  });

  it('keeps only events inside (watermark − longest window) and drops idle keys, without changing any output', async () => {
    // The equality with batch above holds with eviction running; here we show eviction did run, and
    // that the retained state is exactly what the rule says after every event.
    const operator = new WindowOperator(SPEC, { allowedLatenessMs: LATENESS_MS });
    const accepted: number[] = [];
    let dropped = 0;
    for (const e of events) {
      const keysBefore = operator.stats().keys;
      operator.add(e);
      accepted.push(Date.parse(e.ts));
      const threshold = operator.watermarkMs()! - LONGEST_MS;
      expect(operator.stats().retainedEvents).toBe(accepted.filter((t) => t >= threshold).length);
      if (operator.stats().keys < keysBefore) dropped += 1;
    }
    expect(operator.stats().retainedEvents).toBeLessThan(events.length / 10);
    expect(dropped).toBeGreaterThan(5); // idle keys (the quiet one above all) were dropped and came back
  });

  it('reports events before the watermark as late and leaves the state and later outputs unchanged', () => {
    const clean = new WindowOperator(SPEC, { allowedLatenessMs: LATENESS_MS });
    const withLate = new WindowOperator(SPEC, { allowedLatenessMs: LATENESS_MS });
    const cleanResults = feed(clean, events);
    const lateResults: AddResult[] = [];
    let lateCount = 0;
    events.forEach((e, i) => {
      lateResults.push(withLate.add(e));
      if (i % 100 === 99) {
        const watermark = withLate.watermarkMs()!;
        const before = withLate.snapshot();
        const late = withLate.add({ ...e, ts: new Date(watermark - 1).toISOString(), amount: 1e6 });
        expect(late).toEqual({ late: true, watermarkMs: watermark });
        expect(state(withLate.snapshot())).toEqual(state(before));
        lateCount += 1;
      }
    });
    expect(lateCount).toBe(30);
    expect(lateResults).toEqual(cleanResults);
  });

  it('accepts an event exactly at the watermark and recomputes the later rows it reaches', () => {
    const spec: WindowAggregationSpec = {
      partitionBy: ['card_id'],
      timeColumn: 'ts',
      features: [{ name: 'total', fn: 'sum', column: 'amount', window: '2s' }],
    };
    const operator = new WindowOperator(spec, { allowedLatenessMs: 3_000 });
    const at = (s: number) => new Date(Date.parse('2026-03-01T00:00:00Z') + s * 1000).toISOString();
    for (const s of [0, 1, 2, 5]) operator.add({ card_id: 'a', ts: at(s), amount: 1 });
    expect(operator.watermarkMs()).toBe(Date.parse(at(2)));
    expect(operator.add({ card_id: 'a', ts: at(1.999), amount: 1 })).toMatchObject({ late: true });
    expect(operator.add({ card_id: 'a', ts: at(2), amount: 10 })).toEqual({
      late: false,
      rows: [
        { card_id: 'a', ts: at(2), total: 13 }, // 0 s, 1 s, 2 s and its new peer
        // 5 s: its 2-second window starts at 3 s, so the event at 2 s does not reach it
      ],
    });
    expect(operator.add({ card_id: 'a', ts: at(3), amount: 100 })).toEqual({
      late: false,
      rows: [
        { card_id: 'a', ts: at(3), total: 112 },
        { card_id: 'a', ts: at(5), total: 101 }, // the window [3 s, 5 s] includes its start
      ],
    });
  });

  it('reads and writes times exactly like Date.parse and toISOString, across days, years and zones', () => {
    const spec: WindowAggregationSpec = {
      partitionBy: ['id'],
      timeColumn: 'ts',
      timeOffset: '1ms',
      features: [{ name: 'n', fn: 'count', window: '0s' }],
    };
    const operator = new WindowOperator(spec, { allowedLatenessMs: Number.MAX_SAFE_INTEGER });
    const rand = prng(3);
    const inputs: string[] = [];
    let clock = Date.parse('1999-12-31T23:59:58.000Z');
    for (let i = 0; i < 2_000; i += 1) {
      clock += Math.floor(rand() * 400);
      inputs.push(new Date(clock).toISOString()); // across a day (and year) boundary
      inputs.push(new Date(Math.floor(rand() * 4e12)).toISOString()); // any day from 1970 to 2096
    }
    inputs.push('2026-03-01T10:00:00Z', '2026-03-01T10:00:00.5+02:00', '2026-03-01T23:59:59.999-01:30');
    inputs.push('2026-02-28T23:59:59.999Z', '2024-02-29T12:00:00.000Z', '9999-12-31T23:59:59.999Z');
    inputs.forEach((ts, i) => {
      const result = operator.add({ id: `e${i}`, ts });
      expect(result).toEqual({
        late: false,
        rows: [{ id: `e${i}`, ts: new Date(Date.parse(ts) + 1).toISOString(), n: 1 }],
      });
    });
    for (const ts of ['2026-13-01T00:00:00.000Z', '2026-03-01T10:60:00.000Z', '2026-03-01T1a:00:00.000Z'])
      expect(() => operator.add({ id: 'bad', ts })).toThrow(ValidationError);
  });

  it('continues after snapshot/restore at any point with identical outputs', () => {
    const options = { allowedLatenessMs: LATENESS_MS };
    const reference = feed(new WindowOperator(SPEC, options), events);
    for (const cut of [0, 1, 2, 17, 500, 1_234, 2_999]) {
      const first = new WindowOperator(SPEC, options);
      const before = feed(first, events.slice(0, cut));
      const bytes = first.snapshot();
      const restored = WindowOperator.restore(SPEC, options, bytes);
      expect(restored.stats()).toEqual(first.stats());
      expect(restored.watermarkMs()).toEqual(first.watermarkMs());
      expect(state(restored.snapshot())).toEqual(state(bytes));
      const after = feed(restored, events.slice(cut));
      expect([...before, ...after]).toEqual(reference);
    }
  });

  it('refuses a snapshot of another spec, lateness or format with an error saying what differs', () => {
    const operator = new WindowOperator(SPEC, { allowedLatenessMs: LATENESS_MS });
    feed(operator, events.slice(0, 50));
    const bytes = operator.snapshot();
    const otherSpec: WindowAggregationSpec = {
      ...SPEC,
      features: SPEC.features.map((f, i) => (i === 0 ? { ...f, window: '11s' } : f)),
    };
    const refusal = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        return error;
      }
      throw new Error('restore did not refuse');
    };
    const spec = refusal(() => WindowOperator.restore(otherSpec, { allowedLatenessMs: LATENESS_MS }, bytes));
    expect(spec).toBeInstanceOf(WindowSnapshotError);
    expect(spec).toMatchObject({ reason: 'spec', retryable: false });
    expect((spec as Error).message).toMatch(/different window spec \(features differ\)/);
    expect(() =>
      WindowOperator.restore({ ...SPEC, timeOffset: '2ms' }, { allowedLatenessMs: LATENESS_MS }, bytes),
    ).toThrow(/timeOffsetMs differ/);
    expect(() => WindowOperator.restore(SPEC, { allowedLatenessMs: 1_000 }, bytes)).toThrow(
      /taken with allowedLatenessMs 5000, not 1000/,
    );
    const future = v8.serialize({ ...(v8.deserialize(bytes) as object), version: 99 });
    expect(() => WindowOperator.restore(SPEC, { allowedLatenessMs: LATENESS_MS }, future)).toThrow(
      /format version 99 cannot be read/,
    );
    expect(() =>
      WindowOperator.restore(SPEC, { allowedLatenessMs: LATENESS_MS }, Buffer.from('hello')),
    ).toThrow(/not a window-operator snapshot/);
  });

  it('rejects malformed events by column, before changing any state', () => {
    const operator = new WindowOperator(SPEC, { allowedLatenessMs: LATENESS_MS });
    feed(operator, events.slice(0, 10));
    const before = operator.snapshot();
    const good = events[10]!;
    for (const [bad, column] of [
      [{ ...good, ts: '2026-03-01 00:00:00' }, 'ts'], // no zone: ambiguous
      [{ ...good, ts: '2026-03-01T00:00:00.0001Z' }, 'ts'], // below millisecond precision
      [{ ...good, amount: '12.5' }, 'amount'],
      [{ ...good, qty: Number.NaN }, 'qty'],
      [{ ...good, city: { name: 'x' } }, 'city'],
    ] as const) {
      expect(() => operator.add(bad)).toThrow(ValidationError);
      expect(() => operator.add(bad)).toThrow(expect.objectContaining({ location: column }));
    }
    expect(state(operator.snapshot())).toEqual(state(before));
    expect(() => new WindowOperator(SPEC, { allowedLatenessMs: -1 })).toThrow(/allowedLatenessMs/);
  });
});
