import { ApplicationFailure } from '@temporalio/common';
import {
  continueAsNew,
  executeChild,
  isCancellation,
  log,
  ParentClosePolicy,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { WindowRef } from '../activities/feature-pipeline';
import type { FeaturePipelineSpec } from '../core/featurestore/pipeline-spec';
import { DEFAULT_BACKFILL_PARALLELISM, MAX_BACKFILL_PARALLELISM } from '../core/pipelines';
import { featurePipeline, type FeaturePipelineResult } from './feature-pipeline';

/**
 * Windows one run of the workflow handles before it continues as new: each window adds about ten
 * events to the history, and Temporal wants histories well under 50,000 events.
 */
export const WINDOWS_PER_RUN = 500;
/** Most windows one backfill may cover (a year of minutes would be a mistake, not a backfill). */
export const MAX_BACKFILL_WINDOWS = 100_000;

/** Input of {@link featureBackfill}. */
export interface FeatureBackfillInput {
  readonly pipeline: FeaturePipelineSpec;
  /** Range start (inclusive), ISO-8601; the first window starts here. */
  readonly start: string;
  /** Range end (exclusive), ISO-8601; the last window may end before it only if the range is not a multiple. */
  readonly end: string;
  /** Window length in seconds. @default the pipeline's `windowSeconds` */
  readonly windowSeconds?: number;
  /**
   * Windows in flight at once (1…64). Each window is a child workflow on the same task queue, so
   * this caps the share of the queue's workers one backfill can take: other runs on the queue keep
   * getting slots. @default 4
   */
  readonly parallelism?: number;
  /** Supersede windows that already have a commit (see `featurePipeline`'s `rerun`). @default false */
  readonly rerun?: boolean;
  /** Where a continued run picks up: set by the workflow itself when it continues as new. */
  readonly progress?: BackfillProgress;
}

/** Running totals a backfill carries across continue-as-new. */
export interface BackfillProgress {
  /** Index of the next window to start. */
  readonly next: number;
  readonly written: number;
  readonly reused: number;
  readonly rows: number;
  /** Failed windows (the first 20 kept with their error) and how many failed in all. */
  readonly failedCount: number;
  readonly failures: readonly { readonly window: WindowRef; readonly error: string }[];
}

/** What a backfill did. */
export interface FeatureBackfillResult {
  readonly pipeline: string;
  readonly windows: number;
  /** Windows that wrote a new commit. */
  readonly written: number;
  /** Windows whose commit already existed (a re-run of the backfill, or of an overlapping one). */
  readonly reused: number;
  readonly rowsWritten: number;
}

const NO_PROGRESS: BackfillProgress = {
  next: 0,
  written: 0,
  reused: 0,
  rows: 0,
  failedCount: 0,
  failures: [],
};
const KEPT_FAILURES = 20;

/**
 * Backfill (queue `fti-features`): splits `[start, end)` into windows and runs each as a
 * `featurePipeline` child workflow — one atomic commit per window, on any worker of the queue — with
 * at most `parallelism` windows in flight. A window that already has its commit reuses it, so running
 * a backfill again (or one that overlaps it) writes nothing twice. A failed window does not stop the
 * others; the backfill fails at the end, naming the failed windows, and running it again redoes only
 * those. Long ranges continue as new every {@link WINDOWS_PER_RUN} windows.
 */
export async function featureBackfill(input: FeatureBackfillInput): Promise<FeatureBackfillResult> {
  const windows = backfillWindows(input);
  const parallelism = parallelismOf(input.parallelism);
  upsertSearchAttributes({
    FtiPipeline: ['features'],
    FtiFeatureGroup: [
      `${input.pipeline.featureGroup.name}:${input.pipeline.featureGroup.version ?? 'latest'}`,
    ],
    FtiWindowStart: [new Date(input.start)],
    FtiWindowEnd: [new Date(input.end)],
  });
  let progress = input.progress ?? NO_PROGRESS;
  const stop = Math.min(windows.length, progress.next + WINDOWS_PER_RUN);
  const parent = workflowInfo();
  const running = new Set<Promise<void>>();
  const failures = [...progress.failures];
  let { written, reused, rows, failedCount } = progress;
  for (let index = progress.next; index < stop; index++) {
    const window = windows[index]!;
    const child = executeChild(featurePipeline, {
      // Scoped to this backfill: another backfill over the same windows finds the same commits
      // through their idempotency keys, not through workflow ids.
      workflowId: `${parent.workflowId}-w${index}`,
      args: [{ pipeline: input.pipeline, window, ...(input.rerun ? { rerun: true } : {}) }],
      parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
    }).then(
      (result: FeaturePipelineResult) => {
        if (result.commit.reused) reused++;
        else written++;
        rows += result.rowsWritten;
      },
      (error: unknown) => {
        if (isCancellation(error)) throw error;
        failedCount++;
        if (failures.length < KEPT_FAILURES) failures.push({ window, error: causeOf(error) });
        log.warn('backfill window failed', { window, error: causeOf(error) });
      },
    );
    const tracked: Promise<void> = child.finally(() => running.delete(tracked));
    running.add(tracked);
    if (running.size >= parallelism) await Promise.race(running);
  }
  await Promise.all(running);
  progress = { next: stop, written, reused, rows, failedCount, failures };
  if (stop < windows.length) {
    log.info('backfill continues as new', { done: stop, windows: windows.length });
    await continueAsNew<typeof featureBackfill>({ ...input, progress });
  }
  if (failedCount > 0) {
    const listed = failures.map((f) => `[${f.window.start}, ${f.window.end}): ${f.error}`).join('; ');
    throw ApplicationFailure.nonRetryable(
      `backfill of ${input.pipeline.name}: ${failedCount} of ${windows.length} windows failed (${written} written, ${reused} reused): ${listed}${failedCount > failures.length ? '; …' : ''}. Fix the cause and run the same backfill again: windows with a commit are reused, only the failed ones run.`,
      'BackfillFailed',
    );
  }
  return { pipeline: input.pipeline.name, windows: windows.length, written, reused, rowsWritten: rows };
}

/** The windows of a backfill, in time order; throws a non-retryable failure on a bad range. */
export function backfillWindows(
  input: Pick<FeatureBackfillInput, 'start' | 'end' | 'windowSeconds' | 'pipeline'>,
): WindowRef[] {
  const start = Date.parse(input.start);
  const end = Date.parse(input.end);
  const bad = (message: string) =>
    ApplicationFailure.nonRetryable(`backfill of ${input.pipeline.name}: ${message}`, 'ValidationError');
  if (!Number.isFinite(start) || !Number.isFinite(end))
    throw bad(
      `start ${JSON.stringify(input.start)} and end ${JSON.stringify(input.end)} must be ISO-8601 times.`,
    );
  if (start >= end)
    throw bad(`start ${input.start} is not before end ${input.end}; the range is [start, end).`);
  const seconds = input.windowSeconds ?? input.pipeline.windowSeconds;
  if (seconds === undefined || !Number.isInteger(seconds) || seconds <= 0)
    throw bad('needs a window length: set windowSeconds in the backfill input or in the pipeline spec.');
  const count = Math.ceil((end - start) / (seconds * 1000));
  if (count > MAX_BACKFILL_WINDOWS)
    throw bad(
      `[${input.start}, ${input.end}) in ${seconds} s windows is ${count} windows, more than ${MAX_BACKFILL_WINDOWS}; use longer windows or split the range.`,
    );
  const windows: WindowRef[] = [];
  for (let i = 0; i < count; i++) {
    const from = start + i * seconds * 1000;
    const to = Math.min(end, from + seconds * 1000);
    windows.push({ start: new Date(from).toISOString(), end: new Date(to).toISOString() });
  }
  return windows;
}

function parallelismOf(requested: number | undefined): number {
  if (requested === undefined) return DEFAULT_BACKFILL_PARALLELISM;
  if (!Number.isInteger(requested) || requested < 1 || requested > MAX_BACKFILL_PARALLELISM)
    throw ApplicationFailure.nonRetryable(
      `backfill parallelism ${requested} must be an integer from 1 to ${MAX_BACKFILL_PARALLELISM}.`,
      'ValidationError',
    );
  return requested;
}

function causeOf(error: unknown): string {
  let current: unknown = error;
  while (current instanceof Error && current.cause instanceof Error) current = current.cause;
  return current instanceof Error ? current.message : String(current);
}
