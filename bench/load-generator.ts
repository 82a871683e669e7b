// A separate load-generator process for bench/serve: open-loop requests at a fixed rate to
// /v1/deployments/<name>/predict on loopback; prints one JSON line with latency percentiles (µs),
// errors, the achieved rate and the generator's own CPU time per request (it shares the machine's
// cores with the server and PostgreSQL, so its cost is part of the conditions a run measures in). Usage: node dist/bench/load-generator.js <url> <deployment> <rate> <seconds> <entities> <apiKey>
import http from 'node:http';

const [url, deployment, rateText, secondsText, entitiesText, apiKey] = process.argv.slice(2);
const rate = Number(rateText);
const seconds = Number(secondsText);
const entities = Number(entitiesText);
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const target = new URL(`${url}/v1/deployments/${deployment}/predict`);

/** One POST over a kept-alive connection; resolves with the status code. */
function post(body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          authorization: `Bearer ${apiKey}`,
        },
      },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

async function main(): Promise<void> {
  const latencies: number[] = [];
  let errors = 0;
  const interval = 1000 / rate;
  const cpu = process.cpuUsage();
  const start = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; performance.now() - start < seconds * 1000; i++) {
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const sent = performance.now();
    pending.push(
      post(JSON.stringify({ keys: { entity_id: (i * 7919) % entities } }))
        .then((status) => {
          if (status !== 200) errors++;
          else latencies.push((performance.now() - sent) * 1000);
        })
        .catch(() => {
          errors++;
        }),
    );
  }
  await Promise.all(pending);
  const elapsed = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  const cpuPerRequest = Math.round((used.user + used.system) / Math.max(1, pending.length));
  latencies.sort((a, b) => a - b);
  const q = (p: number) =>
    Math.round(latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0);
  process.stdout.write(
    `${JSON.stringify({ rate, sent: pending.length, ok: latencies.length, errors, achieved: pending.length / elapsed, p50: q(0.5), p99: q(0.99), p999: q(0.999), cpuPerRequest })}\n`,
  );
}

void main();
