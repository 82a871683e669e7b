import { describeRun } from '../../cli/commands/pipelines';
import type { FeaturePipelineResult } from '../../workflows';

// What `fti pipeline run` prints once the workflow is done: the commit, the reuse/supersede notice
// with the user's own spec file, and each post-commit warning.
describe('fti pipeline run output', () => {
  const base: FeaturePipelineResult = {
    pipeline: 'txns',
    featureGroup: 'txns:latest',
    window: { start: '2026-03-01T00:00:00.000Z', end: '2026-03-02T00:00:00.000Z' },
    rowsExtracted: 3,
    rowsWritten: 3,
    commit: { commitId: 7, instant: 'x', reused: false, rowsInserted: 3, rowsUpdated: 0, rowsDeleted: 0 },
    validation: 'no expectations',
    online: { offered: 3, applied: 3, skipped: false },
    statisticsId: 1,
    notice: null,
    warnings: [],
  };

  it('says plainly that it reused commit N and how to supersede it, with the spec file given', () => {
    const text = describeRun(
      {
        ...base,
        commit: { ...base.commit, reused: true, sourceChanged: true },
        notice:
          'reused commit 7 for window [a, b): the source changed since that commit was written (content hash differs), but nothing was written. Run `fti pipeline run <spec> --start a --end b --rerun` (workflow input rerun: true) to write a commit that supersedes it.',
      },
      'txns.pipeline.json',
      'http://ui',
    );
    expect(text).toContain('commit 7 (reused)');
    expect(text).toContain('reused commit 7 for window [a, b): the source changed');
    expect(text).toContain('fti pipeline run txns.pipeline.json --start a --end b --rerun');
  });

  it('prints each post-commit warning and marks a failed online write', () => {
    const text = describeRun(
      {
        ...base,
        online: { offered: 0, applied: 0, skipped: false, failed: true },
        statisticsId: null,
        warnings: ['online write of commit 7 failed after its retries (down); the commit stands.'],
      },
      'txns.pipeline.json',
      'http://ui',
    );
    expect(text).toContain('online FAILED');
    expect(text).toContain(
      'warning: online write of commit 7 failed after its retries (down); the commit stands.',
    );
  });
});
