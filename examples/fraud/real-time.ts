// Step 8 of Example 1: card activity in real time. The streaming pipeline `fraud-card-activity` runs
// the same `fraud_card_activity` transformation as the batch backfill, incrementally, over the live
// transaction stream; the example warms its windows with the last week of history, replays live
// traffic into the stream while scoring, and shows a card-testing burst reaching the model within
// seconds.
import type { Client } from '@temporalio/client';
import { sql } from 'drizzle-orm';
import {
  connectJetStream,
  eventStreamNames,
  FeatureEventProducer,
  getFeatureGroup,
  PostgresOnlineStore,
  sqlPath,
  streamWorkflowId,
  withDuck,
  CheckpointStore,
  type Database,
  type StreamPartitionStatus,
  type StreamPipelineSpec,
} from '../../core';
import type { FraudData } from './data/generator';
import { predictFraud, type TransactionRequest } from './inference/client';
import { jetstreamManager } from '@nats-io/jetstream';

/** The streaming pipeline of the example (workflow `stream-fraud-card-activity`). */
export const CARD_ACTIVITY_STREAM: StreamPipelineSpec = {
  name: 'fraud-card-activity',
  source: { name: 'fraud_transactions' },
  featureGroup: { name: 'fraud_card_activity' },
  transformation: 'fraud_card_activity',
  commitIntervalSeconds: 2,
  maxBatchWaitMs: 50,
  allowedLatenessSeconds: 60,
};

/** What the real-time step measured. */
export interface RealTimeResult {
  readonly pipeline: string;
  readonly warmupEvents: number;
  readonly liveEvents: number;
  /** Live events published per second (the replay rate achieved). */
  readonly publishedPerSecond: number;
  /** The pipeline's own figures at the end of the replay (events/s of the last minute, freshness). */
  readonly eventsPerSecond: number;
  readonly freshnessP50Ms: number | null;
  readonly freshnessP99Ms: number | null;
  readonly burst: {
    readonly card: string;
    readonly tests: number;
    /** From the push endpoint's answer to the burst in the online store. */
    readonly visibleAfterMs: number;
    readonly before: number;
    readonly after: number;
  };
}

const DAY = 86_400_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs the real-time step: (re)starts the streaming pipeline on a fresh transaction stream, warms
 * its windows with the week before `data.end` (rows written only from `data.end` on), replays the
 * last day's transactions as live traffic at `rate` events/s while scoring, and pushes a
 * card-testing burst through the service's event endpoint.
 */
export async function runRealTime(ctx: {
  readonly client: Client;
  readonly db: Database;
  readonly serviceUrl: string;
  readonly apiKey: string;
  readonly natsUrl: string;
  readonly featuresQueue: string;
  readonly data: FraudData;
  readonly rate?: number;
  readonly liveSeconds?: number;
  readonly log: (line: string) => void;
  /** Stop the pipeline at the end (tests); the main job leaves it running as a service. */
  readonly stopAfter?: boolean;
}): Promise<RealTimeResult> {
  const nc = await connectJetStream({ url: ctx.natsUrl, name: 'fraud-example' });
  try {
    const source = (await getFeatureGroup(ctx.db, 'fraud_transactions')).spec;
    const names = eventStreamNames(source.name, source.version);
    // A re-run starts from scratch: a stream holding last run's warm-up would double-count it.
    const handle = ctx.client.workflow.getHandle(streamWorkflowId(CARD_ACTIVITY_STREAM.name));
    if (
      await handle.describe().then(
        (d) => d.status.name === 'RUNNING',
        () => false,
      )
    ) {
      await handle.cancel();
      await handle.result();
    }
    await (await jetstreamManager(nc)).streams.delete(names.stream).catch(() => undefined);
    await new CheckpointStore(ctx.db).reset(CARD_ACTIVITY_STREAM.name);

    const producer = new FeatureEventProducer(nc, source);
    const history = await transactionsBetween(
      ctx.data,
      new Date(ctx.data.end.getTime() - 7 * DAY),
      ctx.data.end,
    );
    for (let i = 0; i < history.length; i += 2000) await producer.send(history.slice(i, i + 2000));
    const spec: StreamPipelineSpec = { ...CARD_ACTIVITY_STREAM, emitFrom: ctx.data.end.toISOString() };
    await ctx.client.workflow.start('streamingFeaturePipeline', {
      taskQueue: ctx.featuresQueue,
      workflowId: streamWorkflowId(spec.name),
      args: [{ spec }],
    });
    ctx.log(
      `    streaming pipeline ${spec.name} started; windows warmed with ${history.length} events of the last week`,
    );
    await waitCaughtUp(ctx.db, spec.name, history.length);

    // Live traffic: the last day's transactions again, re-timed to now, at `rate` events/s.
    const rate = ctx.rate ?? 200;
    const liveSeconds = ctx.liveSeconds ?? 12;
    const lastDay = await transactionsBetween(ctx.data, new Date(ctx.data.end.getTime() - DAY), ctx.data.end);
    const live = lastDay.slice(0, rate * liveSeconds);
    let published = 0;
    const replayStarted = Date.now();
    const replay = (async () => {
      const chunk = Math.max(1, Math.round(rate / 10));
      for (let i = 0; i < live.length; i += chunk) {
        const now = new Date().toISOString();
        await producer.send(
          live.slice(i, i + chunk).map((t) => ({ ...t, txn_id: `live-${t.txn_id}`, event_time: now })),
        );
        published += Math.min(chunk, live.length - i);
        const due = replayStarted + (published / rate) * 1000;
        if (due > Date.now()) await sleep(due - Date.now());
      }
    })();

    // A card-testing burst on a quiet card, through the push endpoint, while the replay runs.
    const burst = await cardTestingBurst(ctx, history);
    await replay;
    const publishedPerSecond = published / ((Date.now() - replayStarted) / 1000);
    const total = history.length + published + burst.tests;
    await waitCaughtUp(ctx.db, spec.name, total);
    const figures = await liveFigures(ctx.client, spec.name);
    if (ctx.stopAfter) {
      await handle.cancel();
      await handle.result();
    }
    return {
      pipeline: spec.name,
      warmupEvents: history.length,
      liveEvents: published,
      publishedPerSecond,
      eventsPerSecond: figures?.eventsPerSecond ?? 0,
      freshnessP50Ms: figures?.freshnessP50Ms ?? null,
      freshnessP99Ms: figures?.freshnessP99Ms ?? null,
      burst,
    };
  } finally {
    await nc.close();
  }
}

async function cardTestingBurst(
  ctx: { db: Database; serviceUrl: string; apiKey: string },
  history: readonly Record<string, unknown>[],
): Promise<RealTimeResult['burst']> {
  // A card seen last week; a different one on each run, so a burst left by an earlier run (still
  // the card's latest online row) does not blur the before/after comparison.
  const base = history[history.length - 1 - (Math.floor(Date.now() / 1000) % Math.min(200, history.length))]!;
  const card = String(base.card_id);
  // A big electronics purchase near the card's last location: what a fraudster cashes out with.
  const candidate: TransactionRequest = {
    card_id: card,
    account_id: String(base.account_id),
    merchant_id: String(base.merchant_id),
    amount: 1450,
    category: 'electronics',
    card_type: String(base.card_type),
    lat: Number(base.lat),
    lon: Number(base.lon),
  };
  const before = (await predictFraud(ctx.serviceUrl, ctx.apiKey, candidate)).probability;
  const tests = 5;
  const now = Date.now();
  const events = Array.from({ length: tests }, (_, i) => ({
    txn_id: `burst-${card}-${now}-${i}`,
    event_time: new Date(now - (tests - i) * 5_000).toISOString(),
    card_id: card,
    account_id: candidate.account_id,
    merchant_id: candidate.merchant_id,
    amount: 1 + i * 0.7,
    category: 'online',
    card_type: candidate.card_type,
    lat: candidate.lat,
    lon: candidate.lon,
  }));
  const lastBurstAt = Date.parse(events.at(-1)!.event_time);
  const response = await fetch(`${ctx.serviceUrl}/v1/feature-groups/fraud_transactions/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ctx.apiKey}` },
    body: JSON.stringify({ events }),
  });
  if (!response.ok) throw new Error(`event push failed: HTTP ${response.status} ${await response.text()}`);
  const pushed = Date.now();
  // Visible once the card's online row is the one computed after the burst's last charge.
  for (;;) {
    const row = await cardActivity(ctx.db, card);
    if (row && row.eventTimeMs > lastBurstAt && row.txnCount10m >= tests) break;
    if (Date.now() - pushed > 30_000)
      throw new Error(`the burst on ${card} did not reach the online store in 30 s`);
    await sleep(10);
  }
  const visibleAfterMs = Date.now() - pushed;
  const after = (await predictFraud(ctx.serviceUrl, ctx.apiKey, candidate)).probability;
  return { card, tests, visibleAfterMs, before, after };
}

async function cardActivity(
  db: Database,
  card: string,
): Promise<{ txnCount10m: number; eventTimeMs: number } | undefined> {
  const table = `fti_online."${PostgresOnlineStore.tableName({ name: 'fraud_card_activity', version: 1 })}"`;
  const result = await db.execute<{ n: string | null; at: string }>(
    sql`SELECT txn_count_10m::text AS n, (extract(epoch FROM event_time) * 1000)::bigint::text AS at
        FROM ${sql.raw(table)} WHERE card_id = ${card}`,
  );
  const row = result.rows[0];
  return row ? { txnCount10m: Number(row.n ?? 0), eventTimeMs: Number(row.at) } : undefined;
}

async function waitCaughtUp(db: Database, pipeline: string, position: number): Promise<void> {
  await new CheckpointStore(db).waitForPosition(pipeline, position, { timeoutMs: 120_000 });
}

/** The consumer's last heartbeat figures (events/s, freshness), as `fti stream status` shows them. */
async function liveFigures(client: Client, pipeline: string): Promise<StreamPartitionStatus | undefined> {
  const description = await client.workflow.getHandle(streamWorkflowId(pipeline)).describe();
  const payload = description.raw.pendingActivities?.[0]?.heartbeatDetails?.payloads?.[0]?.data;
  return payload ? (JSON.parse(Buffer.from(payload).toString('utf8')) as StreamPartitionStatus) : undefined;
}

/** Transactions with `start <= event_time < end` in time order, shaped as fraud_transactions events. */
async function transactionsBetween(
  data: FraudData,
  start: Date,
  end: Date,
): Promise<Record<string, unknown>[]> {
  return withDuck(async (duck) => {
    const rows = await duck.all<Record<string, unknown>>(
      `SELECT txn_id, strftime(event_time, '%Y-%m-%dT%H:%M:%S.%gZ') AS event_time, card_id, account_id, merchant_id,
              amount, category, card_type, lat, lon
       FROM read_parquet(${sqlPath(data.transactions)})
       WHERE event_time >= ?::TIMESTAMP AND event_time < ?::TIMESTAMP ORDER BY event_time, txn_id`,
      [start.toISOString().replace('Z', ''), end.toISOString().replace('Z', '')],
    );
    return rows.map((r) => ({ ...r, amount: Number(r.amount), lat: Number(r.lat), lon: Number(r.lon) }));
  });
}
