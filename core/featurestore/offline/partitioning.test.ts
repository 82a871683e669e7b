import {
  bucketOfPartition,
  checkPartitionName,
  checkSnapshotFilter,
  fileMayMatch,
  filterRange,
  partitionSql,
  UNPARTITIONED,
} from './partitioning';

const us = (iso: string) => new Date(iso).getTime() * 1000;
const day = (d: string) => ({
  minEventTimeUs: us(`${d}T00:00:00Z`),
  maxEventTimeUs: us(`${d}T23:59:59Z`),
  partition: `period=${d}`,
});

describe('partition pruning', () => {
  const byDay = { period: 'day' as const, keyBuckets: 1 };

  it('skips files outside an event-time range; the end is exclusive, the start inclusive', () => {
    const filter = {
      eventTime: { start: new Date('2026-03-02T00:00:00Z'), end: new Date('2026-03-03T00:00:00Z') },
    };
    expect(
      ['2026-03-01', '2026-03-02', '2026-03-03'].map((d) => fileMayMatch(day(d), filter, byDay)),
    ).toEqual([false, true, false]);
    const startsAtEnd = {
      minEventTimeUs: us('2026-03-03T00:00:00Z'),
      maxEventTimeUs: us('2026-03-03T01:00:00Z'),
    };
    expect(fileMayMatch(startsAtEnd, filter, byDay)).toBe(false);
    const endsAtStart = {
      minEventTimeUs: us('2026-03-01T00:00:00Z'),
      maxEventTimeUs: us('2026-03-02T00:00:00Z'),
    };
    expect(fileMayMatch(endsAtStart, filter, byDay)).toBe(true);
  });

  it('always reads a file without bounds (written before bounds were recorded)', () => {
    expect(fileMayMatch({}, { eventTime: { end: new Date('2000-01-01T00:00:00Z') } }, byDay)).toBe(true);
  });

  it('skips other key buckets only when the read uses the layout’s bucket count', () => {
    const layout = { period: null, keyBuckets: 4 };
    const file = { partition: 'bucket=2' };
    expect(fileMayMatch(file, { keyBuckets: { count: 4, include: [1, 3] } }, layout)).toBe(false);
    expect(fileMayMatch(file, { keyBuckets: { count: 4, include: [2] } }, layout)).toBe(true);
    expect(fileMayMatch(file, { keyBuckets: { count: 8, include: [1] } }, layout)).toBe(true);
  });

  it('parses partition names and refuses anything else before it becomes part of an object key', () => {
    expect(bucketOfPartition('period=2026-03-01T05/bucket=17')).toBe(17);
    expect(bucketOfPartition('period=2026-03')).toBeUndefined();
    expect(checkPartitionName('period=2026/bucket=0')).toBe('period=2026/bucket=0');
    expect(() => checkPartitionName('period=../x')).toThrow(/unexpected partition name/);
    expect(() => checkPartitionName('')).toThrow(/unexpected partition name/);
  });

  it('builds no partition expression for an unpartitioned group, and hive-style names otherwise', () => {
    const spec = { primaryKey: ['card_id'], eventTime: 'event_time' };
    expect(partitionSql(UNPARTITIONED, spec)).toBeUndefined();
    const sql = partitionSql({ period: 'hour', keyBuckets: 8 }, spec)!;
    expect(sql).toContain(`'period=' || strftime(date_trunc('hour'`);
    expect(sql).toContain(
      `'bucket=' || CAST(CAST(md5_number_lower(concat_ws(chr(31), CAST("card_id" AS VARCHAR))) % 8`,
    );
  });

  it('converts a filter to an inclusive microsecond range, open ends unbounded', () => {
    expect(filterRange({ eventTime: { start: new Date(1000), end: new Date(2000) } })).toEqual({
      minUs: 1_000_000,
      maxUs: 1_999_999,
    });
    expect(filterRange({})).toBeUndefined();
  });

  it('refuses invalid filters with the field and the fix', () => {
    expect(() => checkSnapshotFilter({ eventTime: { start: new Date('x') } }, 'read')).toThrow(
      /read: eventTime.start is not a valid date/,
    );
    expect(() => checkSnapshotFilter({ keyBuckets: { count: 0, include: [] } }, 'read')).toThrow(
      /keyBuckets.count must be an integer from 1 to 256/,
    );
    expect(() => checkSnapshotFilter({ keyBuckets: { count: 2, include: [1.5] } }, 'read')).toThrow(
      /key bucket 1.5 is outside 0…1/,
    );
  });
});
