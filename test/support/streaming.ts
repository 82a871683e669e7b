import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Database } from '../../core/db';
import { withDuck } from '../../core/duckdb';
import {
  getFeatureGroup,
  OfflineTable,
  registerFeatureGroup,
  windowAggregation,
  type IngestionDeps,
  type WindowAggregationSpec,
} from '../../core/featurestore';
import { projectRoot } from '../../core/project-root';
import { CheckpointStore } from '../../core/streaming';
import type { ActivityDeps } from '../../activities';
import { uniqueGroupName } from './featurestore';
import { uniqueName } from './ids';
import { writeCsv } from './ingestion';
import { createTestWorkers, withWorkers, type TemporalTestContext } from './temporal';

/** Per-card trailing windows used by the streaming tests (every function, ties, a 1 ms stamp). */
export const CARD_WINDOWS: WindowAggregationSpec = {
  partitionBy: ['card_id'],
  timeColumn: 'event_time',
  timeOffset: '1ms',
  features: [
    { name: 'txn_count_10m', fn: 'count', window: '10m' },
    { name: 'amount_sum_1h', fn: 'sum', column: 'amount', window: '1h' },
    { name: 'amount_max_1h', fn: 'max', column: 'amount', window: '1h' },
    { name: 'amount_mean_1h', fn: 'mean', column: 'amount', window: '1h' },
    { name: 'last_amount', fn: 'last', column: 'amount', window: '1h' },
  ],
};

/** {@link CARD_WINDOWS} as a registered transformation. */
export const cardWindows = () => windowAggregation(CARD_WINDOWS);

/**
 * A feature module file (plain JS over the compiled platform in dist/) registering `card_windows`,
 * for worker processes started with FTI_FEATURE_MODULES.
 */
export function cardWindowsModuleFile(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-stream-module-'));
  const file = path.join(dir, 'card-windows.js');
  const featurestore = path.join(projectRoot(), 'dist', 'core', 'featurestore');
  fs.writeFileSync(
    file,
    `const { windowAggregation } = require(${JSON.stringify(featurestore)});\n` +
      `exports.transformations = { card_windows: windowAggregation(${JSON.stringify(CARD_WINDOWS)}) };\n`,
  );
  return file;
}

/** Deterministic pseudo-random numbers (a failing run must reproduce). */
export function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/**
 * Card transactions every `stepMs` from `startMs` over `cards` cards, mostly in time order, with
 * same-time ties (5 %), null amounts (5 %) and events up to 30 s out of order (15 %, within a 60 s
 * lateness).
 */
export function transactions(
  count: number,
  options: { seed?: number; startMs?: number; stepMs?: number; cards?: number; idPrefix?: string } = {},
): Record<string, unknown>[] {
  const random = seeded(options.seed ?? 7);
  const base = options.startMs ?? Date.parse('2026-03-01T10:00:00Z');
  const step = options.stepMs ?? 12_000;
  const events: Record<string, unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const jitter = random() < 0.15 ? -Math.floor(random() * 30_000) : 0;
    const tie = random() < 0.05 && i > 0;
    events.push({
      txn_id: `${options.idPrefix ?? 't'}${i}`,
      event_time: tie
        ? (events[i - 1]!.event_time as string)
        : new Date(base + i * step + jitter).toISOString(),
      card_id: `c${Math.floor(random() * (options.cards ?? 12))}`,
      amount: random() < 0.05 ? null : Math.round(random() * 50_000) / 100,
    });
  }
  return events;
}

/** Registers the transactions group (the events) and `targets` card-activity groups (online). */
export async function registerStreamingGroups(
  db: Database,
  targets: number,
): Promise<{ source: string; targets: string[] }> {
  const source = uniqueGroupName('txn_events');
  await registerFeatureGroup(db, {
    name: source,
    primaryKey: ['txn_id'],
    eventTime: 'event_time',
    features: [
      { name: 'txn_id', type: 'string' },
      { name: 'event_time', type: 'timestamp' },
      { name: 'card_id', type: 'string', nullable: false },
      { name: 'amount', type: 'double' },
    ],
  });
  const names: string[] = [];
  for (let i = 0; i < targets; i++) {
    const name = uniqueGroupName('card_activity');
    await registerFeatureGroup(db, {
      name,
      primaryKey: ['card_id'],
      eventTime: 'event_time',
      features: [
        { name: 'card_id', type: 'string' },
        { name: 'event_time', type: 'timestamp' },
        { name: 'txn_count_10m', type: 'bigint' },
        { name: 'amount_sum_1h', type: 'double' },
        { name: 'amount_max_1h', type: 'double' },
        { name: 'amount_mean_1h', type: 'double' },
        { name: 'last_amount', type: 'double' },
      ],
      online: { enabled: true },
    });
    names.push(name);
  }
  return { source, targets: names };
}

/** The offline snapshot of a card-activity group, ordered by card and time (times as text). */
export async function cardActivitySnapshot(
  deps: IngestionDeps,
  group: string,
): Promise<Record<string, unknown>[]> {
  const record = await getFeatureGroup(deps.db, group);
  return withDuck(async (duck) => {
    await new OfflineTable(deps, record).registerSnapshot(duck, 'snap');
    return duck.all<Record<string, unknown>>(
      `SELECT card_id, strftime(event_time, '%Y-%m-%dT%H:%M:%S.%g') AS event_time, txn_count_10m, amount_sum_1h,
         amount_max_1h, amount_mean_1h, last_amount FROM snap ORDER BY card_id, event_time`,
    );
  });
}

/** Waits until every partition of `pipeline` has checkpointed at or past `position`. */
export async function waitForCheckpoint(
  db: Database,
  pipeline: string,
  position: number,
  timeoutMs = 90_000,
): Promise<void> {
  await new CheckpointStore(db).waitForPosition(pipeline, position, { timeoutMs, pollMs: 250 });
}

/**
 * The batch form of the streaming tests' windows: the same events as a CSV file through a
 * `featurePipeline` run (upsert, `card_windows`) into `group`, on an in-process worker on `taskQueue`.
 */
export async function backfillCardActivity(
  temporal: TemporalTestContext,
  taskQueue: string,
  deps: ActivityDeps,
  group: string,
  events: readonly Record<string, unknown>[],
): Promise<void> {
  const csv = writeCsv(
    'txn_id,event_time,card_id,amount',
    events.map(
      (e) =>
        `${String(e.txn_id)},${String(e.event_time)},${String(e.card_id)},${e.amount === null ? '' : String(e.amount)}`,
    ),
  );
  const [worker] = await createTestWorkers(temporal, [taskQueue], deps);
  await withWorkers([worker!], () =>
    temporal.client.workflow.execute('featurePipeline', {
      taskQueue,
      workflowId: uniqueName('batch'),
      args: [
        {
          pipeline: {
            name: uniqueName('cards-batch'),
            featureGroup: { name: group },
            source: { kind: 'csv', path: csv },
            transformation: 'card_windows',
            operation: 'upsert',
          },
        },
      ],
    }),
  );
}
