import { mergeSegments } from './served-window';

// A window's segments come from Postgres and from spill files (rows refused during an outage): the
// same variant and model version must count once, with both sources' rows.
describe('mergeSegments', () => {
  it('adds rows and unites deployment versions of the same variant and model version', () => {
    expect(
      mergeSegments(
        [
          { variant: 'main', modelVersion: 3, deploymentVersions: [5], rows: 100 },
          { variant: 'ab', modelVersion: 4, deploymentVersions: [5], rows: 10 },
        ],
        [
          { variant: 'main', modelVersion: 3, deploymentVersions: [4, 5], rows: 20 },
          { variant: 'main', modelVersion: 2, deploymentVersions: [4], rows: 7 },
        ],
      ),
    ).toEqual([
      { variant: 'ab', modelVersion: 4, deploymentVersions: [5], rows: 10 },
      { variant: 'main', modelVersion: 2, deploymentVersions: [4], rows: 7 },
      { variant: 'main', modelVersion: 3, deploymentVersions: [4, 5], rows: 120 },
    ]);
  });
});
