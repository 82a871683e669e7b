import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { loadConfig } from '../config';
import { openDatabase, type DatabaseHandle } from '../db';
import { OnDemandRegistry, registerFeatureGroup, type FeatureGroupRecord } from '../featurestore';
import type { S3ObjectStore } from '../storage';
import { connectJetStream, eventStreamNames } from '../streaming';
import { createCardGroup } from '../../test/support/featurestore';
import { testIngestionDeps } from '../../test/support/ingestion';
import { OutageProxy } from '../../test/support/outage-proxy';
import { testObjectStore } from '../../test/support/stores';
import { createApiKey } from './api-keys';
import { createInferenceServer, type InferenceServer, type InferenceServerOptions } from './server';

interface Reply {
  status: number;
  retryAfter: string | null;
  body: Record<string, unknown>;
}

// The push endpoint of the real inference service, publishing into the real JetStream.
describe('POST /v1/feature-groups/:name/events', () => {
  let database: DatabaseHandle;
  let store: S3ObjectStore;
  let serverOptions: InferenceServerOptions;
  let server: InferenceServer;
  let base: string;
  let key: string;
  let group: FeatureGroupRecord;
  let stream: string;
  let nc: NatsConnection;

  const start = async (options: Partial<InferenceServerOptions> = {}) => {
    const started = await createInferenceServer({ ...serverOptions, ...options });
    await started.app.listen({ port: 0, host: '127.0.0.1' });
    return {
      server: started,
      base: `http://127.0.0.1:${(started.app.server.address() as { port: number }).port}`,
    };
  };
  const post = async (
    path: string,
    body: unknown,
    options: { base?: string; headers?: Record<string, string> } = {},
  ): Promise<Reply> => {
    const response = await fetch(`${options.base ?? base}${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(options.headers ?? { authorization: `Bearer ${key}` }),
      },
      body: JSON.stringify(body),
    });
    return {
      status: response.status,
      retryAfter: response.headers.get('retry-after'),
      body: (await response.json()) as Record<string, unknown>,
    };
  };
  const events = (n: number, from = 0) =>
    Array.from({ length: n }, (_, i) => ({
      card_id: `c${(from + i) % 7}`,
      event_time: new Date(Date.UTC(2026, 10, 30, 12, 0, from + i)).toISOString(),
      amount: (from + i) * 1.5,
      category: i % 3 === 0 ? null : 'grocery',
    }));
  const stored = async (): Promise<number> => {
    const jsm = await jetstreamManager(nc);
    return jsm.streams.info(stream).then(
      (info) => info.state.messages,
      () => 0, // not created yet: nothing stored
    );
  };
  /** Every event of the stream, in stream order, read with an ordered JetStream consumer. */
  const readStream = async (): Promise<unknown[]> => {
    const expected = await stored();
    const consumer = await jetstream(nc).consumers.get(stream);
    const out: unknown[] = [];
    const messages = await consumer.fetch({ max_messages: expected, expires: 5000 });
    for await (const m of messages) {
      out.push(m.json());
      if (out.length === expected) break;
    }
    await consumer.delete().catch(() => undefined);
    return out;
  };

  beforeAll(async () => {
    database = await openDatabase({ url: loadConfig().databaseUrl });
    store = testObjectStore();
    const deps = testIngestionDeps(database, store);
    serverOptions = {
      db: database.db,
      pool: database.pool,
      store,
      online: deps.online,
      onDemand: new OnDemandRegistry(),
      logPredictions: false,
    };
    group = await createCardGroup(database.db);
    stream = eventStreamNames(group.spec.name, group.spec.version).stream;
    ({ server, base } = await start({ events: { maxEvents: 500 } }));
    key = (await createApiKey(database.db, 'event-tests', { scopes: ['push'] })).key;
    nc = await connectJetStream({ url: loadConfig().natsUrl, name: 'fti-test' });
  });
  afterAll(async () => {
    await server?.close();
    await (await jetstreamManager(nc)).streams.delete(stream).catch(() => undefined);
    await nc?.close();
    store?.close();
    await database?.close();
  });

  it('stores a valid batch in the group stream in request order, stores a resent batch once, and takes a single event', async () => {
    const batch = events(300);
    const first = await post(`/v1/feature-groups/${group.spec.name}/events`, { events: batch });
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({
      featureGroup: group.spec.name,
      version: 1,
      stream,
      accepted: 300,
      duplicates: 0,
    });
    expect(first.body.sequences).toEqual(batch.map((_, i) => i + 1));

    // A client that timed out and resent the same request: stored once, same sequences.
    const again = await post(`/v1/feature-groups/${group.spec.name}/events?version=1`, { events: batch });
    expect(again.body).toMatchObject({ accepted: 300, duplicates: 300, sequences: first.body.sequences });

    const single = events(1, 300)[0]!;
    const one = await post(`/v1/feature-groups/${group.spec.name}/events`, {
      ...single,
      event_time: '2026-11-30T13:05:00+01:00', // normalised to UTC
    });
    expect(one.status).toBe(202);
    expect(one.body).toMatchObject({ accepted: 1, sequences: [301] });

    expect(await readStream()).toEqual([...batch, { ...single, event_time: '2026-11-30T12:05:00.000Z' }]);
  });

  it('refuses a request with one bad event anywhere with 422 naming the event and field, publishing nothing', async () => {
    const before = await stored();
    const batch: Record<string, unknown>[] = events(50, 1000);
    batch[37] = { ...batch[37], amount: 'twelve' };
    batch[41] = { ...batch[41], card_id: undefined };
    const { status, body } = await post(`/v1/feature-groups/${group.spec.name}/events`, { events: batch });
    expect(status).toBe(422);
    expect(body).toMatchObject({ index: 37, field: 'amount' });
    expect(body.error).toContain('events[37]');
    expect(body.error).toContain('field "amount" must be a number');
    expect(body.errors).toEqual([
      expect.objectContaining({ index: 37, field: 'amount' }),
      expect.objectContaining({ index: 41, field: 'card_id' }),
    ]);
    const unknown = await post(`/v1/feature-groups/${group.spec.name}/events`, {
      ...events(1)[0],
      merchant: 'm',
    });
    expect(unknown).toMatchObject({ status: 422, body: { index: 0, field: 'merchant' } });
    expect(await stored()).toBe(before);
  });

  it('answers 401 without a valid key, 404 with the fix for an unknown group or version, 413 past the batch limit', async () => {
    const before = await stored();
    const path = `/v1/feature-groups/${group.spec.name}/events`;
    const noKey = await post(path, events(1)[0], { headers: {} });
    expect(noKey.status).toBe(401);
    expect(noKey.body.error).toContain('missing API key');
    expect((await post(path, events(1)[0], { headers: { 'x-api-key': 'fti_wrong' } })).status).toBe(401);

    const unknownGroup = await post(`/v1/feature-groups/${group.spec.name}_nope/events`, events(1)[0]);
    expect(unknownGroup.status).toBe(404);
    expect(unknownGroup.body.error).toContain('create it first (fti fg create)');
    const unknownVersion = await post(`${path}?version=9`, events(1)[0]);
    expect(unknownVersion.status).toBe(404);
    expect(unknownVersion.body.error).toContain('versions: 1');
    expect((await post(`${path}?version=latest`, events(1)[0])).status).toBe(400);
    expect((await post(path, { events: [] })).status).toBe(400);
    const tooMany = await post(path, { events: events(501) });
    expect(tooMany.status).toBe(413);
    expect(tooMany.body.error).toContain('at most 500 events');
    expect(await stored()).toBe(before);
  });

  it('publishes to the version asked for, each version into its own stream', async () => {
    const { record: v2 } = await registerFeatureGroup(database.db, {
      name: group.spec.name,
      version: 2,
      primaryKey: ['card_id'],
      eventTime: 'event_time',
      features: [
        { name: 'card_id', type: 'string' },
        { name: 'event_time', type: 'timestamp' },
        { name: 'amount_cents', type: 'bigint' },
      ],
    });
    const v2Stream = eventStreamNames(v2.spec.name, 2).stream;
    try {
      const event = { card_id: 'c1', event_time: '2026-11-30T12:00:00.000Z', amount_cents: 1250 };
      // The v1 schema refuses a v2 event; asking for v2 (or the latest, once the cache expired) takes it.
      expect((await post(`/v1/feature-groups/${group.spec.name}/events?version=1`, event)).status).toBe(422);
      const pushed = await post(`/v1/feature-groups/${group.spec.name}/events?version=2`, event);
      expect(pushed).toMatchObject({ status: 202, body: { version: 2, stream: v2Stream, sequences: [1] } });
    } finally {
      await (await jetstreamManager(nc)).streams.delete(v2Stream).catch(() => undefined);
    }
  });

  it('creates the stream again when it was deleted while the service runs', async () => {
    const { name } = group.spec;
    const before = await post(`/v1/feature-groups/${name}/events?version=1`, events(1, 3000)[0]);
    expect(before.status).toBe(202);
    await (await jetstreamManager(nc)).streams.delete(stream);
    const after = await post(`/v1/feature-groups/${name}/events?version=1`, { events: events(2, 3001) });
    expect(after).toMatchObject({ status: 202, body: { sequences: [1, 2] } });
    expect(await readStream()).toEqual(events(2, 3001));
  });

  it('starts and serves while NATS is unreachable (503 + Retry-After naming nats), then publishes once it is back, also after a later outage', async () => {
    const nats = new URL(loadConfig().natsUrl);
    const proxy = new OutageProxy({ host: nats.hostname, port: Number(nats.port || 4222) });
    await proxy.up(); // only to learn a port; down before the service starts
    await proxy.down();
    const service = await start({ events: { natsUrl: `nats://127.0.0.1:${proxy.port}` } });
    const path = `/v1/feature-groups/${group.spec.name}/events?version=1`;
    /** Pushes one new event until the answer has `status` (bounded: fails rather than hangs). */
    const until = async (status: number, from: number): Promise<Reply> => {
      let reply: Reply | undefined;
      for (let i = 0; i < 100; i++) {
        reply = await post(path, events(1, from)[0], { base: service.base });
        if (reply.status === status) return reply;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      throw new Error(`no ${status} answer; last: ${reply?.status} ${JSON.stringify(reply?.body)}`);
    };
    try {
      const live = await fetch(`${service.base}/health`);
      expect(live.status).toBe(200);
      const down = await post(path, events(1, 2000)[0], { base: service.base });
      expect(down.status).toBe(503);
      expect(down.retryAfter).toMatch(/^\d+$/);
      expect(down.body).toMatchObject({ unavailable: 'nats' });

      await proxy.up();
      expect((await until(202, 2000)).body.accepted).toBe(1);
      await proxy.down();
      expect((await until(503, 2001)).body).toMatchObject({ unavailable: 'nats' });
      await proxy.up();
      expect((await until(202, 2002)).body.accepted).toBe(1);
    } finally {
      await service.server.close();
      await proxy.down();
    }
  });
});
