// A feature group for the commit-cost benchmark: 1k-row "hourly" upserts with new event times, a
// history built in one large DuckDB-generated commit, and a timed commit step (offline write of the
// conformed batch + the per-commit statistics a pipeline's statistics step computes).
import { performance } from 'node:perf_hooks';
import { withDuck } from '../../core/duckdb';
import {
  computeCommitStatistics,
  OfflineTable,
  registerFeatureGroup,
  type FeatureGroupRecord,
  type FeatureViewDeps,
} from '../../core/featurestore';

/** Feature columns of the benchmark groups (besides the key and the event time). */
export const FEATURES = Array.from({ length: 10 }, (_, j) => `f${j}`);
/** Hour 0 of the hourly batches; history lies before it, so a new batch overlaps no history file. */
const HOURLY_START = "TIMESTAMP '2026-01-01'";
const HISTORY_START = "TIMESTAMP '2025-01-01'";

/** Time of one commit step, in milliseconds. */
export interface CommitTiming {
  /** `OfflineTable.write` of the conformed batch (resolve, Parquet, S3 upload, completion in PostgreSQL). */
  readonly writeMs: number;
  /** `computeCommitStatistics` of the commit (sketches of the rows it wrote, stored in PostgreSQL). */
  readonly statsMs: number;
  /** The whole step: DuckDB session, batch, write and statistics. */
  readonly totalMs: number;
}

/** Registers a fresh group `name` (bigint key, timestamp, 10 doubles; statistics on). */
export async function registerBenchGroup(deps: FeatureViewDeps, name: string): Promise<FeatureGroupRecord> {
  return (
    await registerFeatureGroup(deps.db, {
      name,
      primaryKey: ['entity_id'],
      eventTime: 'event_time',
      features: [
        { name: 'entity_id', type: 'bigint' },
        { name: 'event_time', type: 'timestamp' },
        ...FEATURES.map((f) => ({ name: f, type: 'double' as const })),
      ],
    })
  ).record;
}

const featureColumns = (seed: string) =>
  FEATURES.map((f, j) => `(hash(i, ${j}, ${seed}) % 100000)::DOUBLE / 1000 AS ${f}`).join(', ');

/**
 * Writes `rows` history rows as one commit (event times, one per second, in the year before hour 0;
 * 100k entities). Not measured as a commit: it only gives the group its size.
 */
export async function writeHistory(deps: FeatureViewDeps, group: FeatureGroupRecord, rows: number) {
  if (rows === 0) return;
  await withDuck(
    async (duck) => {
      await duck.run(
        `CREATE TABLE batch AS SELECT (i % 100000)::BIGINT AS entity_id, ${HISTORY_START} + to_seconds(i) AS event_time,
           ${featureColumns("'history'")}, i + 1 AS _fti_row FROM range(${rows}) t(i)`,
      );
      await new OfflineTable(deps, group).write(duck, 'batch', {
        operation: 'upsert',
        idempotencyKey: 'bench-history',
      });
    },
    { threads: deps.threads ?? 2, tempDirectory: `${deps.scratchDir}/duck` },
  );
}

/**
 * One commit step of an hourly pipeline: `rows` rows of entities 0..rows-1 with event times inside
 * hour `hour`, upserted, then the commit's statistics. Timed the way the pipeline's commit and
 * statistics activities spend it (each opens its own DuckDB session).
 */
export async function timedHourlyCommit(
  deps: FeatureViewDeps,
  group: FeatureGroupRecord,
  hour: number,
  rows: number,
  withStatistics: boolean,
): Promise<CommitTiming> {
  const table = new OfflineTable(deps, group);
  const start = performance.now();
  let writeMs = 0;
  const { commit } = await withDuck(
    async (duck) => {
      await duck.run(
        `CREATE TABLE batch AS SELECT i::BIGINT AS entity_id,
           ${HOURLY_START} + INTERVAL ${hour} HOUR + to_microseconds((i * 3600000000 // ${rows})::BIGINT) AS event_time,
           ${featureColumns(String(hour))}, i + 1 AS _fti_row FROM range(${rows}) t(i)`,
      );
      const writeStart = performance.now();
      const result = await table.write(duck, 'batch', {
        operation: 'upsert',
        idempotencyKey: `bench-hour-${hour}`,
      });
      writeMs = performance.now() - writeStart;
      return result;
    },
    { threads: deps.threads ?? 2, tempDirectory: `${deps.scratchDir}/duck` },
  );
  const statsStart = performance.now();
  if (withStatistics) {
    await computeCommitStatistics(deps, {
      featureGroup: { name: group.spec.name, version: group.spec.version },
      commitId: commit.id,
    });
  }
  const end = performance.now();
  return { writeMs, statsMs: end - statsStart, totalMs: end - start };
}

/** Median of a non-empty list. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Median of each part of a list of timings. */
export function medianTiming(timings: readonly CommitTiming[]): CommitTiming {
  return {
    writeMs: median(timings.map((t) => t.writeMs)),
    statsMs: median(timings.map((t) => t.statsMs)),
    totalMs: median(timings.map((t) => t.totalMs)),
  };
}
