import fs from 'node:fs';
import { and, eq } from 'drizzle-orm';
import type { Database } from '../db';
import { tables } from '../db';
import { sqlPath, withDuck, type DuckSession } from '../duckdb';
import { ValidationError } from '../errors';
import { quoteIdent } from '../identifiers';
import type { ObjectCache, ObjectStore } from '../storage';
import { conformBatch, ROW_COLUMN } from './conform';
import { assertWritableGroup } from './errors';
import { getFeatureGroup, type FeatureGroupRecord } from './feature-group-repository';
import { OfflineTable } from './offline/offline-table';
import type { CommitInfo, WriteOperation } from './offline/commits';
import type { OnlineStore } from './online';
import { sourceFromSpec, type SourceSpec, type TimeWindow } from './sources';
import { contentHash, sameContent } from './content-hash';
import { keepStaged, takeStaged } from './ingest-handoff';
import type { TransformationRegistry } from './transformations';
import { summarizeFailures, validateRelation, type ValidationReport } from './validation/validator';
import type { WriteOptions } from './offline/offline-table';
import type { IngestionPolicy } from './validation/expectations';

/** Adapters ingestion needs; the features worker wires them. */
export interface IngestionDeps {
  readonly db: Database;
  readonly store: ObjectStore;
  readonly cache: ObjectCache;
  readonly online: OnlineStore;
  readonly transformations: TransformationRegistry;
  /** Store for an `s3://bucket` named by a file source. */
  readonly storeFor: (bucket: string) => ObjectStore;
  /** Environment for Postgres source URLs. */
  readonly env: NodeJS.ProcessEnv;
  /** Scratch folder for temporary local files. */
  readonly scratchDir: string;
  /** DuckDB threads per step. @default 2 */
  readonly threads?: number;
}

export { computeCommitStatistics, groupStatistics } from './commit-statistics';
export type { GroupStatistics, StatisticsDeps } from './commit-statistics';
export { contentHash, sameContent } from './content-hash';
export { dropStaged } from './ingest-handoff';
export { mergeStatistics, summarizeSketch, withoutSketches } from './statistics';
export { planRerun, windowCommits, windowKey, RERUN_SEPARATOR } from './window-commits';

/** A feature group reference as carried in workflow inputs. */
export interface FeatureGroupRef {
  readonly name: string;
  readonly version?: number;
}

type Progress = (message: string) => void;

/** A local copy of a staged batch: the one this process kept when it uploaded it, or a download. */
async function downloadStaged(deps: IngestionDeps, key: string): Promise<string> {
  const kept = await takeStaged(deps.store, key);
  if (kept) return kept;
  const file = `${deps.scratchDir}/${key.replace(/\//g, '_')}`;
  await fs.promises.mkdir(deps.scratchDir, { recursive: true });
  await deps.store.download(key, file);
  return file;
}

/** Writes a DuckDB table as Parquet to `key`, keeping the file for this process's next step. */
async function uploadTable(
  deps: IngestionDeps,
  duck: DuckSession,
  table: string,
  key: string,
): Promise<number> {
  await fs.promises.mkdir(deps.scratchDir, { recursive: true });
  const file = `${deps.scratchDir}/${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.parquet`;
  try {
    await duck.run(`COPY ${table} TO ${sqlPath(file)} (FORMAT parquet, COMPRESSION zstd)`);
    const uploaded = await deps.store.putFile(key, file);
    const bytes = (await fs.promises.stat(file)).size;
    await keepStaged(deps.store, uploaded, file, `${deps.scratchDir}/handoff`);
    return bytes;
  } finally {
    await fs.promises.rm(file, { force: true });
  }
}

const duckOptions = (deps: IngestionDeps) => ({
  threads: deps.threads ?? 2,
  tempDirectory: `${deps.scratchDir}/duck`,
});

/** Step 1 — loads the source (optionally windowed) and stages it as Parquet at `outKey`. */
export async function extractToStaging(
  deps: IngestionDeps,
  input: { source: SourceSpec; window?: TimeWindow; outKey: string },
  onProgress?: Progress,
): Promise<{ rows: number; bytes: number }> {
  const source = sourceFromSpec(input.source, deps);
  return withDuck(async (duck) => {
    const { rows } = await loadSource(deps, duck, source, input.window, onProgress);
    onProgress?.(`staging ${rows} rows`);
    const bytes = await uploadTable(deps, duck, 'raw', input.outKey);
    return { rows, bytes };
  }, duckOptions(deps));
}

/** Loads a source into DuckDB table `raw`; no rows is bad input. */
async function loadSource(
  deps: IngestionDeps,
  duck: DuckSession,
  source: ReturnType<typeof sourceFromSpec>,
  window: TimeWindow | undefined,
  onProgress?: Progress,
): Promise<{ rows: number }> {
  const { rows } = await source.load('raw', {
    duck,
    scratchDir: deps.scratchDir,
    ...(window ? { window } : {}),
    ...(onProgress ? { onProgress } : {}),
  });
  if (rows === 0) {
    throw new ValidationError(
      `${source.describe()}: no rows${window ? ` in window [${window.start.toISOString()}, ${window.end.toISOString()})` : ''}. Check the source and the window.`,
      {
        location: source.describe(),
      },
    );
  }
  return { rows };
}

/** What step 2 needs besides the raw batch: the group, the transformation and the window. */
export interface TransformInput {
  readonly featureGroup: FeatureGroupRef;
  readonly transformation?: string;
  readonly window?: TimeWindow;
  readonly outKey: string;
  readonly label: string;
  /** A delete batch names only keys (and event times): its missing nullable features are NULL, not an error. */
  readonly operation?: WriteOperation;
}

/** What step 2 returns. */
export interface TransformResult {
  readonly rows: number;
  readonly bytes: number;
  readonly featureGroupId: number;
  readonly contentHash: string;
}

/**
 * Step 2 — applies the named transformation (if any), keeps rows whose event time is in the window,
 * checks and casts them to the feature group's schema, and stages the result at `outKey`. Returns
 * the batch's order-independent content hash (stored with its commit, so a re-run of the window can
 * tell whether its source changed).
 */
export async function transformToStaging(
  deps: IngestionDeps,
  input: TransformInput & { rawKey: string },
  onProgress?: Progress,
): Promise<TransformResult> {
  const group = await getFeatureGroup(deps.db, input.featureGroup.name, input.featureGroup.version);
  assertWritableGroup(group.spec, 'a feature pipeline');
  const transformation = transformationOf(deps, input);
  const local = await downloadStaged(deps, input.rawKey);
  try {
    return await withDuck(async (duck) => {
      await duck.run(`CREATE TABLE raw AS SELECT * FROM read_parquet(${sqlPath(local)})`);
      return stageTransformed(deps, duck, { group, transformation }, input, onProgress);
    }, duckOptions(deps));
  } finally {
    await fs.promises.rm(local, { force: true });
  }
}

/**
 * Steps 1 and 2 in one DuckDB session: loads the source (`extractWindow` includes any look-back)
 * and stages the transformed, conformed batch at `outKey` — the same checks, rows and content hash
 * as {@link extractToStaging} followed by {@link transformToStaging}, without writing, uploading
 * and reading back the raw batch in between (1M rows × 10 features: about 1 s of 6.8, bench/ingest).
 */
export async function extractTransformToStaging(
  deps: IngestionDeps,
  input: TransformInput & { source: SourceSpec; extractWindow?: TimeWindow },
  onProgress?: Progress,
): Promise<TransformResult & { rowsExtracted: number }> {
  const group = await getFeatureGroup(deps.db, input.featureGroup.name, input.featureGroup.version);
  assertWritableGroup(group.spec, 'a feature pipeline');
  const transformation = transformationOf(deps, input);
  const source = sourceFromSpec(input.source, deps);
  return withDuck(async (duck) => {
    const { rows } = await loadSource(deps, duck, source, input.extractWindow, onProgress);
    const staged = await stageTransformed(deps, duck, { group, transformation }, input, onProgress);
    return { ...staged, rowsExtracted: rows };
  }, duckOptions(deps));
}

/** The named transformation, looked up before any data is read (an unknown name fails at once). */
function transformationOf(deps: IngestionDeps, input: Pick<TransformInput, 'transformation'>) {
  return input.transformation ? deps.transformations.get(input.transformation) : undefined;
}

/** Step 2 on DuckDB table `raw` of this session: transform, conform, window, hash, upload. */
async function stageTransformed(
  deps: IngestionDeps,
  duck: DuckSession,
  resolved: { group: FeatureGroupRecord; transformation: ReturnType<typeof transformationOf> },
  input: TransformInput,
  onProgress?: Progress,
): Promise<TransformResult> {
  const prepared = await prepareBatch(deps, duck, resolved, input, onProgress);
  const bytes = await uploadTable(deps, duck, 'conformed', input.outKey);
  return { ...prepared, bytes };
}

/**
 * Transform, conform and window DuckDB table `raw` of this session into table `conformed` (typed to
 * the group's schema, with `_fti_row` for input order), and hash it: what staging writes, without
 * writing it.
 */
async function prepareBatch(
  deps: IngestionDeps,
  duck: DuckSession,
  {
    group,
    transformation,
  }: { group: FeatureGroupRecord; transformation: ReturnType<typeof transformationOf> },
  input: Omit<TransformInput, 'outKey'>,
  onProgress?: Progress,
): Promise<Omit<TransformResult, 'bytes'>> {
  let current = 'raw';
  if (transformation) {
    onProgress?.(`transforming with ${input.transformation}`);
    await transformation.apply('raw', 'transformed', { duck, scratchDir: deps.scratchDir });
    current = 'transformed';
  }
  const columns = (await duck.describe(`SELECT * FROM ${current}`)).map((c) => c.name);
  if (!columns.includes(ROW_COLUMN)) {
    await duck.run(
      `CREATE OR REPLACE TABLE numbered AS SELECT *, row_number() OVER () AS ${ROW_COLUMN} FROM ${current}`,
    );
    current = 'numbered';
  }
  const rows = await conformBatch(
    duck,
    current,
    'conformed',
    group.spec,
    input.label,
    input.operation === 'delete' ? { missingNullable: 'null' } : {},
  );
  // Every row is in `conformed` now: the earlier copies would only hold memory while the batch is
  // validated and committed in the same session (1M rows: about 300 MiB of peak RSS).
  await dropRelations(duck, ['transformed', 'numbered', 'raw']);
  let kept = rows.rows;
  if (input.window) {
    // Rows read only as look-back context for windowed aggregates are not written.
    const et = quoteIdent(group.spec.eventTime);
    await duck.run(
      `DELETE FROM conformed WHERE CAST(${et} AS TIMESTAMP) < $1::TIMESTAMP OR CAST(${et} AS TIMESTAMP) >= $2::TIMESTAMP`,
      [input.window.start.toISOString().replace('Z', ''), input.window.end.toISOString().replace('Z', '')],
    );
    kept = Number((await duck.one<{ n: bigint }>('SELECT count(*) AS n FROM conformed'))?.n ?? 0);
  }
  const hash = await contentHash(
    duck,
    'conformed',
    group.spec.features.map((f) => f.name),
  );
  return { rows: kept, featureGroupId: group.id, contentHash: hash };
}

/** Drops DuckDB tables or views of this session; a user transformation may have made either. */
async function dropRelations(duck: DuckSession, names: readonly string[]): Promise<void> {
  const rows = await duck.all<{ name: string; kind: string }>(
    `SELECT table_name AS name, table_type AS kind FROM information_schema.tables
     WHERE table_schema = 'main' AND table_name IN (${names.map((_, i) => `$${i + 1}`).join(', ')})`,
    [...names],
  );
  // In the given order: a view over a table goes before the table.
  for (const name of names) {
    const found = rows.find((r) => r.name === name);
    if (found) await duck.run(`DROP ${found.kind === 'VIEW' ? 'VIEW' : 'TABLE'} ${quoteIdent(name)}`);
  }
}

/**
 * Step 3 — runs the group's expectation suite on the staged batch and stores the report. With an
 * `idempotencyKey` (the commit's key plus the batch's content hash) a retried step replaces its one
 * report instead of adding another.
 */
export async function validateStaged(
  deps: IngestionDeps,
  input: {
    stagedKey: string;
    featureGroup: FeatureGroupRef;
    policy: IngestionPolicy;
    pipelineRunId?: number;
    idempotencyKey?: string;
  },
): Promise<ValidationOutcome> {
  const group = await getFeatureGroup(deps.db, input.featureGroup.name, input.featureGroup.version);
  const suite = group.spec.expectations;
  if (!suite || suite.expectations.length === 0) return NO_EXPECTATIONS;
  const local = await downloadStaged(deps, input.stagedKey);
  try {
    const report = await withDuck(async (duck) => {
      await duck.run(`CREATE VIEW batch AS SELECT * FROM read_parquet(${sqlPath(local)})`);
      return validateRelation(duck, 'batch', suite, input.policy);
    }, duckOptions(deps));
    return await storeReport(deps, group, report, input);
  } finally {
    await fs.promises.rm(local, { force: true });
  }
}

/** What validation decided about a batch, and where its report is stored (null: no expectations). */
export interface ValidationOutcome {
  readonly reportId: number | null;
  readonly report: ValidationReport | null;
  /** The strict policy refuses the batch: nothing may be written. */
  readonly blocked: boolean;
  readonly summary: string;
}

/** The outcome for a group with no expectations: nothing stored, nothing refused. */
const NO_EXPECTATIONS: ValidationOutcome = {
  reportId: null,
  report: null,
  blocked: false,
  summary: 'no expectations',
};

/** A report's one-line summary, as runs and their results show it. */
function summaryOf(report: ValidationReport): string {
  return report.success ? 'all expectations met' : summarizeFailures(report);
}

/**
 * The key a run's validation report is stored under: the commit's key and the batch's content hash,
 * so the same window and the same rows keep one report however often the step is retried.
 */
export function reportKey(commitKey: string, contentHash: string | null | undefined): string {
  return contentHash ? `${commitKey}@${contentHash}` : commitKey;
}

/** Stores a batch's report; with an `idempotencyKey`, a retry replaces its one report. */
async function storeReport(
  deps: IngestionDeps,
  group: FeatureGroupRecord,
  report: ValidationReport,
  input: { policy: IngestionPolicy; pipelineRunId?: number; idempotencyKey?: string },
): Promise<ValidationOutcome> {
  const t = tables.validationReports;
  const values = {
    featureGroupId: group.id,
    success: report.success,
    ingestionPolicy: input.policy,
    report,
    pipelineRunId: input.pipelineRunId ?? null,
    idempotencyKey: input.idempotencyKey ?? null,
  };
  const [row] = input.idempotencyKey
    ? await deps.db
        .insert(t)
        .values(values)
        .onConflictDoUpdate({
          target: [t.featureGroupId, t.idempotencyKey],
          set: {
            success: values.success,
            ingestionPolicy: values.ingestionPolicy,
            report: values.report,
            pipelineRunId: values.pipelineRunId,
          },
        })
        .returning({ id: t.id })
    : await deps.db.insert(t).values(values).returning({ id: t.id });
  const blocked = input.policy === 'strict' && report.meta.has_error_failures;
  return {
    reportId: row!.id,
    report,
    blocked,
    summary: summaryOf(report),
  };
}

/**
 * Step 4 — writes the staged batch as one offline commit (idempotent per key). `contentHash` is
 * stored with the commit; when the key already had a completed commit, `sourceChanged` says whether
 * its stored hash differs from this batch's (null when either is unknown). `supersedes` writes a
 * re-run of a window: the batch replaces what that commit wrote (see {@link WriteOptions.supersedes}).
 */
export async function commitStaged(
  deps: IngestionDeps,
  input: {
    stagedKey: string;
    featureGroup: FeatureGroupRef;
    operation: WriteOperation;
    idempotencyKey: string;
    window?: TimeWindow;
    reportId?: number | null;
    pipelineRunId?: number;
    contentHash?: string;
    supersedes?: number;
  },
  onProgress?: Progress,
): Promise<CommitOutcome> {
  const group = await getFeatureGroup(deps.db, input.featureGroup.name, input.featureGroup.version);
  const local = await downloadStaged(deps, input.stagedKey);
  try {
    return await withDuck(async (duck) => {
      // A view: the write reads the batch once (collapsing duplicate record keys into its own
      // table), so loading it into a table first was a second copy of every row.
      await duck.run(`CREATE VIEW batch AS SELECT * FROM read_parquet(${sqlPath(local)})`);
      return commitBatch(deps, duck, group, 'batch', input, onProgress);
    }, duckOptions(deps));
  } finally {
    await fs.promises.rm(local, { force: true });
  }
}

/** How a batch is committed: {@link commitStaged}'s input without the staged key. */
export interface CommitInput {
  readonly operation: WriteOperation;
  readonly idempotencyKey: string;
  readonly window?: TimeWindow;
  readonly reportId?: number | null;
  readonly pipelineRunId?: number;
  readonly contentHash?: string;
  readonly supersedes?: number;
}

/** What a commit step returns: the commit, whether it was reused, and whether the source changed. */
export interface CommitOutcome {
  readonly commit: CommitInfo;
  readonly reused: boolean;
  readonly sourceChanged: boolean | null;
}

/** Writes DuckDB relation `batch` (conformed) of this session as one commit and links its report. */
async function commitBatch(
  deps: IngestionDeps,
  duck: DuckSession,
  group: FeatureGroupRecord,
  batch: string,
  input: CommitInput,
  onProgress?: Progress,
): Promise<CommitOutcome> {
  const options: WriteOptions = {
    operation: input.operation,
    idempotencyKey: input.idempotencyKey,
    ...(input.window ? { window: input.window } : {}),
    ...(input.pipelineRunId ? { pipelineRunId: input.pipelineRunId } : {}),
    ...(input.contentHash ? { contentHash: input.contentHash } : {}),
    ...(input.supersedes !== undefined ? { supersedes: input.supersedes } : {}),
    ...(onProgress ? { onProgress } : {}),
  };
  const result = await new OfflineTable(deps, group).write(duck, batch, options);
  if (input.reportId) {
    await deps.db
      .update(tables.validationReports)
      .set({ commitId: result.commit.id })
      .where(eq(tables.validationReports.id, input.reportId));
  }
  // Hashes of different families (a DuckDB upgrade changed hash()) compare as unknown, not changed.
  const same = sameContent(result.commit.contentHash, input.contentHash);
  const sourceChanged = !result.reused ? false : same === null ? null : !same;
  return { ...result, sourceChanged };
}

/**
 * The completed commit of `input.idempotencyKey` when this same pipeline run wrote it (an earlier
 * attempt of the step), as {@link extractToCommit} returns it; undefined otherwise. A commit of
 * another run under the same key (the window run again) is not this: that run reads the source and
 * says whether it changed.
 */
async function ownCommit(
  deps: IngestionDeps,
  group: FeatureGroupRecord,
  input: Pick<CommitInput, 'idempotencyKey' | 'pipelineRunId'>,
): Promise<Awaited<ReturnType<typeof extractToCommit>> | undefined> {
  if (input.pipelineRunId === undefined) return undefined;
  const commit = await new OfflineTable(deps, group).completedByKey(input.idempotencyKey);
  if (!commit || commit.pipelineRunId !== input.pipelineRunId) return undefined;
  const t = tables.validationReports;
  // The attempt stored its report under the window's key and the batch's hash; it may have died
  // between the commit and linking the report to it.
  const [stored] = await deps.db
    .select({ id: t.id, report: t.report, commitId: t.commitId })
    .from(t)
    .where(
      and(
        eq(t.featureGroupId, group.id),
        eq(t.idempotencyKey, reportKey(input.idempotencyKey, commit.contentHash)),
      ),
    )
    .limit(1);
  if (stored && stored.commitId === null)
    await deps.db.update(t).set({ commitId: commit.id }).where(eq(t.id, stored.id));
  const report = (stored?.report ?? null) as ValidationReport | null;
  const rows = commit.rowsInserted + commit.rowsUpdated + commit.rowsDeleted;
  return {
    // The source rows this commit came from were counted by the lost attempt; the commit's rows stand in.
    rowsExtracted: rows,
    rows,
    contentHash: commit.contentHash ?? '',
    validation: report
      ? { reportId: stored!.id, report, blocked: false, summary: summaryOf(report) }
      : NO_EXPECTATIONS,
    // Written by this run: not reused, and by definition the source it committed.
    commit: { commit, reused: false, sourceChanged: false },
  };
}

/** A batch the strict policy refused: its report is stored, and nothing was written. */
export class BatchRefused extends Error {
  constructor(readonly outcome: ValidationOutcome) {
    super(`validation failed under the strict policy, nothing was written: ${outcome.summary}`);
    this.name = 'BatchRefused';
  }
}

/**
 * Extract → transform → validate → commit in one DuckDB session, with no staged batch: the same
 * checks, rows, content hash, validation report and commit as {@link extractTransformToStaging},
 * {@link validateStaged} and {@link commitStaged} one after the other, without writing, uploading and
 * reading back the staged batch (bench/ingest, 1M rows: see docs/performance.md). Throws
 * {@link BatchRefused} (report stored, nothing written) when the strict policy refuses the batch.
 * Idempotent as its parts are: a retry keeps one report (keyed by `idempotencyKey@contentHash`) and
 * reuses the commit of `commit.idempotencyKey` if an earlier attempt completed it.
 */
export async function extractToCommit(
  deps: IngestionDeps,
  input: Omit<TransformInput, 'outKey'> & {
    source: SourceSpec;
    extractWindow?: TimeWindow;
    policy: IngestionPolicy;
    commit: Omit<CommitInput, 'reportId' | 'contentHash'>;
  },
  onProgress?: Progress,
  /** Called between phases: throws to stop before the next one (a cancelled run never commits). */
  checkpoint: () => void = () => undefined,
): Promise<{
  rowsExtracted: number;
  rows: number;
  contentHash: string;
  validation: ValidationOutcome;
  commit: CommitOutcome;
}> {
  const group = await getFeatureGroup(deps.db, input.featureGroup.name, input.featureGroup.version);
  assertWritableGroup(group.spec, 'a feature pipeline');
  // A retry of the same run whose earlier attempt completed the commit (and then lost its answer)
  // returns that commit as it was written: reading the source again could see rows that arrived
  // since, and report, refuse or hash a batch that is not the one committed.
  const own = await ownCommit(deps, group, input.commit);
  if (own) return own;
  const transformation = transformationOf(deps, input);
  const source = sourceFromSpec(input.source, deps);
  return withDuck(async (duck) => {
    const { rows: rowsExtracted } = await loadSource(deps, duck, source, input.extractWindow, onProgress);
    checkpoint();
    onProgress?.(`conforming ${rowsExtracted} rows`);
    const { rows, contentHash: hash } = await prepareBatch(
      deps,
      duck,
      { group, transformation },
      input,
      onProgress,
    );
    const suite = group.spec.expectations;
    checkpoint();
    let validation = NO_EXPECTATIONS;
    if (suite && suite.expectations.length > 0) {
      onProgress?.(`validating ${rows} rows`);
      const report = await validateRelation(duck, 'conformed', suite, input.policy);
      validation = await storeReport(deps, group, report, {
        policy: input.policy,
        ...(input.commit.pipelineRunId ? { pipelineRunId: input.commit.pipelineRunId } : {}),
        idempotencyKey: reportKey(input.commit.idempotencyKey, hash),
      });
      if (validation.blocked) throw new BatchRefused(validation);
    }
    checkpoint();
    const commit = await commitBatch(
      deps,
      duck,
      group,
      'conformed',
      { ...input.commit, reportId: validation.reportId, contentHash: hash },
      onProgress,
    );
    return { rowsExtracted, rows, contentHash: hash, validation, commit };
  }, duckOptions(deps));
}

/** Step 5 — applies a commit to the online store (upsert-if-newer; deletes fall back to survivors; an overwrite replaces the group's online rows). */
export async function writeCommitOnline(
  deps: IngestionDeps,
  input: { featureGroup: FeatureGroupRef; commitId: number },
  onProgress?: Progress,
): Promise<{ offered: number; applied: number; skipped: boolean }> {
  const group = await getFeatureGroup(deps.db, input.featureGroup.name, input.featureGroup.version);
  if (!group.spec.online.enabled) return { offered: 0, applied: 0, skipped: true };
  const table = new OfflineTable(deps, group);
  const commit = await table.completedCommit(input.commitId);
  if (commit.files.length === 0) return { offered: 0, applied: 0, skipped: false };
  const paths = await deps.cache.localPaths(commit.files.map((f) => f.key));
  return withDuck(async (duck) => {
    const columns = group.spec.features.map((f) => quoteIdent(f.name)).join(', ');
    await duck.run(
      `CREATE VIEW commit_rows AS SELECT ${columns}, _fti_op FROM read_parquet([${paths.map(sqlPath).join(', ')}], union_by_name = true)`,
    );
    if (commit.operation === 'delete') {
      await table.registerSnapshot(duck, 'survivors', { commitId: commit.id });
      const deleted = await deps.online.applyDeletes(duck, 'commit_rows', 'survivors', group.spec);
      return { offered: deleted, applied: deleted, skipped: false };
    }
    // The latest row per primary key, read from the Parquet file once into a table: the online
    // store's write reads its relation twice (rows to send, and their count), and each read of a
    // view re-scanned the file and re-ran the window. Taking the latest per key here changes nothing
    // the store sees: a commit holds one row per record key (primary key + event time), so there
    // are no ties, and the store's own latest-per-key of these rows is these rows.
    const pk = group.spec.primaryKey.map(quoteIdent).join(', ');
    await duck.run(
      `CREATE TABLE upserts AS SELECT ${columns} FROM commit_rows WHERE _fti_op = 'U'
       QUALIFY row_number() OVER (PARTITION BY ${pk} ORDER BY ${quoteIdent(group.spec.eventTime)} DESC) = 1`,
    );
    // An overwrite rewrote the history: the online state becomes its latest rows, even where the
    // store held newer events (a re-run backfill, a rewritten timeline) or keys that no longer exist.
    const result =
      commit.operation === 'overwrite'
        ? await deps.online.replaceFromDuck(duck, 'upserts', group.spec)
        : await deps.online.writeFromDuck(duck, 'upserts', group.spec, (n) =>
            onProgress?.(`${n} rows sent to the online store`),
          );
    return { ...result, skipped: false };
  }, duckOptions(deps));
}
