// The streaming benchmark's fixtures on the running stack: a source group (the events) and an
// online target group (4 sliding windows per key) with every key online already, the floor's own
// stream and table, the adapters a pipeline needs — and their removal afterwards.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { loadConfig } from '../../core/config';
import { openDatabase, type DatabaseHandle } from '../../core/db';
import {
  OfflineTable,
  PostgresOnlineStore,
  registerFeatureGroup,
  TransformationRegistry,
  windowAggregation,
  type FeatureGroupRecord,
  type WindowAggregationSpec,
} from '../../core/featurestore';
import {
  connectJetStream,
  ensureEventStream,
  eventStreamNames,
  type EventStreamNames,
  type StreamingDeps,
} from '../../core/streaming';
import { ObjectCache, objectStoreFromConfig } from '../../core/storage';
import { createFloor, dropFloor, type Floor } from './stream-floor';

/** The 4 sliding windows of the target group, registered as transformation `bench_windows`. */
export const WINDOWS: WindowAggregationSpec = {
  partitionBy: ['key'],
  timeColumn: 'event_time',
  features: [
    { name: 'count_1m', fn: 'count', window: '1m' },
    { name: 'max_1m', fn: 'max', column: 'amount', window: '1m' },
    { name: 'sum_5m', fn: 'sum', column: 'amount', window: '5m' },
    { name: 'mean_5m', fn: 'mean', column: 'amount', window: '5m' },
  ],
};

/** What the benchmark runs against. */
export interface StreamBench {
  readonly deps: StreamingDeps;
  readonly database: DatabaseHandle;
  readonly nc: NatsConnection;
  readonly source: FeatureGroupRecord;
  readonly target: FeatureGroupRecord;
  /** The source group's event stream. */
  readonly events: EventStreamNames;
  readonly floor: Floor;
  /** A name unique to this run (pipelines, consumers). */
  readonly suffix: string;
  /** Removes what the run created: streams, online tables, offline files, checkpoints are the caller's. */
  close(): Promise<void>;
}

/** Registers fresh groups with `keys` keys online and creates the floor's stream and table. */
export async function setUpStreamBench(keys: number): Promise<StreamBench> {
  const config = loadConfig();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-bench-stream-'));
  const database = await openDatabase({ url: config.databaseUrl, maxConnections: 8 });
  const store = objectStoreFromConfig(config);
  const online = new PostgresOnlineStore({ pool: database.pool, scratchDir: path.join(dir, 'scratch') });
  const deps: StreamingDeps = {
    db: database.db,
    store,
    cache: new ObjectCache(store, { dir: path.join(dir, 'cache') }),
    online,
    transformations: new TransformationRegistry().register('bench_windows', windowAggregation(WINDOWS)),
    storeFor: () => store,
    env: process.env,
    scratchDir: path.join(dir, 'scratch'),
    threads: 2,
    natsUrl: config.natsUrl,
  };
  const suffix = Date.now().toString(36);
  const nc = await connectJetStream({ url: config.natsUrl, name: 'fti-bench-stream' });
  const groups: FeatureGroupRecord[] = [];
  let floor: Floor | undefined;
  const close = async () => {
    if (floor) await dropFloor(nc, database.pool, floor).catch(() => undefined);
    const jsm = await jetstreamManager(nc);
    for (const g of groups) {
      await jsm.streams.delete(eventStreamNames(g.spec.name, g.spec.version).stream).catch(() => undefined);
      await database.pool.query(`DROP TABLE IF EXISTS fti_online."${PostgresOnlineStore.tableName(g.spec)}"`);
      await store.deletePrefix(`${new OfflineTable(deps, g).prefix}/`);
    }
    await nc.close();
    await database.close();
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    const register = async (input: Parameters<typeof registerFeatureGroup>[1]) => {
      const { record } = await registerFeatureGroup(database.db, input);
      groups.push(record);
      return record;
    };
    const source = await register({
      name: `bench_stream_events_${suffix}`,
      primaryKey: ['key'],
      eventTime: 'event_time',
      features: [
        { name: 'key', type: 'bigint' },
        { name: 'event_time', type: 'timestamp' },
        { name: 'amount', type: 'double', nullable: false },
      ],
    });
    const target = await register({
      name: `bench_stream_windows_${suffix}`,
      primaryKey: ['key'],
      eventTime: 'event_time',
      features: [
        { name: 'key', type: 'bigint' },
        { name: 'event_time', type: 'timestamp' },
        ...WINDOWS.features.map(
          (f) => ({ name: f.name, type: f.fn === 'count' ? 'bigint' : 'double' }) as const,
        ),
      ],
      online: { enabled: true },
    });
    const events = eventStreamNames(source.spec.name, source.spec.version);
    await ensureEventStream(nc, events.stream, events.subject);
    // Every key is online already (an hour old), so upserts update rows, as they do in production.
    const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
    await online.writeRows(
      target.spec,
      Array.from({ length: keys }, (_, key) => ({ key, event_time: hourAgo, count_1m: 0 })),
    );
    await database.pool.query(`ANALYZE fti_online."${PostgresOnlineStore.tableName(target.spec)}"`);
    floor = await createFloor(
      nc,
      database.pool,
      {
        stream: `bench_stream_floor_${suffix}`,
        subject: `bench.stream.floor.${suffix}`,
        table: `bench_stream_floor_${suffix}`,
      },
      keys,
    );
    return { deps, database, nc, source, target, events, floor, suffix, close };
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
}
