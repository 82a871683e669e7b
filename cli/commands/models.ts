import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { ValidationError } from '../../core/errors';
import {
  aliasHistory,
  deleteModelVersion,
  downloadModel,
  getBestModel,
  getModelVersion,
  listModels,
  listModelVersions,
  setModelAlias,
} from '../../core/registry';
import { importModel, TrainerRegistry, type ModelImportSpec } from '../../core/ml';
import { objectStoreFromConfig } from '../../core/storage';
import { jsonObjectOption, positiveInt, withDatabase } from '../context';
import { withViewDeps } from './feature-views';
import { emit, table, type OutputOptions } from '../output';

/** `--version 3` or `--alias champion` (default: latest registered). */
function versionRef(options: { version?: string; alias?: string }): number | string | undefined {
  if (options.version && options.alias) throw new ValidationError('give --version or --alias, not both.');
  return options.version ? positiveInt(options.version, '--version') : options.alias;
}

const metricsLine = (m: Readonly<Record<string, number>>) =>
  Object.entries(m)
    .map(([k, v]) => `${k}=${Number.isInteger(v) ? v : v.toFixed(4)}`)
    .join(' ');

/** `fti models …` — the model registry: versions, lineage, aliases, best, download, delete. */
export function registerModelCommands(program: Command): void {
  const models = program
    .command('models')
    .description(
      'model registry: list, describe with lineage, aliases and their history, best, download, delete',
    )
    .addHelpText(
      'after',
      `
Examples:
  $ fti models list
  $ fti models versions fraud
  $ fti models describe fraud --alias champion
  $ fti models alias set fraud champion 3
  $ fti models alias history fraud
  $ fti models best fraud --metric pr_auc
  $ fti models download fraud --version 3 --out model.onnx
  $ fti models delete fraud --version 1
  $ fti models import model.onnx --model fraud --feature-view fraud_model --training-dataset 2`,
    );

  models
    .command('list')
    .description('every model with its latest version and aliases')
    .option('--json', 'machine-readable output')
    .action(async (options: OutputOptions) => {
      const all = await withDatabase(({ db }) => listModels(db));
      emit(options, all, () =>
        table([
          ['MODEL', 'VERSIONS', 'LATEST', 'ALIASES'],
          ...all.map((m) => [
            m.name,
            String(m.versions),
            String(m.latest ?? '—'),
            Object.entries(m.aliases)
              .map(([a, v]) => `${a}=v${v}`)
              .join(' '),
          ]),
        ]),
      );
    });

  models
    .command('versions <model>')
    .description('every version of a model with state, trainer and metrics')
    .option('--json', 'machine-readable output')
    .action(async (model: string, options: OutputOptions) => {
      const versions = await withDatabase(({ db }) => listModelVersions(db, model));
      emit(options, versions, () =>
        table([
          ['VERSION', 'STATE', 'TRAINER', 'ALIASES', 'CREATED', 'METRICS'],
          ...versions.map((v) => [
            String(v.version),
            v.state,
            v.trainer,
            v.aliases.join(','),
            v.createdAt.toISOString(),
            metricsLine(v.metrics),
          ]),
        ]),
      );
    });

  models
    .command('describe <model>')
    .description(
      'a version with signature, metrics, params and lineage (feature view, dataset, commits, run)',
    )
    .option('--version <n>', 'version number')
    .option('--alias <name>', 'alias such as champion')
    .option('--json', 'machine-readable output')
    .action(async (model: string, options: OutputOptions & { version?: string; alias?: string }) => {
      const v = await withDatabase(({ db }) => getModelVersion(db, model, versionRef(options)));
      emit(options, v, () =>
        [
          `${v.model} v${v.version} (${v.state}) — ${v.trainer}${v.aliases.length ? `; aliases: ${v.aliases.join(', ')}` : ''}`,
          `task: ${v.signature.task}; inputs: ${v.signature.inputs[0]?.featureNames.join(', ')}${v.signature.classes ? `; classes: ${v.signature.classes.join(', ')}` : ''}`,
          `metrics: ${metricsLine(v.metrics)}`,
          `params: ${JSON.stringify(v.params)}`,
          `lineage: feature view ${v.lineage.featureView ? `${v.lineage.featureView.name} v${v.lineage.featureView.version}` : '—'}, training dataset ${
            v.lineage.trainingDataset
              ? `#${v.lineage.trainingDataset.version} (commits ${Object.entries(
                  v.lineage.trainingDataset.featureGroupCommits,
                )
                  .map(([g, c]) => `${g}@${c}`)
                  .join(', ')})`
              : '—'
          }, training run ${v.lineage.trainingRunId ?? '—'}, workflow ${v.lineage.workflowId ?? '—'}, code ${v.lineage.codeVersion ?? '—'}`,
          ...(v.lineage.provenance ? [`provenance: ${provenanceLine(v.lineage.provenance)}`] : []),
          `artifact: ${v.artifactKey}`,
        ].join('\n'),
      );
    });

  const alias = models.command('alias').description('aliases (champion, challenger, …) and their history');
  alias
    .command('set <model> <alias> <version>')
    .description('point an alias at a version (recorded in the alias history)')
    .option('--by <who>', 'recorded as who moved it', 'cli')
    .option('--json', 'machine-readable output')
    .action(async (model: string, name: string, version: string, options: OutputOptions & { by: string }) => {
      const moved = await withDatabase(({ db }) =>
        setModelAlias(db, model, name, positiveInt(version, 'version'), { changedBy: options.by }),
      );
      emit(
        options,
        moved,
        () => `${model} ${name}: ${moved.from === null ? '—' : `v${moved.from}`} → v${moved.to}`,
      );
    });
  alias
    .command('history <model>')
    .description('every alias move: when, from, to, by whom')
    .option('--alias <name>', 'only this alias')
    .option('--json', 'machine-readable output')
    .action(async (model: string, options: OutputOptions & { alias?: string }) => {
      const history = await withDatabase(({ db }) => aliasHistory(db, model, options.alias));
      emit(options, history, () =>
        table([
          ['WHEN', 'ALIAS', 'FROM', 'TO', 'BY'],
          ...history.map((h) => [
            h.changedAt.toISOString(),
            h.alias,
            h.from === null ? '—' : `v${h.from}`,
            h.to === null ? '(deleted)' : `v${h.to}`,
            h.changedBy,
          ]),
        ]),
      );
    });

  models
    .command('best <model>')
    .description('the registered version with the best value of a metric')
    .requiredOption('--metric <name>', 'e.g. roc_auc, pr_auc, rmse')
    .option('--min', 'smaller is better (default: larger, except for losses and errors)')
    .option('--json', 'machine-readable output')
    .action(async (model: string, options: OutputOptions & { metric: string; min?: boolean }) => {
      const lowerIsBetter = options.min ?? /loss|rmse|mae|error/.test(options.metric);
      const best = await withDatabase(({ db }) =>
        getBestModel(db, model, options.metric, lowerIsBetter ? 'min' : 'max'),
      );
      emit(
        options,
        best,
        () => `${best.model} v${best.version}: ${options.metric}=${best.metrics[options.metric]}`,
      );
    });

  models
    .command('import <file>')
    .description(
      "register an ONNX model trained elsewhere (skl2onnx, onnxmltools, torch.onnx): adapted to the platform interface, scored on the training dataset's test split, gated, with provenance",
    )
    .requiredOption('--model <name>', 'registered model name')
    .requiredOption('--feature-view <name>', 'the feature view the model was trained on')
    .option('--view-version <n>', 'feature view version (default: latest)')
    .requiredOption(
      '--training-dataset <n>',
      'training dataset version it was trained on (its test split scores it)',
    )
    .option('--task <task>', 'binary | multiclass | regression (default: inferred from the label)')
    .option(
      '--input <name=features>',
      'map a model input to view features, e.g. --input float_input=amount,age (repeatable; default: one input takes every feature in order, or one input per feature by name)',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option(
      '--output <name>',
      'output holding class probabilities/scores or the prediction (default: inferred; a ZipMap output is unwrapped)',
    )
    .option('--scores <kind>', 'probabilities | logits: what a classifier output holds', 'probabilities')
    .option('--framework <name>', 'training framework for provenance (default: inferred from the converter)')
    .option('--framework-version <v>', 'its version, e.g. 1.9.1')
    .option('--alias <name>', 'alias moved to the new version when every gate passes')
    .option('--compare-with <alias>', 'alias of the model to compare with on the same test rows', 'champion')
    .option(
      '--gates <json>',
      'gates as in a training pipeline, e.g. \'{"thresholds":{"roc_auc":{"min":0.8}}}\'',
    )
    .option(
      '--slice <column>',
      'compute slice metrics for a column (repeatable)',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option('--description <text>', 'version description')
    .option('--tag <key=value>', 'version tag (repeatable)', (value: string, previous: string[] = []) => [
      ...previous,
      value,
    ])
    .option('--json', 'machine-readable output')
    .action(async (file: string, options: ImportOptions) => {
      if (!fs.existsSync(file))
        throw new ValidationError(`${file} does not exist; give the path of an ONNX file.`);
      const spec: ModelImportSpec = {
        model: options.model,
        featureView: {
          name: options.featureView,
          ...(options.viewVersion ? { version: positiveInt(options.viewVersion, '--view-version') } : {}),
        },
        trainingDataset: positiveInt(options.trainingDataset, '--training-dataset'),
        ...(options.task ? { task: options.task as 'binary' } : {}),
        ...(options.input ? { inputs: parseInputs(options.input) } : {}),
        ...(options.output ? { output: options.output } : {}),
        scores: options.scores as 'probabilities',
        ...(options.framework ? { framework: options.framework } : {}),
        ...(options.frameworkVersion ? { frameworkVersion: options.frameworkVersion } : {}),
        ...(options.alias ? { alias: options.alias } : {}),
        compareWith: options.compareWith,
        ...(options.gates ? { gates: jsonObjectOption(options.gates, '--gates') } : {}),
        sliceColumns: options.slice ?? [],
        ...(options.description ? { description: options.description } : {}),
        tags: parseTags(options.tag ?? []),
      };
      const bytes = new Uint8Array(fs.readFileSync(file));
      const result = await withViewDeps((deps) =>
        importModel({ ...deps, trainers: new TrainerRegistry() }, spec, bytes, path.basename(file)),
      );
      const r = result.registration;
      emit(options, result, () =>
        [
          `${r.model} v${r.version} (${r.state}) imported from ${file} — ${result.provenance.converter} ${result.provenance.converterVersion ?? ''}`.trim(),
          ...(result.reused
            ? [
                `already imported: this file and these options registered v${r.version} before; nothing changed`,
              ]
            : []),
          `${result.summary.split} split${result.summary.rows === null ? '' : ` (${result.summary.rows} rows)`}: ${metricsLine(result.summary.metrics)}`,
          ...result.summary.gates.map((g) => `gate ${g.gate}: ${g.passed ? 'passed' : 'FAILED'}`),
          ...(r.alias
            ? [`alias ${r.alias.name}: ${r.alias.from === null ? '—' : `v${r.alias.from}`} → v${r.alias.to}`]
            : []),
        ].join('\n'),
      );
    });

  models
    .command('download <model>')
    .description("write a version's ONNX file")
    .option('--version <n>', 'version number')
    .option('--alias <name>', 'alias such as champion')
    .requiredOption('--out <file>', 'output path')
    .option('--json', 'machine-readable output')
    .action(
      async (model: string, options: OutputOptions & { version?: string; alias?: string; out: string }) => {
        const { info, bytes } = await withDatabase(async ({ db }, config) => {
          const store = objectStoreFromConfig(config);
          try {
            const { info, onnx } = await downloadModel({ db, store }, model, versionRef(options));
            return { info, bytes: onnx };
          } finally {
            store.close();
          }
        });
        fs.writeFileSync(options.out, bytes);
        emit(
          options,
          { model, version: info.version, out: options.out, bytes: bytes.length },
          () => `wrote ${options.out} (${bytes.length} bytes, ${model} v${info.version})`,
        );
      },
    );

  models
    .command('delete <model>')
    .description('delete a version (refused while deployed or aliased)')
    .requiredOption('--version <n>', 'version number')
    .option('--json', 'machine-readable output')
    .action(async (model: string, options: OutputOptions & { version: string }) => {
      const version = positiveInt(options.version, '--version');
      await withDatabase(async ({ db }, config) => {
        const store = objectStoreFromConfig(config);
        try {
          await deleteModelVersion({ db, store }, model, version);
        } finally {
          store.close();
        }
      });
      emit(options, { model, version, deleted: true }, () => `deleted ${model} v${version}`);
    });
}

interface ImportOptions extends OutputOptions {
  model: string;
  featureView: string;
  viewVersion?: string;
  trainingDataset: string;
  task?: string;
  input?: string[];
  output?: string;
  scores: string;
  framework?: string;
  frameworkVersion?: string;
  alias?: string;
  compareWith: string;
  gates?: string;
  slice?: string[];
  description?: string;
  tag?: string[];
}

/** `--input float_input=amount,age` (repeatable) → { float_input: [amount, age] }. */
function parseInputs(values: readonly string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const value of values) {
    const match = /^([^=]+)=(.+)$/.exec(value);
    if (!match) throw new ValidationError(`--input ${value} must be NAME=feature1,feature2.`);
    out[match[1]!.trim()] = match[2]!
      .split(',')
      .map((f) => f.trim())
      .filter(Boolean);
  }
  return out;
}

/** `--tag team=risk` (repeatable) → { team: 'risk' }. */
function parseTags(values: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const value of values) {
    const match = /^([^=]+)=(.*)$/.exec(value);
    if (!match) throw new ValidationError(`--tag ${value} must be KEY=VALUE.`);
    out[match[1]!.trim()] = match[2]!;
  }
  return out;
}

/** Provenance of an imported model in one line. */
function provenanceLine(p: Readonly<Record<string, unknown>>): string {
  const s = (v: unknown) => (typeof v === 'string' ? v : '?');
  return `imported ${s(p.file)} (sha256 ${s(p.sha256).slice(0, 12)}…), ${p.framework ? `${s(p.framework)}${p.frameworkVersion ? ` ${s(p.frameworkVersion)}` : ''}, ` : ''}converted by ${s(p.converter)} ${p.converterVersion ? s(p.converterVersion) : ''}`.trim();
}
