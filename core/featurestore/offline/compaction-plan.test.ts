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
});
