import { formatInstant, liveFilesOf, type CommitInfo } from './commits';

const commit = (sequence: number, files: string[], replacedFiles: string[] = []): CommitInfo => ({
  id: sequence,
  instant: String(sequence),
  sequence,
  state: 'completed',
  operation: replacedFiles.length ? 'overwrite' : 'upsert',
  files: files.map((key) => ({ key, rows: 1, bytes: 1 })),
  replacedFiles,
  rowsInserted: 0,
  rowsUpdated: 0,
  rowsDeleted: 0,
  idempotencyKey: String(sequence),
  attempt: 1,
  contentHash: null,
  supersedesCommitId: null,
  windowStart: null,
  windowEnd: null,
  pipelineRunId: null,
  createdAt: new Date(),
  completedAt: new Date(),
});

describe('liveFilesOf', () => {
  it('adds files and drops the ones a later commit replaces', () => {
    const timeline = [commit(1, ['a']), commit(2, ['b']), commit(3, ['c'], ['a', 'b']), commit(4, ['d'])];
    expect(liveFilesOf(timeline)).toEqual([
      { key: 'c', sequence: 3, rows: 1, bytes: 1 },
      { key: 'd', sequence: 4, rows: 1, bytes: 1 },
    ]);
    expect(liveFilesOf(timeline.slice(0, 2)).map((f) => f.key)).toEqual(['a', 'b']);
  });
});

describe('formatInstant', () => {
  it('formats UTC milliseconds', () => {
    expect(formatInstant(new Date('2026-11-25T18:05:09.123Z'))).toBe('20261125180509123');
  });
});
