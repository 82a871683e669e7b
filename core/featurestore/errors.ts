import { FtiError, ValidationError } from '../errors';

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

/**
 * A commit attempt lost its commit: a newer attempt took it over (a retry after a missed heartbeat)
 * or the abandoned-commit cleaner aborted it. The attempt's files are never made visible. Retryable:
 * a retry finds the commit completed by the newer attempt, or takes it over again.
 */
export class CommitFencedError extends FtiError {
  constructor(
    readonly featureGroup: string,
    readonly commitId: number,
    readonly attempt: number,
    readonly currentAttempt: number,
  ) {
    super(
      `feature group ${featureGroup}: commit ${commitId} attempt ${attempt} was fenced (the commit is now held by attempt ${currentAttempt}, or was aborted); ` +
        'this attempt wrote nothing visible. A retry reuses or redoes the commit.',
      { retryable: true },
    );
  }
}

/**
 * A concurrent commit changed what a write (or compaction) read before it could complete; the
 * attempt wrote nothing visible and is redone against the new snapshot.
 */
export class WriteConflictError extends FtiError {
  constructor(
    readonly featureGroup: string,
    readonly commitId: number,
    readonly conflictingCommitId?: number,
    readonly replacedFile?: string,
  ) {
    super(
      `feature group ${featureGroup}: commit ${commitId} conflicts with ` +
        (conflictingCommitId !== undefined
          ? `commit ${conflictingCommitId}, which completed after it read the snapshot`
          : `a concurrent commit that replaced ${replacedFile ?? 'a file it read'}`) +
        '; it is redone against the new snapshot.',
      { retryable: true },
    );
  }
}

/**
 * Refuses to write to an external feature group (its rows live in its source): called before any
 * work by every writer — feature and streaming pipelines, the event push endpoint — so nothing,
 * online rows included, is written.
 */
export function assertWritableGroup(
  spec: { readonly name: string; readonly version: number; readonly external: unknown },
  writer: string,
): void {
  if (spec.external)
    throw new ValidationError(
      `feature group ${spec.name} v${spec.version} is external: its rows are read in place from its source, so ${writer} cannot write to it. Write to the source instead, or target a group stored in the platform.`,
      { location: `${spec.name}` },
    );
}
