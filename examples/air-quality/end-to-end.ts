// Example 2 — a batch ML system: daily PM2.5 forecasting from weather. A daily feature pipeline
// (schedule + a year of backfill), weekly retraining (schedule), daily batch inference (schedule)
// into the predictions table; a regression GBDT. Everything runs as Temporal workflows.
import path from 'node:path';
import { ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import {
  createFeatureView,
  getDeployment,
  getModelVersion,
  registerFeatureGroup,
  TASK_QUEUES,
  type Database,
  type FeaturePipelineSpec,
  type TrainingPipelineSpec,
} from '../../core';
import { generateAirQualityData, type AirQualityData } from './data/generator';
import { airQualityView, featureGroups } from './features/module';

/** Where the example runs. */
export interface AirQualityContext {
  readonly client: Client;
  readonly db: Database;
  readonly dataDir: string;
  readonly queues?: { readonly features: string; readonly training: string; readonly inference: string };
  readonly log?: (line: string) => void;
  /** @default 365 days × 5 cities */
  readonly days?: number;
  readonly cities?: number;
  readonly runId?: string;
  /** Prefix of the schedule ids (tests keep their schedules apart). @default '' */
  readonly schedulePrefix?: string;
}

/** What the run produced. */
export interface AirQualityResult {
  readonly data: AirQualityData;
  readonly model: {
    readonly version: number;
    readonly state: string;
    readonly metrics: Readonly<Record<string, number>>;
  };
  readonly deploymentVersion: number;
  readonly batches: readonly { readonly window: string; readonly rows: number }[];
  readonly schedules: readonly string[];
}

const DAY = 86_400_000;

async function ensureSchedule(
  client: Client,
  options: Parameters<Client['schedule']['create']>[0],
): Promise<string> {
  await client.schedule.create(options).catch((error: unknown) => {
    if (!String((error as Error).message).includes('already')) throw error;
  });
  return options.scheduleId;
}

/** Runs Example 2 once now and leaves its three schedules in place (paused: the data is generated). */
export async function runAirQualityExample(ctx: AirQualityContext): Promise<AirQualityResult> {
  const queues = ctx.queues ?? {
    features: TASK_QUEUES.features,
    training: TASK_QUEUES.training,
    inference: TASK_QUEUES.inference,
  };
  const log = ctx.log ?? (() => undefined);
  const suffix = ctx.runId ?? new Date().toISOString().slice(0, 10);
  const prefix = ctx.schedulePrefix ?? '';
  const end = new Date(Math.floor(Date.now() / DAY) * DAY);

  log('1/5 generating a year of daily weather and PM2.5');
  const data = await generateAirQualityData(ctx.dataDir, {
    end,
    days: ctx.days ?? 365,
    ...(ctx.cities ? { cities: ctx.cities } : {}),
  });
  for (const group of featureGroups) await registerFeatureGroup(ctx.db, group);
  await createFeatureView(ctx.db, airQualityView);

  log('2/5 daily feature pipelines: a backfill of the whole history, then a daily schedule');
  const window = { start: data.start.toISOString(), end: data.end.toISOString() };
  const pipelines: FeaturePipelineSpec[] = [
    {
      name: 'aq-weather',
      featureGroup: { name: 'aq_weather' },
      source: { kind: 'parquet', path: data.weather, timeColumn: 'event_time' },
      transformation: 'aq_weather_daily',
      windowSeconds: 86_400,
      lookbackSeconds: 7 * 86_400,
    },
    {
      name: 'aq-pm25',
      featureGroup: { name: 'aq_pm25' },
      source: { kind: 'parquet', path: data.pm25, timeColumn: 'event_time' },
      windowSeconds: 86_400,
    },
  ];
  const schedules: string[] = [];
  for (const spec of pipelines) {
    log(`  featurePipeline ${spec.name} backfill ${window.start.slice(0, 10)} → ${window.end.slice(0, 10)}`);
    await ctx.client.workflow.execute('featurePipeline', {
      taskQueue: queues.features,
      workflowId: `example-${spec.name}-backfill-${suffix}`,
      args: [{ pipeline: { ...spec, operation: 'overwrite' }, window }],
    });
    schedules.push(
      await ensureSchedule(ctx.client, {
        scheduleId: `${prefix}features-${spec.name}`,
        spec: { intervals: [{ every: '1d' }] },
        action: {
          type: 'startWorkflow',
          workflowType: 'featurePipeline',
          taskQueue: queues.features,
          workflowId: `${prefix}features-${spec.name}`,
          args: [{ pipeline: { ...spec, operation: 'upsert' } }],
        },
        policies: { overlap: ScheduleOverlapPolicy.ALLOW_ALL },
        state: { paused: true, note: 'air-quality example: daily features (unpause with live data)' },
      }),
    );
  }

  log('3/5 training: a regression GBDT on the last year; weekly retraining schedule');
  const training: TrainingPipelineSpec = {
    name: 'air-quality-gbdt',
    model: 'air_quality',
    featureView: { name: 'air_quality' },
    trainingDataset: {
      create: {
        splits: {
          kind: 'time',
          ranges: {
            train: { start: data.start, end: new Date(end.getTime() - 60 * DAY) },
            validation: {
              start: new Date(end.getTime() - 60 * DAY),
              end: new Date(end.getTime() - 30 * DAY),
            },
            test: { start: new Date(end.getTime() - 30 * DAY), end },
          },
        },
      },
    },
    task: 'regression',
    trainer: {
      name: 'gbdt',
      params: { numTrees: 300, maxDepth: 4, learningRate: 0.05, earlyStoppingRounds: 30 },
    },
    gates: { thresholds: { r2: { min: 0.5 } }, champion: { metric: 'rmse', maxDegradation: 2 } },
    alias: 'champion',
    trainQueue: queues.training,
  };
  const trained = (await ctx.client.workflow.execute('trainingPipeline', {
    taskQueue: queues.training,
    workflowId: `example-air-quality-train-${suffix}-${Date.now()}`,
    args: [{ spec: training }],
  })) as { version: number; state: string; metrics: Record<string, number> };
  log(
    `    air_quality v${trained.version} ${trained.state}: RMSE ${trained.metrics.rmse?.toFixed(2)}, MAE ${trained.metrics.mae?.toFixed(2)}, R² ${trained.metrics.r2?.toFixed(3)}`,
  );
  const champion = await getModelVersion(ctx.db, 'air_quality', 'champion').catch(() => undefined);
  if (!champion)
    throw new Error(
      `air_quality v${trained.version} was ${trained.state} by its gates and no earlier champion exists; nothing to deploy.`,
    );
  // Weekly retraining on a rolling split: the schedule's spec uses random splits (no fixed dates).
  const weekly: TrainingPipelineSpec = {
    ...training,
    trainingDataset: {
      create: { splits: { kind: 'random', fractions: { train: 0.7, validation: 0.1, test: 0.2 }, seed: 1 } },
    },
  };
  schedules.push(
    await ensureSchedule(ctx.client, {
      scheduleId: `${prefix}training-air-quality-gbdt`,
      spec: { intervals: [{ every: '7d' }] },
      action: {
        type: 'startWorkflow',
        workflowType: 'trainingPipeline',
        taskQueue: queues.training,
        workflowId: `${prefix}training-air-quality-gbdt`,
        args: [{ spec: weekly }],
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP },
      state: { paused: true, note: 'air-quality example: weekly retraining' },
    }),
  );

  log('4/5 deployment for batch scoring');
  const existing = await getDeployment(ctx.db, 'air-quality').catch(() => undefined);
  await ctx.client.workflow.execute('deploymentRollout', {
    taskQueue: queues.inference,
    workflowId: `example-air-quality-deploy-${suffix}-${Date.now()}`,
    args: [
      {
        deployment: 'air-quality',
        action: existing ? 'upgrade' : 'create',
        variants: [{ variant: 'main', model: 'air_quality', version: 'champion', weight: 100 }],
        by: 'air-quality example',
      },
    ],
  });

  log('5/5 daily batch inference: the last 7 days, one window each; daily schedule');
  const batches: { window: string; rows: number }[] = [];
  for (let d = 7; d >= 1; d--) {
    const w = {
      start: new Date(end.getTime() - d * DAY).toISOString(),
      end: new Date(end.getTime() - (d - 1) * DAY).toISOString(),
    };
    const result = (await ctx.client.workflow.execute('batchInference', {
      taskQueue: queues.inference,
      workflowId: `example-air-quality-batch-${w.start.slice(0, 10)}-${suffix}`,
      args: [{ deployment: 'air-quality', window: w, sinks: ['postgres', 's3'] }],
    })) as { rows: number };
    batches.push({ window: w.start.slice(0, 10), rows: result.rows });
  }
  schedules.push(
    await ensureSchedule(ctx.client, {
      scheduleId: `${prefix}batch-air-quality`,
      spec: { intervals: [{ every: '1d' }] },
      action: {
        type: 'startWorkflow',
        workflowType: 'batchInference',
        taskQueue: queues.inference,
        workflowId: `${prefix}batch-air-quality`,
        args: [{ deployment: 'air-quality', windowSeconds: 86_400 }],
      },
      policies: { overlap: ScheduleOverlapPolicy.ALLOW_ALL },
      state: { paused: true, note: 'air-quality example: daily predictions' },
    }),
  );
  const deployment = await getDeployment(ctx.db, 'air-quality');
  return { data, model: trained, deploymentVersion: deployment.current.version, batches, schedules };
}

/** Default data folder. */
export function defaultAirQualityDir(root: string): string {
  return path.join(root, '.fti', 'examples', 'air-quality', 'data');
}
