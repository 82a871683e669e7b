import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../core/config';
import { openDatabase } from '../../core/db';
import { ValidationError } from '../../core/errors';
import { loadFeatureModules, PostgresOnlineStore } from '../../core/featurestore';
import { TASK_QUEUES } from '../../core/pipelines';
import {
  createApiKey,
  createInferenceServer,
  deploymentHistory,
  getDeployment,
  listApiKeys,
  listDeployments,
  revokeApiKey,
  SERVICE_S3_OPTIONS,
  type BatchInferenceResult,
  type DeploymentInfo,
  type PredictionSink,
  type VariantRequest,
} from '../../core/serving';
import { objectStoreFromConfig } from '../../core/storage';
import type { DeploymentChange } from '../../activities/inference';
import type { DeploymentRolloutResult } from '../../workflows';
import { isoOption, jsonObjectOption, parseEvery, positiveInt, withDatabase } from '../context';
import { emit, table, type OutputOptions } from '../output';
import { backfillSchedule } from '../schedules';
import { connectTemporal, runUrl, showProgress } from '../temporal-client';
import { ScheduleOverlapPolicy } from '@temporalio/client';

/** `name=model:version:weight` (version may be an alias); `--shadow name=model:version`. */
export function parseVariant(text: string, shadow = false): VariantRequest {
  const match = /^([a-z][a-z0-9_-]*)=([a-z][a-z0-9_-]*):([a-z0-9_-]+)(?::(\d{1,3}))?$/.exec(text);
  if (!match || (!shadow && match[4] === undefined))
    throw new ValidationError(
      `variant "${text}" must look like ${shadow ? 'name=model:version' : 'name=model:version:weight'} (version may be an alias such as champion).`,
    );
  const version = /^\d+$/.test(match[3]!) ? Number(match[3]) : match[3]!;
  return { variant: match[1]!, model: match[2]!, version, weight: shadow ? 0 : Number(match[4]), shadow };
}

function describeDeployment(d: DeploymentInfo): string {
  return [
    `${d.name} v${d.current.version} (${d.current.action}, missing features: ${d.current.missingFeaturePolicy})`,
    table([
      ['VARIANT', 'WEIGHT', 'SHADOW', 'MODEL', 'FEATURE VIEW', 'TRAINING DATASET'],
      ...d.current.bindings.map((b) => [
        b.variant,
        String(b.weight),
        b.shadow ? 'yes' : '',
        `${b.model.name} v${b.model.version}`,
        `${b.featureView.name} v${b.featureView.version}`,
        `#${b.trainingDataset.version}`,
      ]),
    ]),
  ].join('\n');
}

async function rollout(change: DeploymentChange, options: OutputOptions & { wait: boolean }): Promise<void> {
  const config = loadConfig();
  const client = await connectTemporal(config);
  try {
    const workflowId = `deploy-${change.deployment}-${change.action}-${Date.now()}`;
    const handle = await client.workflow.start('deploymentRollout', {
      taskQueue: TASK_QUEUES.inference,
      workflowId,
      args: [change],
    });
    const url = runUrl(config, workflowId, handle.firstExecutionRunId);
    if (!options.wait) return emit(options, { workflowId, url }, () => `started ${workflowId}\n${url}`);
    if (!options.json) process.stderr.write(`rolling out ${change.deployment} (${change.action}) — ${url}\n`);
    const result = (await showProgress(handle, handle.result(), options.json)) as DeploymentRolloutResult;
    emit(options, { ...result, url }, () =>
      [
        `${result.deployment} is now v${result.version}`,
        ...result.smoke.map((s) => `smoke ${s.variant} (${s.model}): ok — ${s.detail}`),
        url,
      ].join('\n'),
    );
  } finally {
    await client.connection.close();
  }
}

/** The reason a version records, short: a retraining decision with its evidence, or a rollback's target. */
function whyOf(settings: Readonly<Record<string, unknown>>): string {
  const r = settings.retraining as
    { policy?: string; cycle?: number; step?: string; reason?: string } | undefined;
  if (r) return `retraining ${r.policy} cycle ${r.cycle}: ${r.step}${r.reason ? ` (${r.reason})` : ''}`;
  const alias = settings.aliasRestored as { model?: string; alias?: string; to?: number } | undefined;
  if (settings.rolledBackTo !== undefined)
    return `rollback to version ${String(settings.rolledBackTo)}${alias ? `; ${alias.model} alias ${alias.alias} back to v${alias.to}` : ''}`;
  return '';
}

const rolloutOptions = (command: Command) =>
  command
    .option(
      '--smoke <json>',
      'a request that must succeed on the new binding first, e.g. \'{"keys":{"card_id":"c1"}}\'',
    )
    .option('--missing <policy>', 'missing online features: error | null')
    .option('--by <who>', 'recorded in the history', 'cli')
    .option('--no-wait', 'print the run id and UI link, do not wait')
    .option('--json', 'machine-readable output');

type RolloutOptions = OutputOptions & { smoke?: string; missing?: string; by: string; wait: boolean };

function changeOf(
  deployment: string,
  action: DeploymentChange['action'],
  variants: VariantRequest[] | undefined,
  options: RolloutOptions,
): DeploymentChange {
  if (options.missing !== undefined && options.missing !== 'error' && options.missing !== 'null')
    throw new ValidationError(`--missing must be "error" or "null", not "${options.missing}".`);
  const smoke = jsonObjectOption(options.smoke, '--smoke');
  return {
    deployment,
    action,
    ...(variants ? { variants } : {}),
    ...(options.missing ? { missing: options.missing as 'error' | 'null' } : {}),
    ...(smoke ? { smoke: smoke as DeploymentChange['smoke'] } : {}),
    by: options.by,
  };
}

/** `fti deploy`, `fti batch`, `fti predict`, `fti apikey`, `fti serve` — the inference side. */
export function registerInferenceCommands(program: Command): void {
  const deploy = program
    .command('deploy')
    .description('deployments: create, upgrade, rollback, split traffic (A/B, shadow), status, history')
    .addHelpText(
      'after',
      `
Examples:
  $ fti deploy create fraud --model fraud --alias champion --smoke '{"keys":{"card_id":"c1"}}'
  $ fti deploy upgrade fraud --model fraud --version 4
  $ fti deploy rollback fraud
  $ fti deploy rollback fraud --to 3
  $ fti deploy split fraud --variant control=fraud:3:90 --variant treatment=fraud:4:10 --shadow shadow=fraud:5
  $ fti deploy status fraud
  $ fti deploy history fraud
Changes run as a deploymentRollout workflow on fti-inference: every new binding is loaded and smoke-tested before the switch.`,
    );

  // create and upgrade bind one model version (by number or alias) as variant "main".
  for (const [action, description] of [
    ['create', 'bind a model version (and its feature view + training dataset) to a new deployment'],
    ['upgrade', 'switch the deployment to another model version (new deployment version)'],
  ] as const)
    rolloutOptions(
      deploy
        .command(`${action} <name>`)
        .description(description)
        .requiredOption('--model <name>', 'registered model')
        .option('--version <n>', 'model version')
        .option('--alias <alias>', 'model alias, e.g. champion'),
    ).action(
      async (name: string, options: RolloutOptions & { model: string; version?: string; alias?: string }) => {
        if (!options.version === !options.alias)
          throw new ValidationError('give exactly one of --version or --alias.');
        const version = options.version ? positiveInt(options.version, '--version') : options.alias!;
        await rollout(
          changeOf(name, action, [{ variant: 'main', model: options.model, version, weight: 100 }], options),
          options,
        );
      },
    );

  rolloutOptions(
    deploy
      .command('rollback <name>')
      .description(
        'return to the previous good version — the newest earlier one neither rolled back from nor itself a rollback — or --to VERSION, as a new version; the smoke test runs on that version before the switch',
      )
      .option('--to <version>', 'the deployment version to return to (see fti deploy history)'),
  ).action(async (name: string, options: RolloutOptions & { to?: string }) => {
    const to = options.to !== undefined ? positiveInt(options.to, '--to') : undefined;
    await rollout(
      { ...changeOf(name, 'rollback', undefined, options), ...(to !== undefined ? { to } : {}) },
      options,
    );
  });

  rolloutOptions(
    deploy
      .command('split <name>')
      .description('split traffic between variants by weight (sticky per entity), optionally with shadows')
      .requiredOption('--variant <spec...>', 'name=model:version:weight (weights add to 100)')
      .option('--shadow <spec...>', 'name=model:version (scores and logs, never answers)'),
  ).action(async (name: string, options: RolloutOptions & { variant: string[]; shadow?: string[] }) => {
    const variants = [
      ...options.variant.map((v) => parseVariant(v)),
      ...(options.shadow ?? []).map((v) => parseVariant(v, true)),
    ];
    await rollout(changeOf(name, 'split', variants, options), options);
  });

  deploy
    .command('status <name>')
    .description('the current version and its bindings')
    .option('--json', 'machine-readable output')
    .action(async (name: string, options: OutputOptions) => {
      const d = await withDatabase(({ db }) => getDeployment(db, name));
      emit(options, d, () => describeDeployment(d));
    });

  deploy
    .command('history <name>')
    .description('every version: when, what, by whom, which run')
    .option('--json', 'machine-readable output')
    .action(async (name: string, options: OutputOptions) => {
      const history = await withDatabase(({ db }) => deploymentHistory(db, name));
      emit(options, history, () =>
        table([
          ['VERSION', 'ACTION', 'WHEN', 'BY', 'RUN', 'BINDINGS', 'WHY'],
          ...history.map((h) => [
            String(h.version),
            h.action,
            h.createdAt.toISOString(),
            h.createdBy,
            String(h.pipelineRunId ?? ''),
            h.bindings
              .map(
                (b) =>
                  `${b.variant}=${b.model.name} v${b.model.version}${b.shadow ? ' (shadow)' : ` ${b.weight}%`}`,
              )
              .join(', '),
            whyOf(h.settings),
          ]),
        ]),
      );
    });

  deploy
    .command('list')
    .description('every deployment with its current version')
    .option('--json', 'machine-readable output')
    .action(async (options: OutputOptions) => {
      const all = await withDatabase(({ db }) => listDeployments(db));
      emit(options, all, () =>
        table([
          ['DEPLOYMENT', 'VERSION', 'VARIANTS'],
          ...all.map((d) => [
            d.name,
            String(d.current.version),
            d.current.bindings.map((b) => `${b.variant}=${b.model.name} v${b.model.version}`).join(', '),
          ]),
        ]),
      );
    });

  const batch = program
    .command('batch')
    .description('batch inference: score a window, schedule it, backfill a range')
    .addHelpText(
      'after',
      '\nExamples:\n  $ fti batch run fraud --start 2026-11-24T00:00:00Z --end 2026-11-25T00:00:00Z\n  $ fti batch schedule create fraud --every 1d\n  $ fti batch backfill fraud --start 2026-11-01T00:00:00Z --end 2026-11-25T00:00:00Z',
    );
  batch
    .command('run <deployment>')
    .description('score one window through the batchInference workflow (re-running replaces its predictions)')
    .requiredOption('--start <iso>', 'window start (inclusive)')
    .requiredOption('--end <iso>', 'window end (exclusive)')
    .option('--sinks <list>', 's3,postgres', 's3,postgres')
    .option('--no-wait', 'print the run id and UI link, do not wait')
    .option('--json', 'machine-readable output')
    .action(
      async (
        deployment: string,
        options: OutputOptions & { start: string; end: string; sinks: string; wait: boolean },
      ) => {
        const window = { start: isoOption(options.start, '--start')!, end: isoOption(options.end, '--end')! };
        const sinks = options.sinks.split(',').map((s) => s.trim()) as PredictionSink[];
        const config = loadConfig();
        const client = await connectTemporal(config);
        try {
          const workflowId = `batch-${deployment}-${window.start}-${Date.now()}`.replace(/[:.]/g, '-');
          const handle = await client.workflow.start('batchInference', {
            taskQueue: TASK_QUEUES.inference,
            workflowId,
            args: [{ deployment, window, sinks }],
          });
          const url = runUrl(config, workflowId, handle.firstExecutionRunId);
          if (!options.wait) return emit(options, { workflowId, url }, () => `started ${workflowId}\n${url}`);
          if (!options.json)
            process.stderr.write(`scoring ${deployment} ${window.start}..${window.end} — ${url}\n`);
          const result = (await showProgress(handle, handle.result(), options.json)) as BatchInferenceResult;
          emit(options, { ...result, url }, () =>
            [
              `${result.rows} predictions by ${result.model.name} v${result.model.version} (deployment v${result.deploymentVersion}, ${result.variant})`,
              ...result.outputs.map((o) => `${o.sink}: ${o.location}`),
              url,
            ].join('\n'),
          );
        } finally {
          await client.connection.close();
        }
      },
    );
  const schedule = batch.command('schedule').description('Temporal Schedules of batch inference');
  schedule
    .command('create <deployment>')
    .description('score every interval (the window ends at each scheduled time)')
    .requiredOption('--every <interval>', 'interval such as 1h or 1d')
    .option('--sinks <list>', 's3,postgres', 's3,postgres')
    .option('--paused', 'create paused')
    .option('--json', 'machine-readable output')
    .action(
      async (
        deployment: string,
        options: OutputOptions & { every: string; sinks: string; paused?: boolean },
      ) => {
        const seconds = parseEvery(options.every);
        const client = await connectTemporal(loadConfig());
        try {
          const handle = await client.schedule.create({
            scheduleId: `batch-${deployment}`,
            spec: { intervals: [{ every: seconds * 1000 }] },
            action: {
              type: 'startWorkflow',
              workflowType: 'batchInference',
              taskQueue: TASK_QUEUES.inference,
              workflowId: `batch-${deployment}`,
              args: [
                { deployment, windowSeconds: seconds, sinks: options.sinks.split(',').map((s) => s.trim()) },
              ],
            },
            policies: { overlap: ScheduleOverlapPolicy.ALLOW_ALL, catchupWindow: '1 day' },
            state: { paused: options.paused ?? false, note: `batch inference ${deployment}` },
          });
          emit(options, { scheduleId: handle.scheduleId }, () => `schedule ${handle.scheduleId} created`);
        } finally {
          await client.connection.close();
        }
      },
    );
  schedule
    .command('delete <deployment>')
    .description('delete the batch schedule of a deployment')
    .option('--json', 'machine-readable output')
    .action(async (deployment: string, options: OutputOptions) => {
      const client = await connectTemporal(loadConfig());
      try {
        await client.schedule.getHandle(`batch-${deployment}`).delete();
        emit(options, { deleted: `batch-${deployment}` }, () => `schedule batch-${deployment} deleted`);
      } finally {
        await client.connection.close();
      }
    });
  batch
    .command('backfill <deployment>')
    .description('run the schedule for every window in [start, end)')
    .requiredOption('--start <iso>', 'range start')
    .requiredOption('--end <iso>', 'range end')
    .option('--json', 'machine-readable output')
    .action(async (deployment: string, options: OutputOptions & { start: string; end: string }) => {
      const client = await connectTemporal(loadConfig());
      try {
        await backfillSchedule(
          client.schedule.getHandle(`batch-${deployment}`),
          new Date(isoOption(options.start, '--start')!),
          new Date(isoOption(options.end, '--end')!),
        );
        emit(
          options,
          { backfilled: `batch-${deployment}` },
          () => `backfill of batch-${deployment} requested`,
        );
      } finally {
        await client.connection.close();
      }
    });

  program
    .command('predict <deployment>')
    .description('call the online service: POST /v1/deployments/<deployment>/predict')
    .requiredOption('--keys <json>', 'entity keys, e.g. \'{"card_id":"c1"}\'')
    .option('--request <json>', 'request-time values, e.g. \'{"amount": 42.5}\'')
    .option('--url <url>', 'service base URL (default http://FTI_SERVICE_HOST:FTI_SERVICE_PORT)')
    .option('--api-key <key>', 'API key (default: FTI_API_KEY)')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      '\nExample:\n  $ FTI_API_KEY=fti_… fti predict fraud --keys \'{"card_id":"c1"}\' --request \'{"amount": 950}\'',
    )
    .action(
      async (
        deployment: string,
        options: OutputOptions & { keys: string; request?: string; url?: string; apiKey?: string },
      ) => {
        const config = loadConfig();
        const base = options.url ?? `http://${config.serviceHost}:${config.servicePort}`;
        const keys = jsonObjectOption(options.keys, '--keys')!;
        const request = jsonObjectOption(options.request, '--request');
        const apiKey = options.apiKey ?? process.env.FTI_API_KEY;
        let response: Response;
        try {
          response = await fetch(`${base}/v1/deployments/${encodeURIComponent(deployment)}/predict`, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
            },
            body: JSON.stringify({ keys, ...(request ? { request } : {}) }),
          });
        } catch {
          throw new ValidationError(
            `cannot reach the inference service at ${base}; start it (npm run serve, or the inference worker) or pass --url.`,
          );
        }
        const body = (await response.json()) as {
          error?: string;
          predictions?: Record<string, unknown>[];
          deploymentVersion?: number;
        };
        if (!response.ok)
          throw new ValidationError(`HTTP ${response.status}: ${body.error ?? 'request failed'}`);
        emit(options, body, () => {
          const p = body.predictions![0]!;
          return `${deployment} v${body.deploymentVersion} (${String(p.variant)}, model v${String((p.model as { version: number }).version)}): ${JSON.stringify(p.label ?? p.prediction)} ${p.probabilities ? JSON.stringify(p.probabilities) : ''}`;
        });
      },
    );

  const apikey = program
    .command('apikey')
    .description('API keys of the inference service (stored hashed; revocable)')
    .addHelpText(
      'after',
      '\nExamples:\n  $ fti apikey create fraud-frontend --deployment fraud\n  $ fti apikey create payments --scope push\n  $ fti apikey create notebook --scope features,models\n  $ fti apikey create ops --scope admin\n  $ fti apikey list\n  $ fti apikey revoke 3',
    );
  apikey
    .command('create <client>')
    .description('create a key for a client (shown once)')
    .option(
      '--scope <scopes>',
      'comma-separated: predict (predict, OIP), push (feature events), labels (delayed ground truth), features (read the feature store over REST), models (import models over REST), admin (everything)',
      'predict',
    )
    .option('--deployment <names>', 'comma-separated deployments the key may call (default: all)')
    .option('--json', 'machine-readable output')
    .action(async (client: string, options: OutputOptions & { scope: string; deployment?: string }) => {
      const list = (v: string) =>
        v
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean);
      const created = await withDatabase(({ db }) =>
        createApiKey(db, client, {
          scopes: list(options.scope),
          ...(options.deployment !== undefined ? { deployments: list(options.deployment) } : {}),
        }),
      );
      emit(
        options,
        created,
        () =>
          `key for ${created.client} (id ${created.id}; scopes ${created.scopes.join(', ')}; deployments ${created.deployments?.join(', ') ?? 'all'}): ${created.key}\nstore it now; only its hash is kept.`,
      );
    });
  apikey
    .command('list')
    .description('keys (prefix, client, scopes, deployments, created, revoked) — never the secrets')
    .option('--json', 'machine-readable output')
    .action(async (options: OutputOptions) => {
      const keys = await withDatabase(({ db }) => listApiKeys(db));
      emit(options, keys, () =>
        table([
          ['ID', 'CLIENT', 'PREFIX', 'SCOPES', 'DEPLOYMENTS', 'CREATED', 'REVOKED'],
          ...keys.map((k) => [
            String(k.id),
            k.client,
            `${k.prefix}…`,
            k.scopes.join(','),
            k.deployments?.join(',') ?? 'all',
            k.createdAt.toISOString(),
            k.revokedAt?.toISOString() ?? '',
          ]),
        ]),
      );
    });
  apikey
    .command('revoke <id>')
    .description('revoke a key (servers refuse it within 30 s)')
    .option('--json', 'machine-readable output')
    .action(async (id: string, options: OutputOptions) => {
      const revoked = await withDatabase(({ db }) => revokeApiKey(db, positiveInt(id, 'id')));
      if (!revoked) throw new ValidationError(`no active key with id ${id}.`);
      emit(options, { id: Number(id), revoked }, () => `key ${id} revoked`);
    });

  program
    .command('serve')
    .description('run the online inference service in the foreground (FTI_SERVICE_HOST/PORT; Ctrl-C stops)')
    .action(async () => {
      const config = loadConfig();
      // Its own pool: the server keeps one connection for LISTEN and serves many requests at once.
      const handle = await openDatabase({ url: config.databaseUrl, maxConnections: 16 });
      try {
        const store = objectStoreFromConfig(config, '', SERVICE_S3_OPTIONS);
        const modules = await loadFeatureModules(handle.db);
        const server = await createInferenceServer({
          db: handle.db,
          pool: handle.pool,
          store,
          online: new PostgresOnlineStore({
            pool: handle.pool,
            scratchDir: path.join(os.tmpdir(), `fti-serve-${process.pid}`),
          }),
          onDemand: modules.onDemand,
          requireApiKey: config.requireApiKey,
        });
        const address = await server.app.listen({ host: config.serviceHost, port: config.servicePort });
        process.stderr.write(
          `inference service on ${address} (API key ${config.requireApiKey ? 'required' : 'not required'})\n`,
        );
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
        await server.close();
        store.close();
      } finally {
        await handle.close();
      }
    });
}
