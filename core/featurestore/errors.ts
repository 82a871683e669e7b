import { FtiError } from '../errors';

/** A named feature group (or version) does not exist. */
export class FeatureGroupNotFoundError extends FtiError {
  constructor(
    readonly featureGroup: string,
    readonly version: number | undefined,
    available: readonly number[],
  ) {
    super(
      `feature group ${featureGroup}${version === undefined ? '' : ` version ${version}`} does not exist` +
        (available.length > 0 ? ` (versions: ${available.join(', ')})` : '; create it first (fti fg create)'),
      { retryable: false },
    );
  }
}

/** A definition changes an existing version incompatibly. */
export class SchemaChangeError extends FtiError {
  constructor(
    readonly featureGroup: string,
    readonly version: number,
    reason: string,
    nextVersion: number,
  ) {
    super(
      `feature group ${featureGroup} version ${version}: ${reason}. Only appending nullable features is allowed in place; ` +
        `create version ${nextVersion} for this change.`,
      { retryable: false },
    );
  }
}

/** A commit or time asked for does not exist on the timeline. */
export class CommitNotFoundError extends FtiError {
  constructor(
    readonly featureGroup: string,
    what: string,
  ) {
    super(
      `feature group ${featureGroup}: no completed commit ${what}. List commits with \`fti fg commits ${featureGroup}\`.`,
      {
        retryable: false,
      },
    );
  }
}
