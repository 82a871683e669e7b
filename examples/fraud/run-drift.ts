#!/usr/bin/env node
// Runs Example 1 with drift on the local stack and prints its timeline: the fraudsters change
// tactics; the platform finds it, alerts a signed webhook, sees the drop in delayed labels,
// retrains, tests the new model in shadow on live labels and promotes it.
// Needs the stack and workers with Example 1's feature module (infra/main.sh leaves them running).
// Usage: node dist/examples/fraud/run-drift.js
import { DRIFT_NAMES, runDriftScenario } from './drift-scenario';
import { runOnLocalStack } from './local-stack';

runOnLocalStack('fraud drift example', async (ctx, config) => {
  const started = Date.now();
  const result = await runDriftScenario(ctx);
  const c = result.comparison;
  const ui = `${config.temporalUiUrl}/namespaces/${config.temporalNamespace}/workflows`;
  process.stdout.write(
    [
      '',
      '── FTI fraud example with drift: timeline ──────────────────────────────',
      ...result.timeline,
      '',
      `drift started   ${result.driftStart.slice(0, 10)}: crypto exchanges (${result.data.drift!.cryptoMerchants} merchants, a category the model never saw), mid-range amounts near home`,
      `drift alert     ${result.days.find((d) => d.alerts.some((a) => a.startsWith(DRIFT_NAMES.driftRule)))?.day ?? 'none'} (the window of that day); webhook deliveries: ${result.received.length}, all signatures valid: ${result.received.every((r) => r.signatureValid)}`,
      `decision        ${result.decision}${c ? `: ${c.metric} challenger ${c.challenger.toFixed(3)} vs champion ${c.champion.toFixed(3)}, 95 % interval of the difference ${c.interval.map((v) => v.toFixed(3)).join(' … ')}` : ''}`,
      `serving now     ${DRIFT_NAMES.deployment}: ${result.servingAtEnd.join(', ')}   (undo: fti deploy rollback ${DRIFT_NAMES.deployment})`,
      `inspect         fti monitor report ${DRIFT_NAMES.monitor} · fti alerts list · fti retrain history ${DRIFT_NAMES.policy} · fti deploy history ${DRIFT_NAMES.deployment}`,
      `Temporal UI     ${ui}   (retraining loop: ${result.workflowIds.find((id) => id.startsWith('retrain-')) ?? ''})`,
      `took            ${((Date.now() - started) / 1000).toFixed(0)} s`,
    ].join('\n') + '\n',
  );
  if (result.decision !== 'promoted') process.exitCode = 1;
});
