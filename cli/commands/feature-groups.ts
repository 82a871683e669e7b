import path from 'node:path';
import type { Command } from 'commander';
import { desc, eq } from 'drizzle-orm';
import { tables } from '../../core/db';
import { withDuck } from '../../core/duckdb';
import { ValidationError } from '../../core/errors';
import {
  getFeatureGroup,
  listFeatureGroups,
  OfflineTable,
  registerFeatureGroupChecked,
  describeExternalSource,
  computeCommitStatistics,
  groupStatistics,
  type AsOf,
  type FeatureGroupDefinition,
  type MaterializeResult,
  type StatisticsDeps,
  withoutSketches,
} from '../../core/featurestore';
import { ObjectCache, objectStoreFromConfig } from '../../core/storage';
import { loadConfig } from '../../core/config';
import { isoOption, readJsonFile, positiveInt, withDatabase } from '../context';
import { DEFAULT_MAINTENANCE, ensureMaintenanceSchedule } from '../schedules';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { connectTemporal, runUrl, showProgress } from '../temporal-client';
import { withViewDeps } from './feature-views';
import { TASK_QUEUES } from '../../core/pipelines';
import { emit, table, type OutputOptions } from '../output';

async function loadDefinitions(file: string): Promise<FeatureGroupDefinition[]> {
  if (file.endsWith('.json')) {
    const value = readJsonFile(file, 'feature group');
    return Array.isArray(value) ? (value as FeatureGroupDefinition[]) : [value as FeatureGroupDefinition];
  }
  const mod = (await import(path.resolve(file))) as {
    featureGroups?: FeatureGroupDefinition[];
    default?: FeatureGroupDefinition;
  };
  const defs = mod.featureGroups ?? (mod.default ? [mod.default] : []);
  if (defs.length === 0)
    throw new ValidationError(`${file} exports no featureGroups (or default) definition.`);
  return defs;
}

function asOfFrom(options: { asOfCommit?: string; asOfTime?: string }): AsOf {
  if (options.asOfCommit) return { commitId: positiveInt(options.asOfCommit, '--as-of-commit') };
  if (options.asOfTime) {
    const time = new Date(options.asOfTime);
    if (Number.isNaN(time.getTime()))
      throw new ValidationError(`--as-of-time "${options.asOfTime}" is not an ISO-8601 time.`);
    return { time };
  }
  return undefined;
}

/** Opens the database and object store, finds the group, and runs `fn` with its offline table. */
async function withOfflineTable<T>(
  name: string,
  version: string | undefined,
  fn: (offline: OfflineTable) => Promise<T>,
): Promise<T> {
  return withDatabase(async ({ db }, config) => {
    const group = await getFeatureGroup(db, name, version ? positiveInt(version, '--version') : undefined);
    const store = objectStoreFromConfig(config);
    try {
      return await fn(
        new OfflineTable({ db, store, cache: new ObjectCache(store, { dir: config.cacheDir }) }, group),
      );
    } finally {
      store.close();
    }
  });
}

function cell(value: unknown): string {
  if (value === undefined || value === null) return '-';
  return typeof value === 'number' ? String(Math.round(value * 1e4) / 1e4) : String(value);
}

/** Opens the database, object store and a cache for statistics that may need to read commit files. */
async function withStatisticsDeps<T>(fn: (deps: StatisticsDeps) => Promise<T>): Promise<T> {
  return withDatabase(async ({ db }, config) => {
    const store = objectStoreFromConfig(config);
    try {
      return await fn({
        db,
        store,
        cache: new ObjectCache(store, { dir: config.cacheDir }),
        scratchDir: path.join(config.cacheDir, '..', 'scratch'),
      });
    } finally {
      store.close();
    }
  });
}

/**
 * Starts workflow `featureGroupMaterialization` for groups whose history must go online (online
 * just enabled over existing history, or an external group served online); does not wait.
 */
async function startMaterializations(
  groups: readonly { name: string; version: number }[],
  taskQueue: string,
): Promise<{ name: string; version: number; run: { workflowId: string; url: string } }[]> {
  if (groups.length === 0) return [];
  const config = loadConfig();
  const client = await connectTemporal(config);
  try {
    const out = [];
    for (const g of groups) {
      // One id per group version: a create repeated while the load runs joins it instead of starting another.
      const workflowId = `materialize-${g.name}-v${g.version}-online`;
      try {
        const handle = await client.workflow.start('featureGroupMaterialization', {
          taskQueue,
          workflowId,
          args: [{ featureGroup: { name: g.name, version: g.version } }],
        });
        out.push({ ...g, run: { workflowId, url: runUrl(config, workflowId, handle.firstExecutionRunId) } });
      } catch (error) {
        if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
        out.push({ ...g, run: { workflowId, url: runUrl(config, workflowId) } });
      }
    }
    return out;
  } finally {
    await client.connection.close();
  }
}

/** `fti fg …` — feature groups: create, list, describe, commits, read, statistics, reports. */
export function registerFeatureGroupCommands(program: Command): void {
  const fg = program
    .command('fg')
    .description(
      'feature groups: create, list, describe, commits, read (time travel), statistics, validation reports',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  $ fti fg create examples/txns.fg.json\n  $ fti fg list\n  $ fti fg describe card_txns --version 1\n  $ fti fg commits card_txns\n  $ fti fg read card_txns --as-of-time 2026-11-25T00:00:00Z --limit 20\n  $ fti fg stats card_txns\n  $ fti fg reports card_txns',
    );

  fg.command('create <file>')
    .description(
      'register feature group(s) from a JSON file or a JS module exporting featureGroups (idempotent); each version gets an hourly maintenance schedule (compaction, retention)',
    )
    .option('--no-maintenance', 'do not create the maintenance schedule (see fti fg maintenance)')
    .option('--json', 'machine-readable output')
    .option(
      '--task-queue <queue>',
      'features queue that materializes history online when needed',
      TASK_QUEUES.features,
    )
    .action(async (file: string, options: OutputOptions & { maintenance: boolean; taskQueue: string }) => {
      const defs = await loadDefinitions(file);
      const registered = await withViewDeps(async (deps) => {
        const out = [];
        for (const def of defs) {
          const { record, outcome, needsMaterialization } = await registerFeatureGroupChecked(deps, def);
          out.push({
            name: record.spec.name,
            version: record.spec.version,
            id: record.id,
            outcome,
            external: record.spec.external ? describeExternalSource(record.spec.external) : null,
            needsMaterialization,
          });
        }
        return out;
      });
      // External groups store nothing here: no compaction or retention to schedule.
      const stored = registered.filter((r) => r.external === null);
      const schedules = options.maintenance ? await ensureDefaultMaintenance(stored) : [];
      const materializations = await startMaterializations(
        registered.filter((r) => r.needsMaterialization),
        options.taskQueue,
      );
      const results = registered.map(({ needsMaterialization: _, ...r }) => ({
        ...r,
        maintenanceSchedule:
          schedules.find((s) => s.name === r.name && s.version === r.version)?.result ?? null,
        materialization:
          materializations.find((m) => m.name === r.name && m.version === r.version)?.run ?? null,
      }));
      emit(options, results, () =>
        results
          .map(
            (r) =>
              `${r.outcome}: ${r.name} v${r.version} (id ${r.id})` +
              (r.external ? `; external, read in place from ${r.external}` : '') +
              (r.maintenanceSchedule ? `; maintenance: ${r.maintenanceSchedule}` : '') +
              (r.materialization ? `; loading its history online: ${r.materialization.url}` : ''),
          )
          .join('\n'),
      );
    });

  fg.command('list')
    .description('every feature group version')
    .option('--json', 'machine-readable output')
    .action(async (options: OutputOptions) => {
      const groups = await withDatabase(({ db }) => listFeatureGroups(db));
      emit(options, groups, () =>
        table([
          ['NAME', 'VERSION', 'KEY', 'EVENT TIME', 'FEATURES', 'ONLINE'],
          ...groups.map((g) => [
            g.spec.name,
            String(g.spec.version),
            g.spec.primaryKey.join(','),
            g.spec.eventTime,
            String(g.spec.features.length),
            g.spec.online.enabled ? 'yes' : 'no',
          ]),
        ]),
      );
    });

  fg.command('describe <name>')
    .description('schema, settings and the latest commit of a feature group')
    .option('--version <n>', 'version (default: latest)')
    .option('--json', 'machine-readable output')
    .action(async (name: string, options: OutputOptions & { version?: string }) => {
      const result = await withOfflineTable(name, options.version, async (offline) => ({
        ...offline.featureGroup,
        latestCommit: (await offline.commitDetails(1))[0] ?? null,
      }));
      emit(options, result, () =>
        [
          `${result.spec.name} v${result.spec.version} — ${result.spec.description || 'no description'}`,
          `primary key: ${result.spec.primaryKey.join(', ')}; event time: ${result.spec.eventTime}; online: ${result.spec.online.enabled ? `yes (ttl ${result.spec.online.ttlSeconds ?? 'none'})` : 'no'}`,
          table([
            ['FEATURE', 'TYPE', 'NULLABLE'],
            ...result.spec.features.map((f) => [f.name, f.type, f.nullable ? 'yes' : 'no']),
          ]),
          `expectations: ${result.spec.expectations?.expectations.length ?? 0}; latest commit: ${result.latestCommit ? `${result.latestCommit.id} (${result.latestCommit.state}, ${result.latestCommit.operation})` : 'none'}`,
        ].join('\n'),
      );
    });

  fg.command('commits <name>')
    .description('the commit timeline (newest first), like Hopsworks commit_details()')
    .option('--version <n>', 'version (default: latest)')
    .option('--limit <n>', 'at most this many', '50')
    .option('--json', 'machine-readable output')
    .action(async (name: string, options: OutputOptions & { version?: string; limit: string }) => {
      const commits = await withOfflineTable(name, options.version, (offline) =>
        offline.commitDetails(positiveInt(options.limit, '--limit')),
      );
      emit(options, commits, () =>
        table([
          [
            'ID',
            'INSTANT',
            'SEQ',
            'STATE',
            'OPERATION',
            'INSERTED',
            'UPDATED',
            'DELETED',
            'ATTEMPT',
            'SUPERSEDES',
            'WINDOW',
          ],
          ...commits.map((c) => [
            String(c.id),
            c.instant,
            String(c.sequence ?? '-'),
            c.state,
            c.operation,
            String(c.rowsInserted),
            String(c.rowsUpdated),
            String(c.rowsDeleted),
            // More than 1: a retry took the commit over (fencing the earlier attempt).
            String(c.attempt),
            c.supersedesCommitId === null ? '-' : String(c.supersedesCommitId),
            c.windowStart ? `${c.windowStart.toISOString()} → ${c.windowEnd?.toISOString()}` : '-',
          ]),
        ]),
      );
    });

  fg.command('read <name>')
    .description('rows of the offline snapshot: latest, or as of a commit / time (time travel)')
    .option('--version <n>', 'version (default: latest)')
    .option('--as-of-commit <id>', 'snapshot as of this commit')
    .option('--as-of-time <iso>', 'snapshot as of this wall-clock time')
    .option('--limit <n>', 'at most this many rows', '20')
    .option('--json', 'machine-readable output')
    .action(
      async (
        name: string,
        options: OutputOptions & { version?: string; asOfCommit?: string; asOfTime?: string; limit: string },
      ) => {
        // Arguments are checked before anything is looked up.
        const asOf = asOfFrom(options);
        const limit = positiveInt(options.limit, '--limit');
        const rows = await withOfflineTable(name, options.version, (offline) =>
          withDuck(async (duck) => {
            await offline.registerSnapshot(duck, 'snap', asOf);
            return duck.all(`SELECT * FROM snap ORDER BY ALL LIMIT ${limit}`);
          }),
        );
        const plain = rows.map((r) =>
          Object.fromEntries(
            Object.entries(r).map(([k, v]) => [
              k,
              v instanceof Date ? v.toISOString() : typeof v === 'bigint' ? Number(v) : v,
            ]),
          ),
        );
        emit(options, plain, () =>
          plain.length === 0
            ? '(no rows)'
            : table([
                Object.keys(plain[0]!),
                ...plain.map((r) => Object.values(r).map((v) => (v === null ? 'null' : String(v)))),
              ]),
        );
      },
    );

  fg.command('stats <name>')
    .description(
      "statistics of the group (merged per-commit sketches; --exact reads the snapshot) or of one commit's rows",
    )
    .option('--version <n>', 'version (default: latest)')
    .option('--commit <id>', 'only the rows this commit wrote')
    .option(
      '--exact',
      'compute over the whole current snapshot (reads every live file; cost grows with the group)',
    )
    .option(
      '--recompute',
      "with --commit: compute that commit's statistics again (e.g. after its step failed)",
    )
    .option('--json', 'machine-readable output (without the raw sketches)')
    .action(
      async (
        name: string,
        options: OutputOptions & { version?: string; commit?: string; exact?: boolean; recompute?: boolean },
      ) => {
        if (options.recompute && !options.commit)
          throw new ValidationError(
            '--recompute needs --commit <id>: the commit whose statistics to compute again.',
          );
        if (options.exact && options.commit)
          throw new ValidationError(
            "give --exact (the whole snapshot) or --commit (one commit's rows), not both.",
          );
        const stats = await withStatisticsDeps(async (deps) => {
          const featureGroup = {
            name,
            ...(options.version ? { version: positiveInt(options.version, '--version') } : {}),
          };
          if (options.commit) {
            const commitId = positiveInt(options.commit, '--commit');
            const { statistics } = await computeCommitStatistics(deps, {
              featureGroup,
              commitId,
              ...(options.recompute ? { recompute: true } : {}),
            });
            if (!statistics)
              throw new ValidationError(
                `no statistics for ${name} commit ${commitId}: statistics are disabled for the group, or the commit is a compaction.`,
              );
            return {
              scope: `commit ${commitId} (its own rows)`,
              commitId,
              statistics: withoutSketches(statistics),
            };
          }
          const group = await groupStatistics(deps, {
            featureGroup,
            ...(options.exact ? { exact: true } : {}),
          });
          if (group.headCommitId === null)
            throw new ValidationError(
              `no statistics for ${name} yet: it has no commits; run a feature pipeline first.`,
            );
          return {
            scope:
              group.basis === 'snapshot'
                ? `snapshot as of commit ${group.headCommitId} (exact)`
                : `merged over ${group.commitsMerged} commit(s) up to commit ${group.headCommitId}${group.commitsComputed ? `, ${group.commitsComputed} computed now` : ''}`,
            commitId: group.headCommitId,
            basis: group.basis,
            statistics: withoutSketches(group.statistics),
          };
        });
        emit(options, stats, () =>
          [
            stats.scope,
            table([
              ['FEATURE', 'COUNT', 'NULLS', 'NON-FINITE', 'DISTINCT', 'MIN', 'MAX', 'MEAN', 'STDDEV'],
              ...Object.entries(stats.statistics).map(([f, s]) => {
                const fields = s as unknown as Record<string, unknown>;
                const nf = s.nonFinite;
                return [
                  f,
                  ...['count', 'nulls'].map((k) => cell(fields[k])),
                  nf ? String(nf.nan + nf.posInf + nf.negInf) : '-',
                  ...['distinct', 'min', 'max', 'mean', 'stddev'].map((k) => cell(fields[k])),
                ];
              }),
            ]),
          ].join('\n'),
        );
      },
    );

  fg.command('compact <name>')
    .description(
      'rewrite the live Parquet files into one (never changes a query result), then apply retention and clean abandoned commits',
    )
    .option('--version <n>', 'version (default: latest)')
    .option('--min-files <n>', 'compact only when at least this many live files', '2')
    .option('--json', 'machine-readable output')
    .action(async (name: string, options: OutputOptions & { version?: string; minFiles: string }) => {
      const result = await withOfflineTable(name, options.version, async (offline) => {
        const compaction = await withDuck((duck) =>
          offline.compact(duck, { minFiles: positiveInt(options.minFiles, '--min-files') }),
        );
        const retention = await offline.applyRetention();
        const abandoned = await offline.cleanAbandoned();
        return {
          compactionCommitId: compaction?.id ?? null,
          filesReplaced: compaction?.replacedFiles.length ?? 0,
          retentionDeletedFiles: retention.deletedFiles,
          abandonedCommitsCleaned: abandoned,
        };
      });
      emit(
        options,
        result,
        () =>
          `${result.compactionCommitId ? `compaction commit ${result.compactionCommitId} replaced ${result.filesReplaced} files` : 'nothing to compact'}; retention removed ${result.retentionDeletedFiles} files; ${result.abandonedCommitsCleaned} abandoned commits cleaned`,
      );
    });

  fg.command('materialize <name>')
    .description(
      'load the offline history into the online store: the latest row per key with event time in [--start, --end), upsert-if-newer (newer online rows are kept); runs as workflow featureGroupMaterialization on the features queue',
    )
    .option('--version <n>', 'version (default: latest)')
    .option('--start <time>', 'only rows with event time from this time, ISO-8601 (default: all history)')
    .option('--end <time>', 'only rows with event time before this time, ISO-8601 (default: no bound)')
    .option('--task-queue <queue>', 'queue of the features worker that runs it', TASK_QUEUES.features)
    .option('--json', 'machine-readable output')
    .action(
      async (
        name: string,
        options: OutputOptions & { version?: string; start?: string; end?: string; taskQueue: string },
      ) => {
        const start = isoOption(options.start, '--start');
        const end = isoOption(options.end, '--end');
        if (start && end && !(start < end))
          throw new ValidationError(`--start ${start} is not before --end ${end}.`, { location: '--start' });
        const version = options.version ? positiveInt(options.version, '--version') : undefined;
        const group = await withDatabase(({ db }) => getFeatureGroup(db, name, version));
        if (!group.spec.online.enabled)
          throw new ValidationError(
            `feature group ${name} v${group.spec.version} is not served online; register a version with online: { enabled: true } to materialize it.`,
            { location: name },
          );
        const config = loadConfig();
        const client = await connectTemporal(config);
        try {
          const workflowId = `materialize-${name}-v${group.spec.version}-${Date.now()}`;
          const handle = await client.workflow.start('featureGroupMaterialization', {
            taskQueue: options.taskQueue,
            workflowId,
            args: [
              {
                featureGroup: { name, version: group.spec.version },
                ...(start ? { start } : {}),
                ...(end ? { end } : {}),
              },
            ],
          });
          const result = await showProgress(
            handle,
            handle.result() as Promise<MaterializeResult>,
            options.json,
          );
          emit(options, { ...result, url: runUrl(config, workflowId, handle.firstExecutionRunId) }, () =>
            [
              result.commitId === null
                ? `${name} v${result.featureGroup.version}: the offline table is empty; nothing to materialize`
                : `${name} v${result.featureGroup.version} as of commit ${result.commitId}: ${result.offered} keys offered, ${result.applied} rows written online (the rest were already as new or newer)`,
              runUrl(config, workflowId, handle.firstExecutionRunId),
            ].join('\n'),
          );
        } finally {
          await client.connection.close();
        }
      },
    );

  fg.command('reports <name>')
    .description('validation reports (newest first), with the commit each belongs to')
    .option('--version <n>', 'version (default: latest)')
    .option('--limit <n>', 'at most this many', '20')
    .option('--json', 'machine-readable output (full Great Expectations-shaped reports)')
    .action(async (name: string, options: OutputOptions & { version?: string; limit: string }) => {
      const reports = await withDatabase(async ({ db }) => {
        const group = await getFeatureGroup(
          db,
          name,
          options.version ? positiveInt(options.version, '--version') : undefined,
        );
        const t = tables.validationReports;
        return db
          .select()
          .from(t)
          .where(eq(t.featureGroupId, group.id))
          .orderBy(desc(t.id))
          .limit(positiveInt(options.limit, '--limit'));
      });
      emit(options, reports, () =>
        table([
          ['ID', 'COMMIT', 'SUCCESS', 'POLICY', 'CREATED'],
          ...reports.map((r) => [
            String(r.id),
            r.commitId === null ? '(not written)' : String(r.commitId),
            r.success ? 'yes' : 'no',
            r.ingestionPolicy,
            r.createdAt.toISOString(),
          ]),
        ]),
      );
    });
}

/**
 * Creates (or updates) the default maintenance schedule of each registered version. The groups are
 * already registered, so a Temporal outage is reported per group as what to run later — never as a
 * failed `create`.
 */
async function ensureDefaultMaintenance(
  groups: readonly { name: string; version: number }[],
): Promise<{ name: string; version: number; result: string }[]> {
  let client: Awaited<ReturnType<typeof connectTemporal>>;
  const later = (g: { name: string; version: number }) =>
    `not scheduled (Temporal unreachable); run \`fti fg maintenance schedule ${g.name} --version ${g.version}\``;
  try {
    client = await connectTemporal(loadConfig());
  } catch {
    return groups.map((g) => ({ ...g, result: later(g) }));
  }
  try {
    const out = [];
    for (const g of groups) {
      try {
        const { scheduleId } = await ensureMaintenanceSchedule(client, g, {
          cadence: { everySeconds: DEFAULT_MAINTENANCE.everySeconds },
          policy: { minFiles: DEFAULT_MAINTENANCE.minFiles },
        });
        out.push({ ...g, result: `schedule ${scheduleId}` });
      } catch {
        out.push({ ...g, result: later(g) });
      }
    }
    return out;
  } finally {
    await client.connection.close();
  }
}
