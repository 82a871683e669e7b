// bench/serve: sustained load on /v1/deployments/<name>/predict (1 key; 2 feature groups, 20
// features; a 100-tree GBDT) from a separate load-generator process on loopback at several fixed
// rates: p50/p99/p99.9 and errors, against the floor measured in the same run — a raw `pg` lookup of
// the same rows plus a raw onnxruntime `session.run` on the same vector.
// Usage: node dist/bench/serve.js [entities=100000] [seconds=10] [rates=100,300,600]   (needs infra/stack.sh up)
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import * as ort from 'onnxruntime-node';
import { loadSession } from '../core/ml';
import { getModelVersion } from '../core/registry';
import { createApiKey, createInferenceServer, getDeployment } from '../core/serving';
import { PostgresOnlineStore } from '../core/featurestore';
import { buildScenario } from './support/scenario';

const entities = Number(process.argv[2] ?? 100_000);
const seconds = Number(process.argv[3] ?? 10);
const rates = (process.argv[4] ?? '100,300,600').split(',').map(Number);
const run = promisify(execFile);

const pct = (sorted: number[], q: number) =>
  Math.round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? 0);

async function main(): Promise<void> {
  const scenario = await buildScenario(entities, Math.min(entities, 50_000));
  const server = await createInferenceServer({ ...scenario.deps, pool: scenario.database.pool, threads: 1 });
  const url = await server.app.listen({ port: 0, host: '127.0.0.1' });
  const { key } = await createApiKey(scenario.database.db, 'bench');

  // Floor: the same rows by one raw pg statement + session.run on the same 20-feature vector.
  const deployment = await getDeployment(scenario.database.db, scenario.deployment);
  const model = await getModelVersion(
    scenario.database.db,
    deployment.current.bindings[0]!.model.name,
    deployment.current.bindings[0]!.model.version,
  );
  const session = await loadSession(new Uint8Array(await scenario.store.get(model.artifactKey)), {
    threads: 1,
  });
  const [t1, t2] = scenario.groups.map((g) => `fti_online."${PostgresOnlineStore.tableName(g.spec)}"`);
  const floor = async (i: number) => {
    const id = (i * 7919) % entities;
    const { rows } = await scenario.database.pool.query(
      `SELECT a.*, b.* FROM ${t1} a JOIN ${t2} b ON b.entity_id = a.entity_id WHERE a.entity_id = $1`,
      [id],
    );
    const row = rows[0] as Record<string, number>;
    const x = Float32Array.from([
      ...Array.from({ length: 10 }, (_, j) => row[`a${j}`]!),
      ...Array.from({ length: 10 }, (_, j) => row[`b${j}`]!),
    ]);
    const out = await session.run({ features: new ort.Tensor('float32', x, [1, 20]) });
    for (const t of Object.values(out)) t.dispose();
  };
  const lines = [
    `bench/serve: /predict, 1 key, 2 feature groups × 10 features, GBDT 100 trees depth 6, ${entities} entities, ${seconds} s per rate, separate load-generator process`,
  ];
  for (let i = 0; i < 300; i++) await floor(i);
  // Warm the server (JIT, sessions, pools) with a discarded run.
  await run(process.execPath, [
    path.join(__dirname, 'load-generator.js'),
    url,
    scenario.deployment,
    String(rates[0]),
    '3',
    String(entities),
    key,
  ]);
  for (const rate of rates) {
    // Floor at the same rate, one in flight, in this process.
    const floorLatencies: number[] = [];
    const interval = 1000 / rate;
    const start = performance.now();
    for (let i = 0; performance.now() - start < Math.min(seconds, 5) * 1000; i++) {
      const wait = start + i * interval - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const t = performance.now();
      await floor(i);
      floorLatencies.push((performance.now() - t) * 1000);
    }
    floorLatencies.sort((a, b) => a - b);
    const { stdout } = await run(process.execPath, [
      path.join(__dirname, 'load-generator.js'),
      url,
      scenario.deployment,
      String(rate),
      String(seconds),
      String(entities),
      key,
    ]);
    const r = JSON.parse(stdout) as {
      sent: number;
      ok: number;
      errors: number;
      achieved: number;
      p50: number;
      p99: number;
      p999: number;
    };
    const f50 = pct(floorLatencies, 0.5);
    const f99 = pct(floorLatencies, 0.99);
    lines.push(
      `  ${String(rate).padStart(4)} req/s (achieved ${r.achieved.toFixed(0)}): p50 ${r.p50} µs, p99 ${r.p99} µs, p99.9 ${r.p999} µs, errors ${r.errors}/${r.sent} | floor p50 ${f50} µs, p99 ${f99} µs | ratio p50 ${(r.p50 / f50).toFixed(2)}x, p99 ${(r.p99 / f99).toFixed(2)}x`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  await session.release();
  await server.close();
  await scenario.close();
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench/serve failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
