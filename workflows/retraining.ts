import {
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  executeChild,
  log,
  proxyActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { MonitoringActivities } from '../activities/monitoring';
import { retrainingWorkflowId, TASK_QUEUES } from '../core/pipelines';
import { deploymentRollout } from './inference';
import { trainingPipeline } from './training-pipeline';

/** Why a loop was asked to retrain. */
export interface RetrainTrigger {
  readonly alertId?: string;
  readonly rule?: string;
  readonly by?: string;
}

/** Sent by alert evaluation (or `fti retrain trigger`); ignored while a cycle runs (deduplication). */
export const retrainSignal = defineSignal<[RetrainTrigger]>('retrain');
/** What the loop is doing: `idle`, `training`, `deploying challenger`, `comparing`, `deciding`. */
export const retrainPhaseQuery = defineQuery<{ phase: string; cycle: number; ignored: number }>('phase');

/** Input of {@link retrainingLoop}. */
export interface RetrainingLoopInput {
  readonly policy: string;
  /** Cycles completed before this run (carried over continue-as-new). */
  readonly cycle?: number;
  /** Queues of the training pipeline and the deployment rollouts (default: the platform's). */
  readonly queues?: { readonly training?: string; readonly inference?: string };
}

// Database steps retry until the database is back: an outage pauses the loop, never ends it.
const steps = proxyActivities<MonitoringActivities>({
  startToCloseTimeout: '10 minutes',
  retry: {
    initialInterval: '2 seconds',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
  },
});

/**
 * The closed loop of one retraining policy (workflow `retrain-<policy>`, queue `fti-inference`):
 * waits for an alert of its rules; runs the training pipeline (a child on `fti-training`); a version
 * that passed its gates joins the deployment as a shadow or an A/B variant (a `deploymentRollout`
 * child, smoke-tested); every `checkEvery` it compares challenger and champion on live labelled
 * traffic and promotes the challenger only when a bootstrap interval of the metric difference lies
 * above zero, else (interval below zero, or `maxWait` reached) removes it. Every step is recorded
 * with its evidence (`fti retrain history`) and every deployment change is a deployment version
 * (`fti deploy history`), reversible with `fti deploy rollback`. Alerts during a cycle are ignored.
 */
export async function retrainingLoop(input: RetrainingLoopInput): Promise<void> {
  // A loop started afresh (a recreated policy) continues the policy's numbering.
  const cycle = (input.cycle ?? (await steps.lastRetrainingCycle(input.policy))) + 1;
  const triggers: RetrainTrigger[] = [];
  let phase = 'idle';
  let ignored = 0;
  setHandler(retrainSignal, (t) => {
    if (phase === 'idle') triggers.push(t);
    else ignored++;
  });
  setHandler(retrainPhaseQuery, () => ({ phase, cycle, ignored }));
  upsertSearchAttributes({ FtiPipeline: ['retraining'] });
  // Idle loops continue as new daily, so their history stays short.
  const woke = await condition(() => triggers.length > 0, '1 day');
  if (!woke) await continueAsNew<typeof retrainingLoop>({ ...input, cycle: cycle - 1 });
  let challengerChampion: string | undefined;
  try {
    phase = 'training';
    const policy = input.policy;
    const id = `${retrainingWorkflowId(policy)}-cycle-${cycle}`;
    await steps.recordRetraining({
      policy,
      cycle,
      decision: 'triggered',
      evidence: { triggers: [...triggers] },
    });
    const spec = await steps.retrainingSpec(policy);
    let trained;
    try {
      trained = await executeChild(trainingPipeline, {
        args: [{ spec: spec.training }],
        taskQueue: input.queues?.training ?? TASK_QUEUES.training,
        workflowId: `${id}-training`,
      });
    } catch (error) {
      await steps.recordRetraining({
        policy,
        cycle,
        decision: 'failed',
        evidence: { step: 'training', error: String(error) },
      });
      return continueAsNew<typeof retrainingLoop>({ ...input, cycle });
    }
    const version = { model: trained.model, modelVersion: trained.version };
    if (trained.state === 'rejected') {
      await steps.recordRetraining({
        policy,
        cycle,
        decision: 'rejected_by_gates',
        ...version,
        evidence: { result: trained },
      });
      return continueAsNew<typeof retrainingLoop>({ ...input, cycle });
    }
    await steps.recordRetraining({
      policy,
      cycle,
      decision: 'trained',
      ...version,
      evidence: { trainingDataset: trained.trainingDataset },
    });

    phase = 'deploying challenger';
    const challenger = await steps.challengerChange(policy, trained.model, trained.version, cycle);
    challengerChampion = challenger.champion;
    const deployed = await executeChild(deploymentRollout, {
      args: [challenger.change],
      taskQueue: input.queues?.inference ?? TASK_QUEUES.inference,
      workflowId: `${id}-challenger`,
    });
    await steps.recordRetraining({
      policy,
      cycle,
      decision: 'challenger_deployed',
      ...version,
      deploymentVersion: deployed.version,
      evidence: { variants: challenger.change.variants ?? [], champion: challenger.champion },
    });

    phase = 'comparing';
    const since = new Date().toISOString();
    const deadline = Date.now() + spec.maxWaitSeconds * 1000;
    let comparison;
    for (;;) {
      await sleep(spec.checkEverySeconds * 1000);
      comparison = await steps.compareChallenger(policy, challenger.champion, since);
      if (comparison.verdict !== 'undecided' || Date.now() >= deadline) break;
      await steps.recordRetraining({
        policy,
        cycle,
        decision: 'waiting',
        ...version,
        evidence: { comparison },
      });
    }
    phase = 'deciding';
    const promote = comparison.verdict === 'better';
    const reason = promote
      ? comparison.reason
      : comparison.verdict === 'worse'
        ? comparison.reason
        : `no decision within ${spec.maxWaitSeconds} s: ${comparison.reason}`;
    const change = await steps.decisionChange(policy, challenger.champion, promote, cycle, {
      comparison,
      reason,
    });
    const applied = await executeChild(deploymentRollout, {
      args: [change],
      taskQueue: input.queues?.inference ?? TASK_QUEUES.inference,
      workflowId: `${id}-${promote ? 'promote' : 'reject'}`,
    });
    if (promote) await steps.moveChampionAlias(trained.model, trained.version, policy);
    await steps.recordRetraining({
      policy,
      cycle,
      decision: promote ? 'promoted' : 'rejected',
      ...version,
      deploymentVersion: applied.version,
      evidence: { comparison, reason, ignoredAlerts: ignored },
    });
  } catch (error) {
    // Any failed step ends the cycle, not the loop: record it, take a deployed challenger out
    // again (best effort), and wait for the next alert.
    await steps.recordRetraining({
      policy: input.policy,
      cycle,
      decision: 'failed',
      evidence: { phase, error: String(error) },
    });
    if (challengerChampion !== undefined)
      try {
        const change = await steps.decisionChange(input.policy, challengerChampion, false, cycle, {
          reason: `cycle failed in ${phase}`,
        });
        await executeChild(deploymentRollout, {
          args: [change],
          taskQueue: input.queues?.inference ?? TASK_QUEUES.inference,
          workflowId: `${retrainingWorkflowId(input.policy)}-cycle-${cycle}-cleanup`,
        });
      } catch (cleanup) {
        log.warn('challenger not removed after a failed cycle', { error: String(cleanup) });
      }
    return continueAsNew<typeof retrainingLoop>({ ...input, cycle });
  }
  log.info('retraining cycle done', { policy: input.policy, cycle, workflow: workflowInfo().workflowId });
  return continueAsNew<typeof retrainingLoop>({ ...input, cycle });
}
