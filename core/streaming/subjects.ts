import { ValidationError } from '../errors';

const IDENTIFIER = /^[a-z][a-z0-9_]{0,62}$/;

/** Where a feature group version's events live: one JetStream stream per group version. */
export interface EventStreamNames {
  /** Stream name (JetStream forbids `.`, `*`, `>` and spaces in it). */
  readonly stream: string;
  /** The one subject the stream captures. */
  readonly subject: string;
}

/**
 * The stream and subject of a feature group version's events: `fti_events_<name>_v<version>` on
 * subject `fti.events.<name>.v<version>`. The name must be a feature-group identifier, so nothing a
 * user typed can widen a subject (no wildcards) or collide with another group's stream.
 */
export function eventStreamNames(featureGroup: string, version: number): EventStreamNames {
  if (!IDENTIFIER.test(featureGroup)) {
    throw new ValidationError(
      `feature group name "${featureGroup}" is not an identifier ([a-z][a-z0-9_]*, at most 63 characters); streams are named after it.`,
    );
  }
  if (!Number.isInteger(version) || version <= 0) {
    throw new ValidationError(`feature group version must be a positive integer, got ${version}.`);
  }
  return {
    stream: `fti_events_${featureGroup}_v${version}`,
    subject: `fti.events.${featureGroup}.v${version}`,
  };
}
