// Example 1 end to end, as three teams would run it through the platform: generate raw data →
// feature pipelines (backfill + an hourly schedule) → feature view → training pipeline (GBDT, gates,
// registry) → deployment → online predictions over HTTP → a challenger in an A/B split → batch
// inference over the last day. Everything runs as Temporal workflows on the teams' task queues.
import path from 'node:path';
import { ScheduleOverlapPolicy, WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import {
  createApiKey,
  createFeatureView,
  getDeployment,
  getModelVersion,
  loadConfig,
  registerFeatureGroup,
  sqlPath,
  streamWorkflowId,
  TASK_QUEUES,
  withDuck,
  type Database,
  type FeaturePipelineSpec,
  type TrainingPipelineSpec,
} from '../../core';
import { generateFraudData, type FraudData } from './data/generator';
import { featureGroups, fraudView } from './features/module';
import { fraudVariants, predictFraud, smokeRequest } from './inference/client';
import { challengerParams, championParams, fraudTrainingPipeline } from './training/pipelines';
import { runRealTime, type RealTimeResult } from './real-time';

/** The three teams' task queues. */
export interface FraudQueues {
  readonly features: string;
  readonly training: string;
  readonly inference: string;
}

/** Where a fraud example (the end-to-end run, the drift scenario) runs. */
export interface FraudRunContext {
  readonly client: Client;
  readonly db: Database;
  /** Example 1's data folder, as the features worker sees it (FTI_FRAUD_DATA_DIR). */
  readonly dataDir: string;
  /** Base URL of the online inference service. */
  readonly serviceUrl: string;
  /** @default the platform's queues (fti-features, fti-training, fti-inference) */
  readonly queues?: FraudQueues;
  /** Printed progress lines. */
  readonly log?: (line: string) => void;
  /** Scale. @default 800 cards × 90 days */
  readonly cards?: number;
  readonly days?: number;
}

/** The queues a run uses: its own, or the platform's. */
export function fraudQueues(ctx: Pick<FraudRunContext, 'queues'>): FraudQueues {
  return (
    ctx.queues ?? {
      features: TASK_QUEUES.features,
      training: TASK_QUEUES.training,
      inference: TASK_QUEUES.inference,
    }
  );
}

/** Where the example runs. */
export interface FraudExampleContext extends FraudRunContext {
  /** Suffix for workflow ids (tests run the example more than once). */
  readonly runId?: string;
  /** NATS with JetStream for the real-time step. @default NATS_URL */
  readonly natsUrl?: string;
  /** Stop the streaming pipeline when done (tests); the main job leaves it running. @default false */
  readonly stopStreaming?: boolean;
  /** Live replay rate and length of the real-time step. @default 200 events/s for 12 s */
  readonly liveRate?: number;
  readonly liveSeconds?: number;
  /** The challenger's trainer, e.g. `xgboostChallenger`. @default gbdt with `challengerParams` */
  readonly challengerTrainer?: TrainingPipelineSpec['trainer'];
}

/** What the run produced (the main job prints it). */
export interface FraudExampleResult {
  readonly data: FraudData;
  readonly rowsIngested: Readonly<Record<string, number>>;
  readonly model: {
    readonly name: string;
    readonly version: number;
    readonly metrics: Readonly<Record<string, number>>;
    readonly state: string;
  };
  readonly challenger: {
    readonly version: number;
    readonly state: string;
    readonly metrics: Readonly<Record<string, number>>;
  };
  readonly deployment: { readonly name: string; readonly version: number };
  readonly predictions: readonly {
    readonly txn_id: string;
    readonly fraud: boolean;
    readonly probability: number;
    readonly variant: string;
  }[];
  readonly batch: { readonly rows: number; readonly outputs: readonly { sink: string; location: string }[] };
  readonly realTime: RealTimeResult;
  readonly workflowIds: readonly string[];
}

const DAY = 86_400_000;

async function execute<T>(
  ctx: FraudExampleContext,
  workflow: string,
  taskQueue: string,
  workflowId: string,
  args: unknown[],
  ids: string[],
): Promise<T> {
  ids.push(workflowId);
  ctx.log?.(`  ${workflow} ${workflowId}`);
  return (await ctx.client.workflow.execute(workflow, { taskQueue, workflowId, args })) as T;
}

/** Runs the whole example; safe to run again (commits, datasets and versions are reused or added, never duplicated). */
export async function runFraudExample(ctx: FraudExampleContext): Promise<FraudExampleResult> {
  const queues = fraudQueues(ctx);
  const log = ctx.log ?? (() => undefined);
  const ids: string[] = [];
  const suffix = ctx.runId ?? new Date().toISOString().slice(0, 10);
  // Data up to today's midnight (UTC): re-running today reuses every window.
  const end = new Date(Math.floor(Date.now() / DAY) * DAY);

  log('1/8 generating transactions with planted fraud patterns');
  const data = await generateFraudData(ctx.dataDir, {
    end,
    cards: ctx.cards ?? 800,
    days: ctx.days ?? 90,
    seed: 7,
  });
  log(
    `    ${data.counts.transactions} transactions, ${data.counts.fraud} fraudulent, ${data.counts.cards} cards`,
  );

  log('2/8 feature groups and the feature view');
  for (const group of featureGroups) await registerFeatureGroup(ctx.db, group);
  await createFeatureView(ctx.db, fraudView);

  log('3/8 feature pipelines: backfill of the history (fti-features)');
  const window = { start: data.start.toISOString(), end: data.end.toISOString() };
  const pipelines: { spec: FeaturePipelineSpec; window?: typeof window }[] = [
    {
      spec: {
        name: 'fraud-accounts',
        featureGroup: { name: 'fraud_accounts' },
        source: { kind: 'parquet', path: data.accounts },
        transformation: 'fraud_account',
      },
    },
    {
      spec: {
        name: 'fraud-merchants',
        featureGroup: { name: 'fraud_merchants' },
        source: { kind: 'parquet', path: data.merchants },
        transformation: 'fraud_merchant',
      },
    },
    {
      spec: {
        name: 'fraud-card-activity',
        featureGroup: { name: 'fraud_card_activity' },
        source: { kind: 'parquet', path: data.transactions, timeColumn: 'event_time' },
        transformation: 'fraud_card_activity',
        lookbackSeconds: 7 * 86_400,
        windowSeconds: 3600,
      },
      window,
    },
    {
      spec: {
        name: 'fraud-labels',
        featureGroup: { name: 'fraud_labels' },
        source: { kind: 'parquet', path: data.transactions, timeColumn: 'event_time' },
        transformation: 'fraud_label',
        windowSeconds: 3600,
      },
      window,
    },
  ];
  const rowsIngested: Record<string, number> = {};
  for (const p of pipelines) {
    const result = await execute<{ rowsWritten: number; commit: { commitId: number } }>(
      ctx,
      'featurePipeline',
      queues.features,
      `example-${p.spec.name}-${suffix}`,
      // The backfill rewrites each group's whole history (one commit); scheduled runs then upsert.
      [{ pipeline: { ...p.spec, operation: 'overwrite' }, ...(p.window ? { window: p.window } : {}) }],
      ids,
    ).catch(async (error: unknown) => {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      return (await ctx.client.workflow.getHandle(`example-${p.spec.name}-${suffix}`).result()) as {
        rowsWritten: number;
        commit: { commitId: number };
      };
    });
    rowsIngested[p.spec.featureGroup.name] = result.rowsWritten;
  }
  // New transactions arrive every hour: an incremental schedule (paused here: the example's data is static).
  for (const p of pipelines.filter((x) => x.window)) {
    await ctx.client.schedule
      .create({
        scheduleId: `features-${p.spec.name}`,
        spec: { intervals: [{ every: '1h' }] },
        action: {
          type: 'startWorkflow',
          workflowType: 'featurePipeline',
          taskQueue: queues.features,
          workflowId: `features-${p.spec.name}`,
          args: [{ pipeline: { ...p.spec, operation: 'upsert' } }],
        },
        policies: { overlap: ScheduleOverlapPolicy.ALLOW_ALL },
        state: {
          paused: true,
          note: 'fraud example: hourly incremental features (unpause when live data arrives)',
        },
      })
      .catch((error: unknown) => {
        if (!String((error as Error).message).includes('already')) throw error;
      });
  }

  log('4/8 training pipeline: GBDT with gates, registered as champion (fti-training)');
  const training = (name: string, params: Record<string, unknown>, alias: 'champion' | 'challenger') =>
    fraudTrainingPipeline(name, params, alias, queues.training);
  const champion = await execute<{ version: number; state: string; metrics: Record<string, number> }>(
    ctx,
    'trainingPipeline',
    queues.training,
    `example-fraud-train-${suffix}-${Date.now()}`,
    [{ spec: training('fraud-gbdt', championParams, 'champion') }],
    ids,
  );
  log(
    `    fraud v${champion.version} ${champion.state}: ROC AUC ${champion.metrics.roc_auc?.toFixed(4)}, PR AUC ${champion.metrics.pr_auc?.toFixed(4)}`,
  );
  const challenger = await execute<{ version: number; state: string; metrics: Record<string, number> }>(
    ctx,
    'trainingPipeline',
    queues.training,
    `example-fraud-challenger-${suffix}-${Date.now()}`,
    [
      {
        spec: ctx.challengerTrainer
          ? {
              ...training('fraud-challenger', challengerParams, 'challenger'),
              trainer: ctx.challengerTrainer,
            }
          : training('fraud-gbdt-small', challengerParams, 'challenger'),
      },
    ],
    ids,
  );

  log('5/8 deployment (fti-inference): rollout with a smoke test, then an A/B split with the challenger');
  const existing = await getDeployment(ctx.db, 'fraud').catch(() => undefined);
  await execute(
    ctx,
    'deploymentRollout',
    queues.inference,
    `example-fraud-deploy-${suffix}-${Date.now()}`,
    [
      {
        deployment: 'fraud',
        action: existing ? 'upgrade' : 'create',
        variants: fraudVariants(false),
        missing: 'null',
        smoke: smokeRequest,
        by: 'fraud example',
      },
    ],
    ids,
  );

  log('6/8 online predictions over HTTP');
  // One key for the example's client: it scores transactions and pushes card events.
  const { key } = await createApiKey(ctx.db, `fraud-example-${suffix}`, { scopes: ['predict', 'push'] });
  const recent = await recentTransactions(data, 6);
  const predictions: { txn_id: string; fraud: boolean; probability: number; variant: string }[] = [];
  for (const t of recent) {
    const p = await predictFraud(ctx.serviceUrl, key, t);
    predictions.push({ txn_id: t.txn_id, fraud: t.fraud, probability: p.probability, variant: p.variant });
  }
  if (challenger.state === 'registered')
    await execute(
      ctx,
      'deploymentRollout',
      queues.inference,
      `example-fraud-split-${suffix}-${Date.now()}`,
      [
        {
          deployment: 'fraud',
          action: 'split',
          variants: fraudVariants(true),
          missing: 'null',
          smoke: smokeRequest,
          by: 'fraud example',
        },
      ],
      ids,
    );

  log('7/8 batch inference over the last day');
  const batch = await execute<{ rows: number; outputs: { sink: string; location: string }[] }>(
    ctx,
    'batchInference',
    queues.inference,
    `example-fraud-batch-${suffix}-${Date.now()}`,
    [
      {
        deployment: 'fraud',
        window: { start: new Date(end.getTime() - DAY).toISOString(), end: end.toISOString() },
      },
    ],
    ids,
  );
  log('8/8 real time: card activity from the streaming pipeline while live transactions are scored');
  const realTime = await runRealTime({
    client: ctx.client,
    db: ctx.db,
    serviceUrl: ctx.serviceUrl,
    apiKey: key,
    natsUrl: ctx.natsUrl ?? loadConfig().natsUrl,
    featuresQueue: queues.features,
    data,
    ...(ctx.liveRate ? { rate: ctx.liveRate } : {}),
    ...(ctx.liveSeconds ? { liveSeconds: ctx.liveSeconds } : {}),
    log,
    stopAfter: ctx.stopStreaming ?? false,
  });
  ids.push(streamWorkflowId(realTime.pipeline));
  const deployment = await getDeployment(ctx.db, 'fraud');
  const model = await getModelVersion(ctx.db, 'fraud', champion.version);
  return {
    data,
    rowsIngested,
    model: { name: 'fraud', version: champion.version, metrics: model.metrics, state: champion.state },
    challenger: { version: challenger.version, state: challenger.state, metrics: challenger.metrics },
    deployment: { name: 'fraud', version: deployment.current.version },
    predictions,
    batch,
    realTime,
    workflowIds: ids,
  };
}

/** The last transactions of the data (with their true label), a known-fraud one among them when there is one. */
async function recentTransactions(data: FraudData, n: number) {
  return withDuck(async (duck) => {
    const rows = await duck.all<Record<string, unknown>>(
      `WITH t AS (SELECT t.*, c.txn_id IS NOT NULL AS fraud FROM read_parquet(${sqlPath(data.transactions)}) t
                  LEFT JOIN read_parquet(${sqlPath(data.chargebacks)}) c USING (txn_id))
       (SELECT * FROM t WHERE fraud ORDER BY event_time DESC LIMIT 2)
       UNION ALL (SELECT * FROM t WHERE NOT fraud ORDER BY event_time DESC LIMIT ${n - 2})`,
    );
    return rows.map((r) => ({
      txn_id: String(r.txn_id),
      card_id: String(r.card_id),
      account_id: String(r.account_id),
      merchant_id: String(r.merchant_id),
      amount: Number(r.amount),
      category: String(r.category),
      card_type: String(r.card_type),
      lat: Number(r.lat),
      lon: Number(r.lon),
      fraud: Boolean(r.fraud),
    }));
  });
}

/** Default data folder of the example. */
export function defaultDataDir(root: string): string {
  return path.join(root, '.fti', 'examples', 'fraud', 'data');
}
