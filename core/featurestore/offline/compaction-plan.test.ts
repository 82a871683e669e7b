import type { LiveFile } from './commits';
import { planCompaction } from './compaction-plan';

const file = (key: string, sequence: number, rows = 10): LiveFile => ({ key, sequence, rows });

describe('planCompaction', () => {
  it('merges runs of consecutive small files and leaves large files alone', () => {
    const live = [
      file('a', 1),
      file('b', 2),
      file('big', 3, 5_000),
      file('c', 4),
      file('d', 5),
      file('e', 6),
    ];
    const runs = planCompaction(live, { minFiles: 2, targetFileRows: 1_000 });
    expect(runs.map((r) => r.files.map((f) => f.key))).toEqual([
      ['a', 'b'],
      ['c', 'd', 'e'],
    ]);
    expect(runs.map((r) => r.dataSequence)).toEqual([2, 6]);
  });

  it('drops tombstones only in a run that starts at the oldest live file', () => {
    const runs = planCompaction(
      [file('a', 1), file('b', 2), file('big', 3, 5_000), file('c', 4), file('d', 5)],
      {
        targetFileRows: 1_000,
      },
    );
    expect(runs.map((r) => r.dropTombstones)).toEqual([true, false]);
  });

  it('skips runs shorter than minFiles', () => {
    expect(planCompaction([file('a', 1), file('b', 2)], { minFiles: 3 })).toEqual([]);
    expect(planCompaction([file('a', 1)], {})).toEqual([]);
  });

  it('never merges across a file outside the run that shares a data sequence with it', () => {
    const live = [file('a', 1), file('b', 2), file('big', 2, 5_000), file('c', 3), file('d', 4)];
    const runs = planCompaction(live, { targetFileRows: 1_000 });
    expect(runs.map((r) => r.files.map((f) => f.key))).toEqual([['c', 'd']]);
  });

  it('plans each partition on its own: a large file in one partition does not split runs in another', () => {
    const inPart = (key: string, sequence: number, partition: string, rows = 10): LiveFile => ({
      key,
      sequence,
      rows,
      partition,
    });
    const live = [
      inPart('d1-a', 1, 'period=2026-03-01'),
      inPart('d2-a', 1, 'period=2026-03-02'),
      inPart('d2-big', 2, 'period=2026-03-02', 5_000),
      inPart('d1-b', 3, 'period=2026-03-01'),
      inPart('d2-b', 3, 'period=2026-03-02'),
      inPart('d2-c', 4, 'period=2026-03-02'),
    ];
    const runs = planCompaction(live, { targetFileRows: 1_000 });
    expect(
      runs.map((r) => [r.partition, r.files.map((f) => f.key), r.dataSequence, r.dropTombstones]),
    ).toEqual([
      // One commit's files in two partitions share a sequence: that is no ambiguity across partitions.
      ['period=2026-03-01', ['d1-a', 'd1-b'], 3, true],
      ['period=2026-03-02', ['d2-b', 'd2-c'], 4, false],
    ]);
  });

  it('plans the whole table as one when any live file has no partition (older layouts)', () => {
    const runs = planCompaction([{ ...file('a', 1), partition: 'period=2026-03-01' }, file('b', 2)]);
    expect(runs).toHaveLength(1);
    expect(runs[0]!.partition).toBeUndefined();
  });
});
