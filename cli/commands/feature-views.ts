import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import type { FtiConfig } from '../../core/config';
import { ValidationError } from '../../core/errors';
import {
  checkOnlineOfflineSkew,
  createFeatureView,
  createTrainingData,
  deleteFeatureView,
  getBatchData,
  getFeatureView,
  getTrainingDataset,
  listFeatureViews,
  listTrainingDatasets,
  loadFeatureModules,
  OnlineFeatureReader,
  PostgresOnlineStore,
  readTrainingData,
  recreateTrainingData,
  type FeatureViewDefinition,
  type FeatureViewDeps,
  type OnlineStore,
  type SplitDefinition,
  type SplitName,
  type TrainingDatasetInfo,
} from '../../core/featurestore';
import { ObjectCache, objectStoreFromConfig } from '../../core/storage';
import type { TrainingDataJobResult, TrainingDataJobSpec } from '../../workflows';
import { loadConfig } from '../../core/config';
import { TASK_QUEUES } from '../../core/pipelines';
import { connectTemporal, runUrl } from '../temporal-client';
import { jsonObjectOption, positiveInt, readJsonFile, timeOption, withDatabase } from '../context';
import { emit, table, type OutputOptions } from '../output';

type ViewDeps = FeatureViewDeps & { readonly online: OnlineStore };

/**
 * Runs a partitioned training-data job on the fti-training workers and waits for it; returns the
 * dataset it made. The workflow id names the job, so the dataset is made once per id.
 */
async function trainingDataJob(
  spec: TrainingDataJobSpec,
  taskQueue: string,
  quiet: boolean,
): Promise<TrainingDatasetInfo> {
  const config = loadConfig();
  const client = await connectTemporal(config);
  try {
    const workflowId = `training-data-${spec.featureView.name}-${Date.now()}`;
    const handle = await client.workflow.start('trainingDataJob', {
      taskQueue,
      workflowId,
      args: [{ spec }],
    });
    if (!quiet)
      process.stderr.write(
        `running ${workflowId} in ${spec.parts} parts — ${runUrl(config, workflowId, handle.firstExecutionRunId)}\n`,
      );
    const result = (await handle.result()) as TrainingDataJobResult;
    return withViewDeps(
      async (deps) => (await getTrainingDataset(deps, result.featureView, result.version)).dataset,
    );
  } finally {
    await client.connection.close();
  }
}

/** Opens database, object store, cache and online store; loads on-demand functions from FTI_FEATURE_MODULES (closed after `fn`). */
export async function withViewDeps<T>(fn: (deps: ViewDeps, config: FtiConfig) => Promise<T>): Promise<T> {
  return withDatabase(async (handle, config) => {
    const store = objectStoreFromConfig(config);
    const scratchDir = path.join(os.tmpdir(), `fti-cli-${process.pid}`);
    try {
      const modules = await loadFeatureModules(handle.db);
      return await fn(
        {
          db: handle.db,
          store,
          cache: new ObjectCache(store, { dir: config.cacheDir }),
          online: new PostgresOnlineStore({ pool: handle.pool, scratchDir }),
          onDemand: modules.onDemand,
          scratchDir,
        },
        config,
      );
    } finally {
      store.close();
    }
  });
}

function version(value: string | undefined, option = '--version'): number | undefined {
  return value === undefined ? undefined : positiveInt(value, option);
}

/** `--split train=0.8,test=0.2` (seeded random) or `--split-by-time train=A..B,test=B..C`. */
export function parseSplitOptions(options: {
  split?: string;
  splitByTime?: string;
  seed?: string;
}): SplitDefinition {
  if (options.split && options.splitByTime)
    throw new ValidationError('use either --split or --split-by-time.');
  const pairs = (text: string, option: string) =>
    text.split(',').map((part) => {
      const [name, value] = part.split('=');
      if (!name || value === undefined || !['train', 'validation', 'test'].includes(name))
        throw new ValidationError(`${option}: "${part}" must look like train=…, validation=… or test=….`);
      return [name as SplitName, value] as const;
    });
  if (options.split) {
    const fractions = Object.fromEntries(pairs(options.split, '--split').map(([n, v]) => [n, Number(v)]));
    return {
      kind: 'random',
      fractions: fractions as { train: number; test: number; validation?: number },
      ...(options.seed ? { seed: Number(options.seed) } : {}),
    };
  }
  if (options.splitByTime) {
    const ranges = Object.fromEntries(
      pairs(options.splitByTime, '--split-by-time').map(([n, v]) => {
        const [start, end] = v.split('..');
        return [
          n,
          {
            start: timeOption(start, `--split-by-time ${n} start`)!,
            end: timeOption(end, `--split-by-time ${n} end`)!,
          },
        ];
      }),
    );
    return {
      kind: 'time',
      ranges: ranges as { train: { start: Date; end: Date }; test: { start: Date; end: Date } },
    };
  }
  return { kind: 'none' };
}

function printValue(value: unknown): string {
  if (value === null || value === undefined) return '∅';
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toPrecision(6);
  return String(value);
}

function rowsTable(rows: readonly Record<string, unknown>[]): string {
  if (rows.length === 0) return '(no rows)';
  const columns = Object.keys(rows[0]!);
  return table([columns, ...rows.map((r) => columns.map((c) => printValue(r[c])))]);
}

/** `fti fv …` — feature views, training datasets, batch and online retrieval, skew check. */
export function registerFeatureViewCommands(program: Command): void {
  const fv = program
    .command('fv')
    .description(
      'feature views: create, list, describe, delete; training datasets; batch data; online vectors; skew check',
    )
    .addHelpText(
      'after',
      `
Examples:
  $ fti fv create examples/fraud/fraud.fv.json
  $ fti fv list
  $ fti fv describe fraud --version 1
  $ fti fv td create fraud --start 2026-01-01T00:00:00Z --end 2026-03-01T00:00:00Z --split train=0.8,test=0.2 --seed 7
  $ fti fv td list fraud
  $ fti fv td read fraud 1 --split test --limit 5
  $ fti fv batch fraud --start 2026-02-28T00:00:00Z --end 2026-03-01T00:00:00Z --td 1
  $ fti fv vector fraud --keys '{"card_id":"c1"}' --request '{"amount":42.5}' --td 1
  $ fti fv skew fraud --td 1 --sample 100

On-demand feature functions are loaded from the modules listed in FTI_FEATURE_MODULES.`,
    );

  fv.command('create <file>')
    .description('create a feature view version from a JSON definition (reuses an identical version)')
    .option('--json', 'machine-readable output')
    .action(async (file: string, options: OutputOptions) => {
      const definition = readJsonFile(file, 'feature view') as FeatureViewDefinition;
      const { record, created } = await withDatabase(({ db }) => createFeatureView(db, definition));
      const result = { name: record.view.name, version: record.view.version, id: record.id, created };
      emit(
        options,
        result,
        () => `${created ? 'created' : 'unchanged'}: ${result.name} v${result.version} (id ${result.id})`,
      );
    });

  fv.command('list')
    .description('every feature view version')
    .option('--json', 'machine-readable output')
    .action(async (options: OutputOptions) => {
      const views = await withDatabase(({ db }) => listFeatureViews(db));
      emit(options, views, () =>
        table([
          ['NAME', 'VERSION', 'CREATED', 'DESCRIPTION'],
          ...views.map((v) => [v.name, String(v.version), v.createdAt.toISOString(), v.description]),
        ]),
      );
    });

  fv.command('describe <name>')
    .description('columns (type, role, origin), joins, transformations and training datasets of a view')
    .option('--version <n>', 'version (default: latest)')
    .option('--json', 'machine-readable output')
    .action(async (name: string, options: OutputOptions & { version?: string }) => {
      const result = await withDatabase(async ({ db }) => {
        const record = await getFeatureView(db, name, version(options.version));
        const datasets = await listTrainingDatasets({ db }, { name, version: record.view.version });
        return { record, datasets };
      });
      const view = result.record.view;
      const summary = {
        name: view.name,
        version: view.version,
        description: view.definition.description,
        entityKeys: view.entityKeys,
        eventTime: view.eventTime,
        columns: view.columns,
        features: view.features,
        labels: view.labels,
        joins: view.joins.map((j) => ({
          featureGroup: `${j.group.spec.name} v${j.group.spec.version}`,
          on: j.on,
          lookback: j.lookback,
        })),
        transformations: view.definition.transformations,
        onDemand: view.onDemand,
        filters: view.filters,
        trainingDatasets: result.datasets.map((d) => ({
          version: d.version,
          state: d.state,
          rows: d.rowCounts,
        })),
      };
      emit(options, summary, () =>
        [
          `${view.name} v${view.version} — ${view.definition.description || 'no description'}`,
          `spine: ${view.spine.kind === 'group' ? `${view.spine.group.spec.name} v${view.spine.group.spec.version}` : 'caller-supplied table'}; event time: ${view.eventTime}; entity keys: ${view.entityKeys.join(', ') || '(none)'}`,
          ...summary.joins.map(
            (j) =>
              `join: ${j.featureGroup} on ${j.on.map((p) => `${p.spineColumn}=${p.groupColumn}`).join(', ')}${j.lookback ? ` lookback ${j.lookback}` : ''}`,
          ),
          table([
            ['COLUMN', 'TYPE', 'ROLE', 'ORIGIN', 'TRANSFORMATION'],
            ...view.columns.map((c) => {
              const t = view.definition.transformations[c.name];
              const steps =
                t === undefined ? '' : (Array.isArray(t) ? t : [t]).map((s) => s.kind).join(' → ');
              return [c.name, c.type ?? 'on-demand', c.role, c.origin, steps];
            }),
          ]),
          `training datasets: ${summary.trainingDatasets.map((d) => `#${d.version} (${d.state})`).join(', ') || 'none'}`,
        ].join('\n'),
      );
    });

  fv.command('delete <name>')
    .description(
      'delete a view version and its training datasets (refused while a model or deployment uses it)',
    )
    .requiredOption('--version <n>', 'the version to delete')
    .option('--json', 'machine-readable output')
    .action(async (name: string, options: OutputOptions & { version: string }) => {
      const v = version(options.version)!;
      const result = await withViewDeps((deps) => deleteFeatureView(deps.db, deps.store, name, v));
      emit(
        options,
        { name, version: v, ...result },
        () => `deleted ${name} v${v} and ${result.deletedTrainingDatasets} training dataset(s)`,
      );
    });

  const td = fv
    .command('td')
    .description('training datasets of a feature view: create, list, read, recreate')
    .addHelpText(
      'after',
      '\nExamples:\n  $ fti fv td create fraud --split train=0.7,validation=0.1,test=0.2 --seed 1\n  $ fti fv td create fraud --split-by-time train=2026-01-01T00:00:00Z..2026-02-01T00:00:00Z,test=2026-02-01T00:00:00Z..2026-03-01T00:00:00Z\n  $ fti fv td create fraud --split train=0.8,test=0.2 --parts 8\n  $ fti fv td list fraud\n  $ fti fv td read fraud 1 --split train --limit 10 --raw\n  $ fti fv td recreate fraud 1',
    );

  td.command('create <view>')
    .description(
      'point-in-time training data for spine rows in [start, end), split, transformations fitted on train',
    )
    .option('--view-version <n>', 'feature view version (default: latest)')
    .option('--start <time>', 'event-time range start (inclusive, ISO-8601)')
    .option('--end <time>', 'event-time range end (exclusive, ISO-8601)')
    .option('--split <fractions>', 'seeded random split, e.g. train=0.8,test=0.2')
    .option('--split-by-time <ranges>', 'time split, e.g. train=A..B,test=B..C')
    .option('--seed <n>', 'seed of the random split (default 42)')
    .option('--as-of <time>', 'read every feature group as of this time (default: latest commits)')
    .option('--description <text>', 'free text')
    .option(
      '--parts <n>',
      'split the join by key bucket into n parts made side by side by the fti-training workers (a trainingDataJob workflow); default: one step in this process',
    )
    .option(
      '--task-queue <name>',
      'the training queue whose workers make the parts (with --parts)',
      TASK_QUEUES.training,
    )
    .option('--json', 'machine-readable output')
    .action(
      async (
        view: string,
        options: OutputOptions & {
          viewVersion?: string;
          start?: string;
          end?: string;
          split?: string;
          splitByTime?: string;
          seed?: string;
          asOf?: string;
          description?: string;
          parts?: string;
          taskQueue: string;
        },
      ) => {
        const splits = parseSplitOptions(options);
        const start = timeOption(options.start, '--start');
        const end = timeOption(options.end, '--end');
        const asOf = timeOption(options.asOf, '--as-of');
        const parts = options.parts === undefined ? 1 : positiveInt(options.parts, '--parts');
        const featureView = { name: view, version: version(options.viewVersion, '--view-version') };
        const dataset =
          parts > 1
            ? await trainingDataJob(
                {
                  featureView,
                  ...(splits ? { splits } : {}),
                  ...(start ? { start: start.toISOString() } : {}),
                  ...(end ? { end: end.toISOString() } : {}),
                  ...(asOf ? { asOf: asOf.toISOString() } : {}),
                  ...(options.description ? { description: options.description } : {}),
                  parts,
                },
                options.taskQueue,
                options.json === true,
              )
            : await withViewDeps((deps) =>
                createTrainingData(deps, {
                  featureView,
                  splits,
                  ...(start ? { start } : {}),
                  ...(end ? { end } : {}),
                  ...(asOf ? { asOf } : {}),
                  ...(options.description ? { description: options.description } : {}),
                }),
              );
        emit(options, dataset, () =>
          [
            `training dataset ${dataset.featureView.name} v${dataset.featureView.version} #${dataset.version}: ${Object.entries(
              dataset.rowCounts,
            )
              .map(([s, n]) => `${s} ${n}`)
              .join(', ')} rows`,
            `commits: ${Object.entries(dataset.featureGroupCommits)
              .map(([g, c]) => `${g}@${c}`)
              .join(', ')}`,
            `model inputs (${dataset.transformation.outputs.length}): ${dataset.transformation.outputs.join(', ')}`,
            `files: s3://…/${dataset.storagePrefix}/`,
          ].join('\n'),
        );
      },
    );

  td.command('list <view>')
    .description('training dataset versions of a view (newest first)')
    .option('--view-version <n>', 'feature view version (default: latest)')
    .option('--json', 'machine-readable output')
    .action(async (view: string, options: OutputOptions & { viewVersion?: string }) => {
      const datasets = await withDatabase(({ db }) =>
        listTrainingDatasets({ db }, { name: view, version: version(options.viewVersion, '--view-version') }),
      );
      emit(options, datasets, () =>
        table([
          ['VERSION', 'STATE', 'RANGE', 'SPLITS', 'ROWS', 'CREATED'],
          ...datasets.map((d) => [
            String(d.version),
            d.state,
            d.start && d.end ? `${d.start.toISOString()}..${d.end.toISOString()}` : 'all',
            d.splits.kind,
            Object.entries(d.rowCounts)
              .map(([s, n]) => `${s}=${n}`)
              .join(' '),
            d.createdAt.toISOString(),
          ]),
        ]),
      );
    });

  td.command('read <view> <version>')
    .description('rows of one split (transformed unless --raw)')
    .option('--view-version <n>', 'feature view version (default: latest)')
    .option('--split <name>', 'train | validation | test', 'train')
    .option('--limit <n>', 'rows to print', '20')
    .option('--raw', 'untransformed values')
    .option('--json', 'machine-readable output')
    .action(
      async (
        view: string,
        tdVersion: string,
        options: OutputOptions & { viewVersion?: string; split: string; limit: string; raw?: boolean },
      ) => {
        if (!['train', 'validation', 'test'].includes(options.split))
          throw new ValidationError(`--split must be train, validation or test, not "${options.split}".`);
        const limit = positiveInt(options.limit, '--limit');
        const { rows } = await withViewDeps((deps) =>
          readTrainingData(
            deps,
            { name: view, version: version(options.viewVersion, '--view-version') },
            positiveInt(tdVersion, 'version'),
            {
              split: options.split as SplitName,
              transformed: !options.raw,
            },
          ),
        );
        const shown = rows.slice(0, limit);
        emit(options, shown, () => `${rowsTable(shown)}\n(${shown.length} of ${rows.length} rows)`);
      },
    );

  td.command('recreate <view> <version>')
    .description('rebuild a dataset version from its recorded commits and verify identical content')
    .option('--view-version <n>', 'feature view version (default: latest)')
    .option('--json', 'machine-readable output')
    .action(async (view: string, tdVersion: string, options: OutputOptions & { viewVersion?: string }) => {
      const result = await withViewDeps((deps) =>
        recreateTrainingData(
          deps,
          { name: view, version: version(options.viewVersion, '--view-version') },
          positiveInt(tdVersion, 'version'),
        ),
      );
      emit(options, result, () =>
        [
          result.identical ? 'identical: every split matches its recorded content hash' : 'DIFFERENT content',
          ...Object.entries(result.splits).map(
            ([s, r]) => `  ${s}: ${r.rows} rows ${r.stored === r.rebuilt ? 'match' : 'differ'}`,
          ),
        ].join('\n'),
      );
      if (!result.identical) process.exitCode = 1;
    });

  fv.command('batch <view>')
    .description(
      'inference data for spine rows in [start, end), optionally transformed with a training dataset',
    )
    .option('--view-version <n>', 'feature view version (default: latest)')
    .requiredOption('--start <time>', 'range start (inclusive)')
    .requiredOption('--end <time>', 'range end (exclusive)')
    .option('--td <n>', 'training dataset version whose transformation parameters apply')
    .option('--limit <n>', 'rows to print', '20')
    .option('--json', 'machine-readable output')
    .action(
      async (
        view: string,
        options: OutputOptions & {
          viewVersion?: string;
          start: string;
          end: string;
          td?: string;
          limit: string;
        },
      ) => {
        const range = {
          start: timeOption(options.start, '--start')!,
          end: timeOption(options.end, '--end')!,
        };
        const limit = positiveInt(options.limit, '--limit');
        const td = version(options.td, '--td');
        const { rows, batch, matrix } = await withViewDeps((deps) =>
          getBatchData(deps, {
            featureView: { name: view, version: version(options.viewVersion, '--view-version') },
            range,
            ...(td ? { trainingDatasetVersion: td } : {}),
          }),
        );
        const shown = rows.slice(0, limit);
        emit(
          options,
          { commits: batch.commits, rows: shown, total: rows.length, modelInputs: matrix.featureNames },
          () =>
            `${rowsTable(shown)}\n(${shown.length} of ${rows.length} rows; commits ${Object.entries(
              batch.commits,
            )
              .map(([g, c]) => `${g}@${c}`)
              .join(', ')})`,
        );
      },
    );

  fv.command('vector <view>')
    .description('online feature vector(s) for entity keys, with per-feature status')
    .option('--view-version <n>', 'feature view version (default: latest)')
    .requiredOption('--keys <json>', 'entity key values, e.g. \'{"card_id":"c1"}\'')
    .option('--request <json>', 'request-time values (spine columns, on-demand inputs, passed features)')
    .option('--td <n>', 'training dataset version whose transformations apply')
    .option('--missing <policy>', 'error | null', 'error')
    .option('--json', 'machine-readable output')
    .action(
      async (
        view: string,
        options: OutputOptions & {
          viewVersion?: string;
          keys: string;
          request?: string;
          td?: string;
          missing: string;
        },
      ) => {
        if (options.missing !== 'error' && options.missing !== 'null')
          throw new ValidationError(`--missing must be "error" or "null", not "${options.missing}".`);
        const keys = jsonObjectOption(options.keys, '--keys')!;
        const request = jsonObjectOption(options.request, '--request');
        const [vector] = await withViewDeps(async (deps) => {
          const ref = { name: view, version: version(options.viewVersion, '--view-version') };
          const record = await getFeatureView(deps.db, ref.name, ref.version);
          const td = version(options.td, '--td');
          const transformation = td
            ? (await getTrainingDataset(deps, ref, td)).dataset.transformation
            : undefined;
          const reader = new OnlineFeatureReader(deps.online, record.view, {
            onDemand: deps.onDemand,
            ...(transformation ? { transformation } : {}),
          });
          return reader.get([{ keys, ...(request ? { request } : {}) }], {
            missing: options.missing as 'error' | 'null',
          });
        });
        emit(
          options,
          vector,
          () =>
            table([
              ['FEATURE', 'VALUE', 'STATUS'],
              ...Object.entries(vector!.values).map(([f, v]) => [f, printValue(v), vector!.status[f]!]),
            ]) + `\nmodel input: [${vector!.vector.map((x) => printValue(x)).join(', ')}]`,
        );
      },
    );

  fv.command('skew <view>')
    .description(
      'compare online vectors with offline batch vectors at the latest event time for sampled keys',
    )
    .option('--view-version <n>', 'feature view version (default: latest)')
    .option('--td <n>', 'training dataset version whose transformations apply')
    .option('--sample <n>', 'entities to sample', '100')
    .option('--json', 'machine-readable output')
    .action(
      async (
        view: string,
        options: OutputOptions & { viewVersion?: string; td?: string; sample: string },
      ) => {
        const td = version(options.td, '--td');
        const report = await withViewDeps((deps) =>
          checkOnlineOfflineSkew(deps, {
            featureView: { name: view, version: version(options.viewVersion, '--view-version') },
            sample: positiveInt(options.sample, '--sample'),
            ...(td ? { trainingDatasetVersion: td } : {}),
          }),
        );
        emit(options, report, () =>
          [
            `${report.ok ? 'no skew' : 'SKEW'}: ${report.sampled} entities, ${report.featuresCompared} values compared at ${report.at.toISOString()}`,
            ...report.mismatches
              .slice(0, 20)
              .map(
                (m) =>
                  `  ${JSON.stringify(m.keys)} ${m.feature}: offline ${printValue(m.offline)} ≠ online ${printValue(m.online)}`,
              ),
          ].join('\n'),
        );
        if (!report.ok) process.exitCode = 1;
      },
    );
}
