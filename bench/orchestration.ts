// bench/orchestration: what Temporal costs a small feature pipeline. A 100-row feature pipeline
// (CSV → transformation → validation → offline commit → online write → statistics) runs end to end
// through the featurePipeline workflow on a worker of its own queue; each run's history gives the
// time spent inside its activities, the baseline measured in the same run. The figures: end-to-end
// time, the ratio end to end / inside activities, and the orchestration overhead per activity
// ((end to end − inside) / activities: scheduling, task polling, history writes).
// Usage: node dist/bench/orchestration.js [rows=100] [runs=10]   (needs infra/stack.sh up)
//        node dist/bench/orchestration.js --sizes=100,1000,10000,100000 [--runs=5] [--plot=FILE.svg]
//   sweeps the row count: how time (end to end, inside activities) and the process's peak memory
//   grow as the pipeline's data grows 10× per step, and draws it as an SVG line chart.
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
import { lineChartSvg } from './support/plot';

const flag = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const sizes = flag('sizes')?.split(',').map(Number) ?? [Number(positional[0] ?? 100)];
const runs = Number(flag('runs') ?? positional[1] ?? 10);
const plot = flag('plot');
if (sizes.some((n) => !Number.isInteger(n) || n < 1) || !Number.isInteger(runs) || runs < 1)
  throw new Error('usage: orchestration.js [rows] [runs] | --sizes=100,1000 [--runs=5] [--plot=out.svg]');

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
  const results: {
    rows: number;
    wall: number;
    inside: number;
    activities: number;
    perActivity: number;
    peakRss: number;
  }[] = [];
  let hourOffset = 0;
  try {
    await withWorkers([worker!], async () => {
      for (const rows of sizes) {
        const samples: { wall: number; total: number; inside: number; activities: number }[] = [];
        let peakRss = 0;
        const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
        for (let i = 0; i <= runs; i++) {
          // One hour of data per run, each run its own window (a new commit every time).
          const hour = Date.UTC(2026, 0, 1) + hourOffset++ * 3_600_000;
          const csv = path.join(dir, `run-${rows}-${i}.csv`);
          const step = Math.max(1, Math.floor(3_600_000 / rows));
          fs.writeFileSync(
            csv,
            [
              'card_id,event_time,amount',
              ...Array.from(
                { length: rows },
                (_, r) => `c${r},${new Date(hour + r * step).toISOString()},${r}`,
              ),
            ].join('\n'),
          );
          const workflowId = `bench-orch-${process.pid}-${rows}-${i}`;
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
                window: {
                  start: new Date(hour).toISOString(),
                  end: new Date(hour + 3_600_000).toISOString(),
                },
              },
            ],
          });
          const wall = performance.now() - start;
          if (i > 0) samples.push({ wall, ...(await fromHistory(temporal.client, workflowId)) }); // run 0 warms up
        }
        clearInterval(sampler);
        results.push({
          rows,
          wall: median(samples.map((s) => s.wall)),
          inside: median(samples.map((s) => s.inside)),
          activities: median(samples.map((s) => s.activities)),
          perActivity: median(samples.map((s) => (s.total - s.inside) / s.activities)),
          peakRss,
        });
      }
    });
  } finally {
    await store.deletePrefix('');
    store.close();
    await database.close();
    await temporal.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  for (const r of results) {
    console.log(
      `featurePipeline, ${r.rows} rows, ${runs} runs (median), worker and client in this process, ${os.cpus().length} cores`,
    );
    console.log(`  end to end (client start → result):  ${r.wall.toFixed(0)} ms`);
    console.log(`  inside its ${r.activities} activities (baseline):    ${r.inside.toFixed(0)} ms`);
    console.log(`  orchestration overhead per activity: ${r.perActivity.toFixed(1)} ms`);
    console.log(`  peak memory of the process (RSS):    ${(r.peakRss / 2 ** 20).toFixed(0)} MiB`);
    console.log(
      `RESULT orchestration ${r.rows} rows: end to end ${(r.wall / r.inside).toFixed(2)}x the work inside activities (${r.wall.toFixed(0)} ms vs ${r.inside.toFixed(0)} ms; ${r.perActivity.toFixed(1)} ms per activity)`,
    );
  }
  if (plot) {
    fs.writeFileSync(
      plot,
      lineChartSvg({
        title: `featurePipeline through Temporal: time as rows grow (${os.cpus().length} cores)`,
        xLabel: 'rows per run',
        yLabel: 'milliseconds (median)',
        log: { x: true, y: true },
        series: [
          { name: 'end to end', points: results.map((r) => [r.rows, r.wall]) },
          { name: 'inside activities', points: results.map((r) => [r.rows, r.inside]) },
        ],
      }),
    );
    console.log(`wrote ${plot}`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
