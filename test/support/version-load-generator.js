// A separate load-generator process for the rollout-under-load test: `clients` concurrent
// closed-loop clients POST /v1/deployments/<name>/predict over kept-alive connections until stdin
// closes, then write one JSON line per response (sent/received ms since epoch, status, deployment
// and model version) to `out` and exit. Usage: node version-load-generator.js <baseUrl> <deployment>
// <apiKey> <clients> <entities> <out>
'use strict';
/* global URL, Buffer */
const fs = require('node:fs');
const http = require('node:http');

const [base, deployment, apiKey, clientsText, entitiesText, out] = process.argv.slice(2);
const clients = Number(clientsText);
const entities = Number(entitiesText);
const target = new URL(`${base}/v1/deployments/${deployment}/predict`);
const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
const results = [];
let running = true;

function post(body) {
  return new Promise((resolve) => {
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
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
      },
    );
    request.on('error', (error) => resolve({ status: 0, text: String(error.message) }));
    request.end(body);
  });
}

async function client(id) {
  let i = id;
  while (running) {
    const sent = Date.now();
    const { status, text } = await post(JSON.stringify({ keys: { customer_id: i % entities } }));
    const received = Date.now();
    let deploymentVersion = null;
    let modelVersion = null;
    if (status === 200) {
      const body = JSON.parse(text);
      deploymentVersion = body.deploymentVersion;
      modelVersion = body.predictions[0].model.version;
    }
    results.push({
      client: id,
      sent,
      received,
      status,
      deploymentVersion,
      modelVersion,
      error: status === 200 ? undefined : text.slice(0, 200),
    });
    i += clients;
  }
}

const done = Promise.all(Array.from({ length: clients }, (_, id) => client(id)));
process.stdout.write('ready\n');
process.stdin.on('data', () => undefined);
process.stdin.on('end', async () => {
  running = false;
  await done;
  fs.writeFileSync(out, results.map((r) => JSON.stringify(r)).join('\n'));
  process.stdout.write(`${results.length} responses\n`);
  process.exit(0);
});
