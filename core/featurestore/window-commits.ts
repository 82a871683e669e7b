import { and, desc, eq, like, or } from 'drizzle-orm';
import type { Database } from '../db';
import { tables } from '../db';
import { commitFromRow, type CommitInfo } from './offline/commits';

/** Separates a window's idempotency key from a re-run's counter. */
export const RERUN_SEPARATOR = '#rerun-';

/** The commit idempotency key of a pipeline window: `pipeline:start:end`. */
export function windowKey(pipeline: string, window: { start: Date; end: Date }): string {
  return `${pipeline}:${window.start.toISOString()}:${window.end.toISOString()}`;
}

/** Escapes `%`, `_` and `\` for a LIKE pattern. */
function likeLiteral(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * The window's completed commits written by this pipeline (its first run and every `--rerun`),
 * newest timeline position first. A pipeline's commits are found by their idempotency key
 * (`pipeline:start:end` or `pipeline:start:end#rerun-<n>`), never by the window alone, so two
 * pipelines writing the same group and window do not supersede each other.
 */
export async function windowCommits(
  db: Database,
  input: { featureGroupId: number; pipeline: string; window: { start: Date; end: Date } },
): Promise<CommitInfo[]> {
  const t = tables.featureGroupCommits;
  const key = windowKey(input.pipeline, input.window);
  const rows = await db
    .select()
    .from(t)
    .where(
      and(
        eq(t.featureGroupId, input.featureGroupId),
        eq(t.state, 'completed'),
        or(eq(t.idempotencyKey, key), like(t.idempotencyKey, `${likeLiteral(key + RERUN_SEPARATOR)}%`)),
      ),
    )
    .orderBy(desc(t.sequence));
  return rows.map(commitFromRow);
}

/**
 * Plans a re-run of a window: the commit to supersede (the window's latest, if any) and the new
 * commit's idempotency key `pipeline:start:end#rerun-<n>` (n one past the highest so far). Without
 * an earlier commit the re-run is an ordinary first run under the window's own key.
 */
export async function planRerun(
  db: Database,
  input: { featureGroupId: number; pipeline: string; window: { start: Date; end: Date } },
): Promise<{ idempotencyKey: string; supersedes?: number }> {
  const key = windowKey(input.pipeline, input.window);
  const commits = await windowCommits(db, input);
  if (commits.length === 0) return { idempotencyKey: key };
  const highest = Math.max(
    0,
    ...commits.map((c) => {
      const at = c.idempotencyKey.lastIndexOf(RERUN_SEPARATOR);
      return at < 0 ? 0 : Number(c.idempotencyKey.slice(at + RERUN_SEPARATOR.length)) || 0;
    }),
  );
  return { idempotencyKey: `${key}${RERUN_SEPARATOR}${highest + 1}`, supersedes: commits[0]!.id };
}
