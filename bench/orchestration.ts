// bench/orchestration: what Temporal costs a small feature pipeline. A 100-row feature pipeline
// (CSV → transformation → validation → offline commit → online write → statistics) runs end to end
// through the featurePipeline workflow on a worker of its own queue; each run's history gives the
// time spent inside its activities, the baseline measured in the same run. The figures: end-to-end
// time, the ratio end to end / inside activities, and the orchestration overhead per activity
// ((end to end − inside) / activities: scheduling, task polling, history writes).
// Usage: node dist/bench/orchestration.js [rows=100] [runs=10]   (needs infra/stack.sh up)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Client } from '@temporalio/client';
import { loadConfig } from '../core/config';
import { openDatabase } from '../core/db';
import { registerFeatureGroup, TransformationRegistry } from '../core/featurestore';
import { objectStoreFromConfig } from '../core/storage';
import { testIngestionDeps } from '../test/support/ingestion';
import { connectTestTemporal, createTestWorkers, withWorkers } from '../test/support/temporal';

const rows = Number(process.argv[2] ?? 100);
const runs = Number(process.argv[3] ?? 10);

type Stamp = { seconds?: { toNumber(): number } | number | null; nanos?: number | null } | null | undefined;
const ms = (t: Stamp) =>
  t
    ? (typeof t.seconds === 'number' ? t.seconds : (t.seconds?.toNumber() ?? 0)) * 1000 + (t.nanos ?? 0) / 1e6
    : 0;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** From a run's history: workflow start→close, and the time spent inside its activities. */
async function fromHistory(client: Client, workflowId: string) {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const events = history.events ?? [];
  const started = new Map<number, number>();
  let inside = 0;
  let activities = 0;
  for (const e of events) {
    const id = Number(e.eventId);
    if (e.activityTaskStartedEventAttributes)
      started.set(Number(e.activityTaskStartedEventAttributes.scheduledEventId), ms(e.eventTime as Stamp));
    const done = e.activityTaskCompletedEventAttributes;
    if (done) {
      inside +=
        ms(e.eventTime as Stamp) - (started.get(Number(done.scheduledEventId)) ?? ms(e.eventTime as Stamp));
      activities++;
    }
    void id;
  }
  const total = ms(events.at(-1)?.eventTime as Stamp) - ms(events[0]?.eventTime as Stamp);
  return { total, inside, activities };
}

async function main(): Promise<void> {
  const config = loadConfig();
  const database = await openDatabase({ url: config.databaseUrl });
  const prefix = `bench-orchestration-${Date.now().toString(36)}`;
  const store = objectStoreFromConfig(config, prefix);
  const temporal = await connectTestTemporal();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-bench-orch-'));
  const deps = testIngestionDeps(database, store, new TransformationRegistry());
  const group = `bench_orch_${Date.now().toString(36)}`;
  await registerFeatureGroup(database.db, {
    name: group,
    primaryKey: ['card_id'],
    eventTime: 'event_time',
    features: [
      { name: 'card_id', type: 'string' },
      { name: 'event_time', type: 'timestamp' },
      { name: 'amount', type: 'double' },
    ],
    online: { enabled: true },
  });
  const taskQueue = `bench-orchestration-${process.pid}`;
  const [worker] = await createTestWorkers(temporal, [taskQueue], {
    db: database.db,
    store,
    ingestion: deps,
  });
  const samples: { wall: number; total: number; inside: number; activities: number }[] = [];
  try {
    await withWorkers([worker!], async () => {
      for (let i = 0; i <= runs; i++) {
        // One hour of data per run, each run its own window (a new commit every time).
        const hour = Date.UTC(2026, 0, 1, i);
        const csv = path.join(dir, `run-${i}.csv`);
        fs.writeFileSync(
          csv,
          [
            'card_id,event_time,amount',
            ...Array.from(
              { length: rows },
              (_, r) => `c${r},${new Date(hour + r * 1000).toISOString()},${r}`,
            ),
          ].join('\n'),
        );
        const workflowId = `bench-orch-${process.pid}-${i}`;
        const start = performance.now();
        await temporal.client.workflow.execute('featurePipeline', {
          taskQueue,
          workflowId,
          args: [
            {
              pipeline: {
                name: `bench-orch-${process.pid}`,
                featureGroup: { name: group },
                source: { kind: 'csv', path: csv, timeColumn: 'event_time' },
              },
              window: { start: new Date(hour).toISOString(), end: new Date(hour + 3_600_000).toISOString() },
            },
          ],
        });
        const wall = performance.now() - start;
        if (i > 0) samples.push({ wall, ...(await fromHistory(temporal.client, workflowId)) }); // run 0 warms up
      }
    });
  } finally {
    await store.deletePrefix('');
    store.close();
    await database.close();
    await temporal.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const wall = median(samples.map((s) => s.wall));
  const total = median(samples.map((s) => s.total));
  const inside = median(samples.map((s) => s.inside));
  const activities = median(samples.map((s) => s.activities));
  const perActivity = median(samples.map((s) => (s.total - s.inside) / s.activities));
  console.log(
    `featurePipeline, ${rows} rows, ${runs} runs (median), worker and client in this process, ${os.cpus().length} cores`,
  );
  console.log(`  end to end (client start → result):  ${wall.toFixed(0)} ms`);
  console.log(`  workflow start → close (history):    ${total.toFixed(0)} ms`);
  console.log(`  inside its ${activities} activities (baseline):    ${inside.toFixed(0)} ms`);
  console.log(`  orchestration overhead per activity: ${perActivity.toFixed(1)} ms`);
  console.log(
    `RESULT orchestration: end to end ${(wall / inside).toFixed(2)}x the work inside activities (${wall.toFixed(0)} ms vs ${inside.toFixed(0)} ms; ${perActivity.toFixed(1)} ms per activity)`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
