/**
 * Partitioned offline layout: a stored group's files split by event-time period and, optionally, by
 * a hash bucket of the primary key. Every version of a record key (primary key + event time) lies in
 * exactly one partition, which is what lets compaction merge within a partition and lets a read of a
 * time range or of a key subset open only the files it needs.
 */
import { ValidationError } from '../../errors';
import { quoteIdent } from '../../identifiers';
import type { EventRange } from './commits';

/** Event-time periods a group can be partitioned by. */
export const PARTITION_PERIODS = ['hour', 'day', 'month', 'year'] as const;
/** An event-time period of {@link PARTITION_PERIODS}. */
export type PartitionPeriod = (typeof PARTITION_PERIODS)[number];
/** Most key buckets a group may have: each costs at least one file per period and commit. */
export const MAX_KEY_BUCKETS = 256;

/** A stored group's partitioning, defaults filled in. */
export interface Partitioning {
  /** One partition per event-time period; null: time does not partition files. */
  readonly period: PartitionPeriod | null;
  /** Primary-key hash buckets (1: the key does not partition files). */
  readonly keyBuckets: number;
}

/** No partitioning: one file per commit (the layout before partitioning existed). */
export const UNPARTITIONED: Partitioning = { period: null, keyBuckets: 1 };

/** A group's partitioning; specs stored before partitioning existed have none. */
export function partitioningOf(spec: { readonly partitioning?: Partitioning | null }): Partitioning {
  return spec.partitioning ?? UNPARTITIONED;
}

/** Whether files of this partitioning carry a partition at all. */
export function isPartitioned(p: Partitioning): boolean {
  return p.period !== null || p.keyBuckets > 1;
}

const FORMATS: Record<PartitionPeriod, string> = {
  hour: '%Y-%m-%dT%H',
  day: '%Y-%m-%d',
  month: '%Y-%m',
  year: '%Y',
};

/**
 * SQL for the key-hash bucket (0 … buckets−1) of a row's primary key: the low 64 bits of the MD5 of
 * the key columns' text joined by U+001F. MD5 (not DuckDB's `hash`, which may change between
 * versions) keeps the bucket of a key the same for every writer and reader, forever; casting to text
 * makes an INTEGER key and a BIGINT spine column with the same value land in the same bucket.
 * Column names must be validated identifiers.
 */
export function keyBucketSql(keyColumns: readonly string[], buckets: number, alias?: string): string {
  const prefix = alias ? `${alias}.` : '';
  const text = keyColumns.map((c) => `CAST(${prefix}${quoteIdent(c)} AS VARCHAR)`).join(', ');
  return `CAST(md5_number_lower(concat_ws(chr(31), ${text})) % ${buckets} AS INTEGER)`;
}

/**
 * SQL for a row's partition name, e.g. `period=2026-01-05/bucket=3` (hive-style, so a listing of the
 * bucket reads naturally), or undefined when the group is not partitioned.
 */
export function partitionSql(
  p: Partitioning,
  spec: { readonly primaryKey: readonly string[]; readonly eventTime: string },
): string | undefined {
  const parts: string[] = [];
  if (p.period !== null) {
    const et = `CAST(${quoteIdent(spec.eventTime)} AS TIMESTAMP)`;
    parts.push(`'period=' || strftime(date_trunc('${p.period}', ${et}), '${FORMATS[p.period]}')`);
  }
  if (p.keyBuckets > 1)
    parts.push(`'bucket=' || CAST(${keyBucketSql(spec.primaryKey, p.keyBuckets)} AS VARCHAR)`);
  return parts.length === 0 ? undefined : parts.join(` || '/' || `);
}

const PARTITION_NAME = /^(?:period=(\d{4}(?:-\d{2}(?:-\d{2}(?:T\d{2})?)?)?))?(?:\/?bucket=(\d{1,3}))?$/;

/** The bucket a partition name holds, or undefined (no key buckets, or no partition). */
export function bucketOfPartition(partition: string | undefined): number | undefined {
  if (!partition) return undefined;
  const match = PARTITION_NAME.exec(partition);
  return match?.[2] === undefined ? undefined : Number(match[2]);
}

/** Checks a partition name DuckDB produced before it becomes part of an object key. */
export function checkPartitionName(partition: string): string {
  if (partition.length === 0 || !PARTITION_NAME.test(partition))
    throw new Error(`unexpected partition name ${JSON.stringify(partition)}`);
  return partition;
}

/** What part of a snapshot a read needs: an event-time range and/or some key buckets. */
export interface SnapshotFilter {
  /** Rows with event time in [start, end): either bound may be left out. */
  readonly eventTime?: { readonly start?: Date; readonly end?: Date };
  /**
   * Rows whose primary key falls in these buckets of `count` (see {@link keyBucketSql}). Files are
   * skipped by bucket when the group has exactly `count` key buckets; otherwise rows are filtered.
   */
  readonly keyBuckets?: { readonly count: number; readonly include: readonly number[] };
}

/** Validates a snapshot filter (it may come from a user's job definition). */
export function checkSnapshotFilter(filter: SnapshotFilter, label: string): void {
  const { start, end } = filter.eventTime ?? {};
  for (const [name, d] of [
    ['start', start],
    ['end', end],
  ] as const) {
    if (d !== undefined && !(d instanceof Date && Number.isFinite(d.getTime())))
      throw new ValidationError(`${label}: eventTime.${name} is not a valid date; pass an ISO-8601 time.`);
  }
  if (start && end && start.getTime() >= end.getTime())
    throw new ValidationError(
      `${label}: eventTime.start ${start.toISOString()} is not before end ${end.toISOString()}; swap them or widen the range.`,
    );
  const buckets = filter.keyBuckets;
  if (buckets) {
    if (!Number.isInteger(buckets.count) || buckets.count < 1 || buckets.count > MAX_KEY_BUCKETS)
      throw new ValidationError(
        `${label}: keyBuckets.count must be an integer from 1 to ${MAX_KEY_BUCKETS}.`,
      );
    const bad = buckets.include.find((b) => !Number.isInteger(b) || b < 0 || b >= buckets.count);
    if (bad !== undefined)
      throw new ValidationError(
        `${label}: key bucket ${bad} is outside 0…${buckets.count - 1}; list buckets of keyBuckets.count.`,
      );
  }
}

/** The filter's event-time range in epoch µs (inclusive, as file bounds are), or undefined for all. */
export function filterRange(filter: SnapshotFilter | undefined): Exclude<EventRange, 'all'> | undefined {
  const { start, end } = filter?.eventTime ?? {};
  if (!start && !end) return undefined;
  return {
    minUs: start ? start.getTime() * 1000 : Number.MIN_SAFE_INTEGER,
    // end is exclusive; file bounds are inclusive, so a file starting exactly at `end` is skipped.
    maxUs: end ? end.getTime() * 1000 - 1 : Number.MAX_SAFE_INTEGER,
  };
}

/** A live file's pruning facts. */
export interface PrunableFile {
  readonly minEventTimeUs?: number;
  readonly maxEventTimeUs?: number;
  readonly partition?: string;
}

/**
 * Whether a file may hold rows the filter wants. Conservative: a file without bounds or partition
 * (older layouts) is always read; row filters then make the result exact.
 */
export function fileMayMatch(
  file: PrunableFile,
  filter: SnapshotFilter,
  partitioning: Partitioning,
): boolean {
  const range = filterRange(filter);
  if (range !== undefined && file.minEventTimeUs !== undefined && file.maxEventTimeUs !== undefined) {
    if (file.minEventTimeUs > range.maxUs || file.maxEventTimeUs < range.minUs) return false;
  }
  const buckets = filter.keyBuckets;
  if (buckets && buckets.count === partitioning.keyBuckets) {
    const bucket = bucketOfPartition(file.partition);
    if (bucket !== undefined && !buckets.include.includes(bucket)) return false;
  }
  return true;
}
