import { DuckSession } from '../../duckdb';
import { ValidationError } from '../../errors';
import { defineFeatureGroup, type FeatureGroupSpec } from '../feature-group';
import type { OnlineStore } from './online-store';

/**
 * The behaviour every {@link OnlineStore} adapter must have. Call from an adapter's test file with a
 * factory for a ready store; `uniqueName` gives each case its own feature group.
 */
export function describeOnlineStoreConformance(
  adapter: string,
  setup: () => Promise<{ store: OnlineStore; uniqueName: () => string; teardown: () => Promise<void> }>,
): void {
  describe(`OnlineStore conformance: ${adapter}`, () => {
    let store: OnlineStore;
    let uniqueName: () => string;
    let teardown: () => Promise<void>;
    let duck: DuckSession;

    beforeAll(async () => {
      ({ store, uniqueName, teardown } = await setup());
      duck = await DuckSession.open({ threads: 1 });
    });
    afterAll(async () => {
      duck.close();
      await teardown();
    });

    const spec = (ttlSeconds?: number): FeatureGroupSpec =>
      defineFeatureGroup({
        name: uniqueName(),
        primaryKey: ['card_id', 'region'],
        eventTime: 'event_time',
        features: [
          { name: 'card_id', type: 'string' },
          { name: 'region', type: 'int' },
          { name: 'event_time', type: 'timestamp' },
          { name: 'amount', type: 'double' },
          { name: 'label', type: 'string' },
          { name: 'embedding', type: 'float_array' },
          { name: 'day', type: 'date' },
          { name: 'flag', type: 'bool' },
        ],
        online: { enabled: true, ...(ttlSeconds ? { ttlSeconds } : {}) },
      });

    async function batch(rows: string): Promise<string> {
      await duck.run(
        `CREATE OR REPLACE TABLE b AS SELECT card_id, region::INTEGER AS region, event_time::TIMESTAMP AS event_time, amount::DOUBLE AS amount, label,
         embedding::FLOAT[] AS embedding, day::DATE AS day, flag FROM (VALUES ${rows}) v(card_id, region, event_time, amount, label, embedding, day, flag)`,
      );
      return 'b';
    }

    it('keeps the latest event per key, and an older event never overwrites a newer one', async () => {
      const s = spec();
      await store.writeFromDuck(
        duck,
        await batch(
          `('c1', 1, '2026-01-02 00:00:00', 2.0, 'new', [1.5, 2.5], '2026-01-02', true), ('c1', 1, '2026-01-01 00:00:00', 1.0, 'old', NULL, NULL, false)`,
        ),
        s,
      );
      const late = await store.writeFromDuck(
        duck,
        await batch(`('c1', 1, '2026-01-01 12:00:00', 9.0, 'late', NULL, NULL, NULL)`),
        s,
      );
      expect(late).toEqual({ offered: 1, applied: 0 });
      const [row] = await store.read(s, [{ card_id: 'c1', region: 1 }]);
      expect(row!.status).toBe('present');
      expect(row!.values).toMatchObject({
        amount: 2,
        label: 'new',
        embedding: [1.5, 2.5],
        day: '2026-01-02',
        flag: true,
      });
      expect((row!.values!.event_time as Date).toISOString()).toBe('2026-01-02T00:00:00.000Z');
      const newer = await store.writeFromDuck(
        duck,
        await batch(`('c1', 1, '2026-01-03 00:00:00', 3.0, '', NULL, NULL, NULL)`),
        s,
      );
      expect(newer.applied).toBe(1);
      const [after] = await store.read(s, [{ card_id: 'c1', region: 1 }]);
      expect(after!.values).toMatchObject({ amount: 3, label: '', embedding: null });
      expect(await store.count(s)).toBe(1);
    });

    it('writes in-memory rows upsert-if-newer: the latest per key wins, replays and older rows change nothing', async () => {
      const s = spec();
      const row = (region: number, time: string, amount: number, embedding: number[] | null) => ({
        card_id: 'c9',
        region,
        event_time: time,
        amount,
        label: `at ${time}`,
        embedding,
        day: '2026-01-02',
        flag: region === 1,
      });
      const first = await store.writeRows(s, [
        row(1, '2026-01-02T00:00:00.000Z', 2, [0.5, 1.5]),
        row(1, '2026-01-01T00:00:00.000Z', 1, null),
        row(2, '2026-01-01T00:00:00.000Z', 7, null),
      ]);
      expect(first).toEqual({ offered: 2, applied: 2 });
      // An older event and a replay of the stored one: nothing changes the values.
      await store.writeRows(s, [row(1, '2026-01-01T12:00:00.000Z', 99, null)]);
      await store.writeRows(s, [row(1, '2026-01-02T00:00:00.000Z', 2, [0.5, 1.5])]);
      const [c1, c2] = await store.read(
        s,
        [
          { card_id: 'c9', region: 1 },
          { card_id: 'c9', region: 2 },
        ],
        new Date('2026-01-03T00:00:00Z'),
      );
      expect(c1!.values).toMatchObject({
        amount: 2,
        label: 'at 2026-01-02T00:00:00.000Z',
        embedding: [0.5, 1.5],
        day: '2026-01-02',
        flag: true,
      });
      expect((c1!.values!.event_time as Date).toISOString()).toBe('2026-01-02T00:00:00.000Z');
      expect(c2!.values).toMatchObject({ amount: 7, flag: false });
      // A newer event replaces the row.
      expect(await store.writeRows(s, [row(2, '2026-01-05T00:00:00.000Z', 8, null)])).toEqual({
        offered: 1,
        applied: 1,
      });
      expect((await store.read(s, [{ card_id: 'c9', region: 2 }]))[0]!.values).toMatchObject({ amount: 8 });
      await expect(
        store.writeRows(s, [{ ...row(3, '2026-01-01T00:00:00Z', 1, null), card_id: null }]),
      ).rejects.toThrow(/no value for primary key "card_id"/);
    });

    it('replaces the whole group on a replacing write: newer rows and keys absent from the new state go', async () => {
      const s = spec();
      await store.writeFromDuck(
        duck,
        await batch(
          `('c1', 1, '2026-03-01 00:00:00', 9.0, 'future', NULL, NULL, NULL), ('gone', 1, '2026-01-01 00:00:00', 1.0, 'x', NULL, NULL, NULL)`,
        ),
        s,
      );
      const replaced = await store.replaceFromDuck(
        duck,
        await batch(
          `('c1', 1, '2026-01-01 00:00:00', 1.0, 'older', NULL, NULL, NULL), ('c1', 1, '2026-01-02 00:00:00', 2.0, 'latest', NULL, NULL, NULL), ('c2', 1, '2026-01-01 00:00:00', 3.0, 'new', NULL, NULL, NULL)`,
        ),
        s,
      );
      expect(replaced).toEqual({ offered: 2, applied: 2 });
      const rows = await store.read(s, [
        { card_id: 'c1', region: 1 },
        { card_id: 'c2', region: 1 },
        { card_id: 'gone', region: 1 },
      ]);
      expect(rows.map((r) => [r.status, r.values?.label ?? null])).toEqual([
        ['present', 'latest'],
        ['present', 'new'],
        ['missing', null],
      ]);
      expect(await store.count(s)).toBe(2);
    });

    it('reads many keys in input order, flagging missing ones', async () => {
      const s = spec();
      await store.writeFromDuck(
        duck,
        await batch(
          `('a', 1, '2026-01-01 00:00:00', 1.0, NULL, NULL, NULL, NULL), ('b', 2, '2026-01-01 00:00:00', 2.0, NULL, NULL, NULL, NULL)`,
        ),
        s,
      );
      const rows = await store.read(s, [
        { card_id: 'b', region: 2 },
        { card_id: 'zz', region: 1 },
        { card_id: 'a', region: 1 },
        { card_id: 'a', region: 2 },
      ]);
      expect(rows.map((r) => [r.key.card_id, r.status, r.values?.amount ?? null])).toEqual([
        ['b', 'present', 2],
        ['zz', 'missing', null],
        ['a', 'present', 1],
        ['a', 'missing', null],
      ]);
    });

    it('reads several groups in one call, each in its own key order, whatever the key counts', async () => {
      const a = spec();
      const b = spec();
      await store.writeFromDuck(
        duck,
        await batch(
          `('a', 1, '2026-01-01 00:00:00', 1.0, 'a1', [0.5], '2026-01-01', true), ('b', 2, '2026-01-01 00:00:00', 2.0, NULL, NULL, NULL, NULL)`,
        ),
        a,
      );
      await store.writeFromDuck(
        duck,
        await batch(`('b', 2, '2026-01-03 00:00:00', 20.0, 'b2', NULL, NULL, false)`),
        b,
      );
      const view = (rows: readonly { status: string; values: Readonly<Record<string, unknown>> | null }[]) =>
        rows.map((r) => [r.status, r.values?.amount ?? null, r.values?.label ?? null]);
      // One key per group: the single-entity lookup of online serving.
      const [one, two] = await store.readMany([
        { spec: a, keys: [{ card_id: 'a', region: 1 }] },
        { spec: b, keys: [{ card_id: 'a', region: 1 }] },
      ]);
      expect(view(one!)).toEqual([['present', 1, 'a1']]);
      expect(view(two!)).toEqual([['missing', null, null]]);
      expect(one![0]!.values).toMatchObject({ embedding: [0.5], day: '2026-01-01', flag: true });
      expect(one![0]!.values!.event_time).toEqual(new Date('2026-01-01T00:00:00Z'));
      // Different key counts per group, a group with none, the same group twice, repeated keys.
      const [many, none, few, again] = await store.readMany([
        {
          spec: a,
          keys: [
            { card_id: 'b', region: 2 },
            { card_id: 'zz', region: 1 },
            { card_id: 'a', region: 1 },
            { card_id: 'b', region: 2 },
          ],
        },
        { spec: b, keys: [] },
        { spec: b, keys: [{ card_id: 'b', region: 2 }] },
        {
          spec: a,
          keys: [
            { card_id: 'zz', region: 9 },
            { card_id: 'a', region: 1 },
          ],
        },
      ]);
      expect(view(many!)).toEqual([
        ['present', 2, null],
        ['missing', null, null],
        ['present', 1, 'a1'],
        ['present', 2, null],
      ]);
      expect(none).toEqual([]);
      expect(view(few!)).toEqual([['present', 20, 'b2']]);
      expect(view(again!)).toEqual([
        ['missing', null, null],
        ['present', 1, 'a1'],
      ]);
      expect(await store.readMany([])).toEqual([]);
    });

    it('flags values older than the TTL instead of serving them silently', async () => {
      const s = spec(3600);
      await store.writeFromDuck(
        duck,
        await batch(`('a', 1, '2026-01-01 00:00:00', 1.0, NULL, NULL, NULL, NULL)`),
        s,
      );
      const [fresh] = await store.read(s, [{ card_id: 'a', region: 1 }], new Date('2026-01-01T00:30:00Z'));
      const [stale] = await store.read(s, [{ card_id: 'a', region: 1 }], new Date('2026-01-01T02:00:00Z'));
      expect(fresh!.status).toBe('present');
      expect(stale!.status).toBe('outside_ttl');
      expect(stale!.values).not.toBeNull();
    });

    it('on delete, falls back to the latest surviving event of the key', async () => {
      const s = spec();
      await store.writeFromDuck(
        duck,
        await batch(`('a', 1, '2026-01-02 00:00:00', 2.0, NULL, NULL, NULL, NULL)`),
        s,
      );
      await duck.run(
        `CREATE OR REPLACE TABLE deleted AS SELECT 'a' AS card_id, 1 AS region, TIMESTAMP '2026-01-02 00:00:00' AS event_time`,
      );
      await duck.run(`CREATE OR REPLACE TABLE survivors AS SELECT * FROM b WHERE false`);
      await duck.run(
        `INSERT INTO survivors SELECT 'a', 1, TIMESTAMP '2026-01-01 00:00:00', 1.0, NULL, NULL, NULL, NULL`,
      );
      expect(await store.applyDeletes(duck, 'deleted', 'survivors', s)).toBe(1);
      const [row] = await store.read(s, [{ card_id: 'a', region: 1 }]);
      expect(row!.values).toMatchObject({ amount: 1 });
    });

    it('rejects keys without a primary-key value or of the wrong type', async () => {
      const s = spec();
      await expect(store.read(s, [{ card_id: 'a' }])).rejects.toBeInstanceOf(ValidationError);
      await expect(store.read(s, [{ card_id: 'a', region: 'north' }])).rejects.toBeInstanceOf(
        ValidationError,
      );
    });

    it('adds appended nullable features as columns', async () => {
      const s = spec();
      await store.ensureTable(s);
      const extended = {
        ...s,
        features: [...s.features, { name: 'extra', type: 'double' as const, nullable: true }],
      };
      await duck.run(
        `CREATE OR REPLACE TABLE e AS SELECT *, 5.0::DOUBLE AS extra FROM (SELECT * FROM b LIMIT 1)`,
      );
      await store.writeFromDuck(duck, 'e', extended);
      const [row] = await store.read(extended, [
        {
          card_id: (await duck.one<{ c: string }>('SELECT card_id AS c FROM e'))!.c,
          region: Number((await duck.one<{ r: number }>('SELECT region AS r FROM e'))!.r),
        },
      ]);
      expect(row!.values).toMatchObject({ extra: 5 });
    });
  });
}
