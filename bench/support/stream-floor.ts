// The floor of the streaming benchmark: the same events through the same broker and database with no
// platform code — a raw JetStream publish, a plain durable consumer acking each micro-batch, and a
// raw `pg` upsert of the micro-batch (the target group's row shape, INSERT … ON CONFLICT DO UPDATE
// over unnest, newer-wins) — so the platform's figures read as ratios against what the machine
// itself allows.
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type pg from 'pg';
import type { ConsumerUnderTest, SideFigures } from './stream-drive';
import { quantile, type CountSample } from './stream-measure';

/** The floor's own stream and online table (created by {@link createFloor}). */
export interface Floor {
  readonly stream: string;
  readonly subject: string;
  /** Qualified table name. */
  readonly table: string;
}

/** What the floor's consumer reports: freshness, and the broker alone (before the upsert). */
export interface FloorFigures extends SideFigures {
  /** Event time → event received by the consumer (before decoding and the upsert), ms. */
  readonly receivedP50Ms: number | null;
  readonly receivedP99Ms: number | null;
}

/**
 * Creates the floor's stream (file storage, like an event stream) and its online table with `keys`
 * rows already there, so its upserts update rows as the platform's do.
 */
export async function createFloor(
  nc: NatsConnection,
  pool: pg.Pool,
  names: { stream: string; subject: string; table: string },
  keys: number,
): Promise<Floor> {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: names.stream, subjects: [names.subject], max_age: 3_600 * 1e9 });
  const table = `fti_online."${names.table}"`;
  await pool.query(
    `CREATE TABLE ${table} (key bigint NOT NULL, event_time timestamp NOT NULL, count_1m bigint,
       sum_5m double precision, mean_5m double precision, max_1m double precision,
       "_fti_written_at" timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (key))`,
  );
  await pool.query(
    `INSERT INTO ${table} (key, event_time, count_1m, sum_5m, mean_5m, max_1m)
     SELECT k, now() AT TIME ZONE 'UTC' - interval '1 hour', 1, 1, 1, 1 FROM generate_series(0, $1::bigint - 1) k`,
    [keys],
  );
  await pool.query(`ANALYZE ${table}`);
  return { stream: names.stream, subject: names.subject, table };
}

/** Removes the floor's stream and table. */
export async function dropFloor(nc: NatsConnection, pool: pg.Pool, floor: Floor): Promise<void> {
  await (await jetstreamManager(nc)).streams.delete(floor.stream).catch(() => undefined);
  await pool.query(`DROP TABLE IF EXISTS ${floor.table}`);
}

/**
 * Starts the floor's consumer right after `startAfter`: a durable JetStream consumer (ack all,
 * acknowledged per micro-batch) whose micro-batches — whatever arrived, at most `maxBatchEvents` —
 * are decoded and upserted with one raw statement each.
 */
export async function startFloorConsumer(
  options: {
    readonly nc: NatsConnection;
    readonly pool: pg.Pool;
    readonly floor: Floor;
    readonly maxBatchEvents: number;
    /** Durable consumer name (one per run). */
    readonly consumer: string;
  },
  startAfter: number,
): Promise<ConsumerUnderTest<FloorFigures>> {
  const { nc, floor } = options;
  const jsm = await jetstreamManager(nc);
  await jsm.consumers.add(floor.stream, {
    durable_name: options.consumer,
    ack_policy: AckPolicy.All,
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: startAfter + 1,
    max_ack_pending: -1,
  });
  const messages = await (
    await jetstream(nc).consumers.get(floor.stream, options.consumer)
  ).consume({
    max_messages: 1024,
  });
  const buffer: JsMsg[] = [];
  let wake: (() => void) | undefined;
  void (async () => {
    for await (const m of messages) {
      buffer.push(m);
      wake?.();
    }
  })();

  const decoder = new TextDecoder();
  const received: number[] = [];
  const visible: number[] = [];
  const samples: CountSample[] = [];
  let processed = startAfter;
  let consumed = 0;
  let stopped = false;
  const upsert = `INSERT INTO ${floor.table} AS t (key, event_time, count_1m, sum_5m, mean_5m, max_1m)
    SELECT * FROM unnest($1::bigint[], $2::timestamp[], $3::bigint[], $4::float8[], $5::float8[], $6::float8[])
    ON CONFLICT (key) DO UPDATE SET event_time = EXCLUDED.event_time, count_1m = EXCLUDED.count_1m,
      sum_5m = EXCLUDED.sum_5m, mean_5m = EXCLUDED.mean_5m, max_1m = EXCLUDED.max_1m, "_fti_written_at" = now()
    WHERE t.event_time <= EXCLUDED.event_time`;
  const loop = (async () => {
    while (!stopped) {
      if (buffer.length === 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 50);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
        continue;
      }
      const batch = buffer.splice(0, options.maxBatchEvents);
      const receivedAt = Date.now();
      // The target group's row shape; the newest event of a key wins (one statement cannot
      // update a row twice).
      const latest = new Map<number, { key: number; time: string; amount: number }>();
      const eventTimes: number[] = [];
      for (const m of batch) {
        const e = JSON.parse(decoder.decode(m.data)) as { key: number; event_time: string; amount: number };
        const t = Date.parse(e.event_time);
        eventTimes.push(t);
        received.push(receivedAt - t);
        const held = latest.get(e.key);
        if (!held || held.time <= e.event_time)
          latest.set(e.key, { key: e.key, time: e.event_time, amount: e.amount });
      }
      const rows = [...latest.values()];
      await options.pool.query(upsert, [
        rows.map((r) => r.key),
        rows.map((r) => r.time.replace(/Z$/, '')),
        rows.map(() => 1),
        rows.map((r) => r.amount),
        rows.map((r) => r.amount),
        rows.map((r) => r.amount),
      ]);
      const now = Date.now();
      for (const t of eventTimes) visible.push(now - t);
      const last = batch.at(-1)!;
      last.ack(); // AckAll: acknowledges the whole micro-batch
      processed = last.info.streamSequence;
      consumed += batch.length;
      samples.push({ at: now, count: consumed });
    }
  })();
  let stopping: Promise<FloorFigures> | undefined;
  return {
    processed: () => processed,
    samples,
    stop: () =>
      (stopping ??= (async () => {
        stopped = true;
        try {
          await loop;
        } finally {
          await messages.close().catch(() => undefined);
          await jsm.consumers.delete(floor.stream, options.consumer).catch(() => undefined);
        }
        const sortedVisible = Float64Array.from(visible).sort();
        const sortedReceived = Float64Array.from(received).sort();
        return {
          freshnessP50Ms: quantile(sortedVisible, 0.5),
          freshnessP99Ms: quantile(sortedVisible, 0.99),
          receivedP50Ms: quantile(sortedReceived, 0.5),
          receivedP99Ms: quantile(sortedReceived, 0.99),
        };
      })()),
  };
}
