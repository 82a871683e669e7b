import { eq, inArray, sql } from 'drizzle-orm';
import { tables } from '../db';
import { sqlPath, withDuck } from '../duckdb';
import { quoteIdent } from '../identifiers';
import type { ObjectCache } from '../storage';
import { getFeatureGroup, type FeatureGroupRecord } from './feature-group-repository';
import type { CommitInfo } from './offline/commits';
import { OfflineTable } from './offline/offline-table';
import type { OfflineStoreDeps } from './offline/offline-table';
import { computeStatistics, mergeStatistics, type BatchStatistics } from './statistics';

/** What statistics need: metadata, the object store (via the cache) and scratch space. */
export interface StatisticsDeps extends OfflineStoreDeps {
  readonly cache: ObjectCache;
  readonly scratchDir: string;
  /** DuckDB threads. @default 2 */
  readonly threads?: number;
}

/** A feature group reference. */
export interface StatisticsGroupRef {
  readonly name: string;
  readonly version?: number;
}

const duckOptions = (deps: StatisticsDeps) => ({
  threads: deps.threads ?? 2,
  tempDirectory: `${deps.scratchDir}/duck`,
});

async function sketchCommit(
  deps: StatisticsDeps,
  group: FeatureGroupRecord,
  commit: CommitInfo,
): Promise<BatchStatistics> {
  const features = group.spec.features;
  return withDuck(async (duck) => {
    if (commit.operation === 'external') {
      // A read of an external source describes the whole source as it is now.
      await new OfflineTable(deps, group).registerSnapshot(duck, 'commit_rows', { commitId: commit.id });
    } else if (commit.files.length === 0) {
      const empty = features.map((f) => `NULL AS ${quoteIdent(f.name)}`).join(', ');
      await duck.run(`CREATE VIEW commit_rows AS SELECT ${empty} WHERE FALSE`);
    } else {
      const paths = await deps.cache.localPaths(commit.files.map((f) => f.key));
      // Only the rows this commit wrote ('U'); tombstones ('D') describe removed rows. A table, not
      // a view: the sketches scan the rows about four times per column, and re-reading (decompressing)
      // the Parquet file each time was most of the step (1M rows × 10 features: 2.3 s → see
      // docs/performance.md).
      const columns = features.map((f) => quoteIdent(f.name)).join(', ');
      await duck.run(
        `CREATE TABLE commit_rows AS SELECT ${columns} FROM read_parquet([${paths.map(sqlPath).join(', ')}], union_by_name = true) WHERE _fti_op = 'U'`,
      );
    }
    return computeStatistics(duck, 'commit_rows', features, group.spec.statistics.histogramBins);
  }, duckOptions(deps));
}

/**
 * Computes and stores the statistics of the rows one commit wrote (never the whole snapshot, so
 * the cost follows the commit's size, not the group's history), with each feature's mergeable
 * sketch. Idempotent by commit id: an existing row is returned unless `recompute` is set, which
 * replaces it. Compactions get none (they rewrite rows, they add none). Statistics disabled → null.
 */
export async function computeCommitStatistics(
  deps: StatisticsDeps,
  input: { featureGroup: StatisticsGroupRef; commitId: number; recompute?: boolean },
): Promise<{ statisticsId: number | null; statistics: BatchStatistics | null }> {
  const group = await getFeatureGroup(deps.db, input.featureGroup.name, input.featureGroup.version);
  if (!group.spec.statistics.enabled) return { statisticsId: null, statistics: null };
  const t = tables.featureStatistics;
  if (!input.recompute) {
    const [existing] = await deps.db.select().from(t).where(eq(t.commitId, input.commitId));
    if (existing) return { statisticsId: existing.id, statistics: existing.statistics as BatchStatistics };
  }
  const commit = await new OfflineTable(deps, group).completedCommit(input.commitId);
  if (commit.operation === 'compaction') return { statisticsId: null, statistics: null };
  const statistics = await sketchCommit(deps, group, commit);
  const [row] = await deps.db
    .insert(t)
    .values({ featureGroupId: group.id, commitId: commit.id, statistics })
    .onConflictDoUpdate({
      target: t.commitId,
      set: { statistics: sql`excluded.statistics`, computedAt: sql`now()` },
    })
    .returning({ id: t.id });
  return { statisticsId: row!.id, statistics };
}

/** What {@link groupStatistics} returns. */
export interface GroupStatistics {
  /** `merged`: merge of per-commit sketches; `snapshot`: computed over the snapshot's rows. */
  readonly basis: 'merged' | 'snapshot';
  readonly statistics: BatchStatistics;
  /** The latest commit reflected (null for an empty group). */
  readonly headCommitId: number | null;
  /** Commits whose statistics were merged (basis `merged`). */
  readonly commitsMerged: number;
  /**
   * Commits whose statistics were computed now: missing (their pipeline's statistics step failed)
   * or stored without sketches (written before statistics were per commit).
   */
  readonly commitsComputed: number;
}

/**
 * Statistics of a feature group version as of its latest commit.
 *
 * Default (`exact` false): merges the per-commit sketches of every completed commit since the last
 * `overwrite` (compactions skipped; a commit superseded by a window re-run replaced by its
 * successor), computing and storing any a failed statistics step left missing. Cost: one small
 * JSON row per commit, no data read. For append-only groups (`insert`, or `upsert` of new record keys)
 * this equals the snapshot's statistics. Rows an `upsert` replaced and rows a `delete` removed are
 * still counted (a sketch cannot subtract), so for update-heavy groups counts and distributions
 * describe everything written rather than the latest values; ask for `exact: true` then, which
 * reads the whole snapshot (cost grows with the group's size).
 */
export async function groupStatistics(
  deps: StatisticsDeps,
  input: { featureGroup: StatisticsGroupRef; exact?: boolean },
): Promise<GroupStatistics> {
  const group = await getFeatureGroup(deps.db, input.featureGroup.name, input.featureGroup.version);
  const table = new OfflineTable(deps, group);
  const bins = group.spec.statistics.histogramBins;
  if (group.spec.external) {
    // No history to merge: the statistics of the source as it is now, stored with this read's record.
    const read = (await table.pin())!;
    const { statistics } = await computeCommitStatistics(deps, {
      featureGroup: input.featureGroup,
      commitId: read.id,
      ...(input.exact ? { recompute: true } : {}),
    });
    if (statistics)
      return { basis: 'snapshot', statistics, headCommitId: read.id, commitsMerged: 0, commitsComputed: 1 };
  }
  const timeline = await table.timeline();
  const head = timeline.at(-1)?.id ?? null;
  if (input.exact) {
    const statistics = await withDuck(async (duck) => {
      await table.registerSnapshot(duck, 'snap');
      return computeStatistics(duck, 'snap', group.spec.features, bins);
    }, duckOptions(deps));
    return { basis: 'snapshot', statistics, headCommitId: head, commitsMerged: 0, commitsComputed: 0 };
  }
  const lastOverwrite = timeline.findLastIndex((c) => c.operation === 'overwrite');
  const relevant = timeline.slice(Math.max(lastOverwrite, 0)).filter((c) => c.operation !== 'compaction');
  const superseded = new Set(relevant.flatMap((c) => (c.supersedesCommitId ? [c.supersedesCommitId] : [])));
  const commits = relevant.filter((c) => !superseded.has(c.id));
  const t = tables.featureStatistics;
  const stored = new Map<number, BatchStatistics>();
  const ids = commits.map((c) => c.id);
  for (let i = 0; i < ids.length; i += 1000) {
    const rows = await deps.db
      .select({ commitId: t.commitId, statistics: t.statistics })
      .from(t)
      .where(inArray(t.commitId, ids.slice(i, i + 1000)));
    for (const r of rows) {
      const statistics = r.statistics as BatchStatistics;
      // Rows stored before sketches existed cannot merge: they are computed again below.
      if (Object.values(statistics).some((column) => column.sketch)) stored.set(r.commitId!, statistics);
    }
  }
  let computed = 0;
  for (const commit of commits) {
    if (stored.has(commit.id)) continue;
    const { statistics } = await computeCommitStatistics(deps, {
      featureGroup: input.featureGroup,
      commitId: commit.id,
      recompute: true,
    });
    if (statistics) {
      stored.set(commit.id, statistics);
      computed++;
    }
  }
  const { statistics } = mergeStatistics([...stored.values()], group.spec.features, bins);
  return {
    basis: 'merged',
    statistics,
    headCommitId: head,
    commitsMerged: stored.size,
    commitsComputed: computed,
  };
}
