import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { Command } from 'commander';
import { loadConfig } from '../../core/config';
import {
  deleteRetrainingPolicy,
  getRetrainingPolicy,
  listRetrainingPolicies,
  retrainingHistory,
  saveRetrainingPolicy,
} from '../../core/monitoring/retraining';
import { retrainingWorkflowId, TASK_QUEUES } from '../../core/pipelines';
import { parseEvery, positiveInt, readJsonFile, withDatabase } from '../context';
import { emit, table, type OutputOptions } from '../output';
import { connectTemporal, runUrl } from '../temporal-client';

interface CreateOptions extends OutputOptions {
  deployment: string;
  onRule: string[];
  training: string;
  trainingWindow?: string;
  mode: string;
  weight: string;
  metric: string;
  minLabels: string;
  confidence: string;
  checkEvery: string;
  maxWait: string;
  taskQueue: string;
}

/** `fti retrain …` — closed-loop retraining policies. */
export function registerRetrainCommands(program: Command): void {
  const retrain = program
    .command('retrain')
    .description(
      'closed loop: an alert retrains, the new version meets live traffic as shadow or A/B, and is promoted only when better with confidence',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  $ fti retrain create fraud-loop --deployment fraud --on-rule fraud-drift --on-rule fraud-auc --training fraud.training.json --training-window 30d\n  $ fti retrain history fraud-loop\n  $ fti retrain trigger fraud-loop\n  $ fti deploy rollback fraud          # undo a promotion',
    );

  retrain
    .command('create <name>')
    .description('create or update a policy and start (or keep) its loop workflow retrain-<name>')
    .requiredOption('--deployment <name>', 'the deployment whose model the loop retrains and promotes')
    .option(
      '--on-rule <rule>',
      'alert rule that triggers retraining (repeatable)',
      (v: string, p: string[]) => [...p, v],
      [] as string[],
    )
    .requiredOption('--training <file>', 'training pipeline spec (JSON) the loop runs')
    .option(
      '--training-window <interval>',
      'train on the last N of data (e.g. 30d) instead of the spec’s range',
    )
    .option(
      '--mode <mode>',
      'shadow (scores all, answers none) or ab (answers --weight % of traffic)',
      'shadow',
    )
    .option('--weight <percent>', 'A/B share of the challenger', '10')
    .option(
      '--metric <name>',
      'metric the challenger must win on (roc_auc, pr_auc, accuracy, f1, log_loss, rmse, …)',
      'roc_auc',
    )
    .option('--min-labels <n>', 'labelled rows per variant before a decision', '200')
    .option('--confidence <p>', 'bootstrap interval level of the metric difference', '0.95')
    .option('--check-every <interval>', 'how often the live comparison is made', '1h')
    .option('--max-wait <interval>', 'remove the challenger if undecided after this long', '7d')
    .option('--task-queue <queue>', 'queue of the inference worker that runs the loop', TASK_QUEUES.inference)
    .option('--json', 'machine-readable output')
    .action(async (name: string, o: CreateOptions) => {
      const policy = await withDatabase(({ db }) =>
        saveRetrainingPolicy(db, {
          name,
          deployment: o.deployment,
          rules: o.onRule,
          training: readJsonFile(o.training, 'training pipeline spec') as Record<string, unknown>,
          trainingWindowSeconds: o.trainingWindow ? parseEvery(o.trainingWindow, '--training-window') : null,
          mode: o.mode as 'shadow',
          weight: positiveInt(o.weight, '--weight'),
          metric: o.metric,
          minLabels: positiveInt(o.minLabels, '--min-labels'),
          confidence: Number(o.confidence),
          checkEverySeconds: parseEvery(o.checkEvery, '--check-every'),
          maxWaitSeconds: parseEvery(o.maxWait, '--max-wait'),
        }),
      );
      const config = loadConfig();
      const client = await connectTemporal(config);
      const workflowId = retrainingWorkflowId(name);
      let started = true;
      try {
        await client.workflow.start('retrainingLoop', {
          taskQueue: o.taskQueue,
          workflowId,
          args: [{ policy: name }],
        });
      } catch (error) {
        if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
        started = false;
      } finally {
        await client.connection.close();
      }
      emit(o, { policy, workflowId, started }, () =>
        [
          `policy ${name}: ${policy.rules.join(', ')} → retrain → ${policy.mode === 'ab' ? `A/B at ${policy.weight} %` : 'shadow'} → promote when ${policy.metric} is better at ${policy.confidence * 100} % confidence`,
          `loop ${workflowId} ${started ? 'started' : 'already running (it reads the updated policy each cycle)'}: ${runUrl(config, workflowId)}`,
        ].join('\n'),
      );
    });

  retrain
    .command('list')
    .description('policies, what their loops are doing, and their last decision')
    .option('--json', 'machine-readable output')
    .action(async (o: OutputOptions) => {
      const rows = await withDatabase(async ({ db }) =>
        Promise.all(
          (await listRetrainingPolicies(db)).map(async (p) => ({
            ...p,
            last: (await retrainingHistory(db, p.name, 1))[0] ?? null,
          })),
        ),
      );
      const client = await connectTemporal(loadConfig());
      const phases: Record<string, string> = {};
      try {
        for (const p of rows) {
          try {
            const state = await client.workflow
              .getHandle(retrainingWorkflowId(p.name))
              .query<{ phase: string; cycle: number }>('phase');
            phases[p.name] = `${state.phase} (cycle ${state.cycle})`;
          } catch {
            phases[p.name] = 'not running';
          }
        }
      } finally {
        await client.connection.close();
      }
      emit(
        o,
        rows.map((r) => ({ ...r, loop: phases[r.name] })),
        () =>
          rows.length === 0
            ? 'no retraining policies (fti retrain create)'
            : table([
                ['NAME', 'DEPLOYMENT', 'RULES', 'MODE', 'LOOP', 'LAST DECISION'],
                ...rows.map((r) => [
                  r.name,
                  r.deployment,
                  r.rules.join(','),
                  r.mode === 'ab' ? `ab ${r.weight}%` : 'shadow',
                  phases[r.name]!,
                  r.last ? `${r.last.decision} at ${r.last.at.toISOString()}` : '-',
                ]),
              ]),
      );
    });

  retrain
    .command('history <name>')
    .description('every step of a policy’s loop with its evidence, newest first')
    .option('--last <n>', 'steps to show', '20')
    .option('--json', 'machine-readable output')
    .action(async (name: string, o: OutputOptions & { last: string }) => {
      const steps = await withDatabase(async ({ db }) => {
        await getRetrainingPolicy(db, name);
        return retrainingHistory(db, name, positiveInt(o.last, '--last'));
      });
      emit(o, steps, () =>
        table([
          ['AT', 'CYCLE', 'DECISION', 'MODEL', 'DEPLOYMENT VERSION', 'EVIDENCE'],
          ...steps.map((s) => {
            const e = s.evidence as { reason?: string; comparison?: { reason?: string } };
            return [
              s.at.toISOString(),
              String(s.cycle),
              s.decision,
              s.model ? `${s.model} v${s.modelVersion}` : '-',
              s.deploymentVersion ? String(s.deploymentVersion) : '-',
              (e.reason ?? e.comparison?.reason ?? JSON.stringify(s.evidence)).slice(0, 140),
            ];
          }),
        ]),
      );
    });

  retrain
    .command('trigger <name>')
    .description('ask the loop to retrain now, as an alert would (ignored while a cycle runs)')
    .option('--json', 'machine-readable output')
    .action(async (name: string, o: OutputOptions) => {
      await withDatabase(({ db }) => getRetrainingPolicy(db, name));
      const client = await connectTemporal(loadConfig());
      try {
        await client.workflow
          .getHandle(retrainingWorkflowId(name))
          .signal('retrain', { by: process.env.USER ?? 'cli' });
      } finally {
        await client.connection.close();
      }
      emit(o, { policy: name, signalled: true }, () => `loop ${retrainingWorkflowId(name)} asked to retrain`);
    });

  retrain
    .command('delete <name>')
    .description('stop the loop and delete the policy (its history stays; deployments are left as they are)')
    .option('--json', 'machine-readable output')
    .action(async (name: string, o: OutputOptions) => {
      await withDatabase(({ db }) => getRetrainingPolicy(db, name));
      const client = await connectTemporal(loadConfig());
      try {
        await client.workflow
          .getHandle(retrainingWorkflowId(name))
          .terminate('policy deleted')
          .catch(() => undefined);
      } finally {
        await client.connection.close();
      }
      await withDatabase(({ db }) => deleteRetrainingPolicy(db, name));
      emit(o, { policy: name, deleted: true }, () => `policy ${name} deleted and its loop stopped`);
    });
}
