#!/usr/bin/env node
// Runs Example 1 (real-time card fraud) end to end on the local stack and prints a summary.
// Needs the stack and the three workers with this example's feature module:
//   FTI_FEATURE_MODULES=dist/examples/fraud/features/module.js node dist/cli/main.js stack up --workers
// (infra/main.sh does all of it). Usage: node dist/examples/fraud/run.js
import { runFraudExample } from './end-to-end';
import { runOnLocalStack } from './local-stack';

runOnLocalStack('fraud example', async (ctx, config) => {
  const started = Date.now();
  const serviceUrl = ctx.serviceUrl;
  const result = await runFraudExample(ctx);
  const m = result.model.metrics;
  const rt = result.realTime;
  const ms = (v: number | null) => (v === null ? 'n/a' : `${Math.round(v)} ms`);
  const ui = `${config.temporalUiUrl}/namespaces/${config.temporalNamespace}/workflows`;
  process.stdout.write(
    [
      '',
      '── FTI fraud example: summary ──────────────────────────────────────────',
      `data            ${result.data.counts.transactions} transactions (${result.data.counts.fraud} fraudulent), ${result.data.start.toISOString().slice(0, 10)} → ${result.data.end.toISOString().slice(0, 10)}`,
      `rows ingested   ${Object.entries(result.rowsIngested)
        .map(([g, n]) => `${g} ${n}`)
        .join(', ')}`,
      `model           fraud v${result.model.version} (${result.model.state}): test ROC AUC ${m.roc_auc?.toFixed(4)}, PR AUC ${m.pr_auc?.toFixed(4)}, recall ${m.recall?.toFixed(3)}, precision ${m.precision?.toFixed(3)}`,
      `challenger      fraud v${result.challenger.version} (${result.challenger.state}): test ROC AUC ${result.challenger.metrics.roc_auc?.toFixed(4)}, PR AUC ${result.challenger.metrics.pr_auc?.toFixed(4)}`,
      `deployment      fraud v${result.deployment.version}`,
      'predictions     ' +
        result.predictions
          .map((p) => `${p.txn_id}${p.fraud ? ' (fraud)' : ''}: ${p.probability.toFixed(3)} [${p.variant}]`)
          .join('\n                '),
      `batch           ${result.batch.rows} predictions for the last day → ${result.batch.outputs.map((o) => `${o.sink}:${o.location}`).join(', ')}`,
      `real time       streaming pipeline ${rt.pipeline} (still running: fti stream status ${rt.pipeline}): ${rt.liveEvents} live events replayed at ${rt.publishedPerSecond.toFixed(0)}/s after ${rt.warmupEvents} of warm-up;`,
      `                the pipeline ran at ${rt.eventsPerSecond.toFixed(0)} events/s, freshness (event time → online) p50 ${ms(rt.freshnessP50Ms)}, p99 ${ms(rt.freshnessP99Ms)}`,
      `card testing    ${rt.burst.tests} small online charges on ${rt.burst.card} pushed to /v1/feature-groups/fraud_transactions/events were online after ${rt.burst.visibleAfterMs} ms;`,
      `                a 1,450 electronics purchase on that card scored ${rt.burst.before.toFixed(3)} before the burst, ${rt.burst.after.toFixed(3)} after`,
      `service         ${serviceUrl}/v1/deployments/fraud/predict   (API key: fti apikey create <client>)`,
      `Temporal UI     ${ui}   (${result.workflowIds.length} runs)`,
      `took            ${((Date.now() - started) / 1000).toFixed(0)} s — the stack keeps running; stop it with: infra/stack.sh down`,
    ].join('\n') + '\n',
  );
});
