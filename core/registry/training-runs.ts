import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import type { Database } from '../db';
import { tables } from '../db';
import { FtiError } from '../errors';

/** A training run (MLflow's run): experiment, trainer, params, status, metrics by step. */
export interface TrainingRunInfo {
  readonly id: number;
  readonly experiment: string;
  readonly trainer: string;
  readonly status: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly trainingDatasetId: number | null;
  readonly startedAt: Date;
  readonly finishedAt: Date | null;
  /** Final values (step 0) or, when absent, the last step's. */
  readonly metrics: Readonly<Record<string, number>>;
}

/** A training run id that does not exist. */
export class TrainingRunNotFoundError extends FtiError {
  constructor(id: number) {
    super(`training run ${id} does not exist; list runs with \`fti train list\`.`, { retryable: false });
  }
}

/** Starts (or, for the same experiment + key, returns) a training run. */
export async function startTrainingRun(
  db: Database,
  run: {
    experiment: string;
    trainer: string;
    params: Readonly<Record<string, unknown>>;
    idempotencyKey: string;
    trainingDatasetId?: number;
  },
): Promise<number> {
  const t = tables.trainingRuns;
  await db
    .insert(t)
    .values({
      experiment: run.experiment,
      trainer: run.trainer,
      params: run.params,
      idempotencyKey: run.idempotencyKey,
      trainingDatasetId: run.trainingDatasetId ?? null,
    })
    .onConflictDoNothing();
  const [row] = await db
    .select({ id: t.id })
    .from(t)
    .where(and(eq(t.experiment, run.experiment), eq(t.idempotencyKey, run.idempotencyKey)));
  return row!.id;
}

/** Records metric values; a repeated (key, step) overwrites (retries are harmless). Step 0 = final. */
export async function logMetrics(
  db: Database,
  runId: number,
  values: readonly { key: string; step: number; value: number }[],
): Promise<void> {
  const finite = values.filter((v) => Number.isFinite(v.value));
  for (let i = 0; i < finite.length; i += 1000) {
    await db
      .insert(tables.trainingRunMetrics)
      .values(finite.slice(i, i + 1000).map((v) => ({ trainingRunId: runId, ...v })))
      .onConflictDoUpdate({
        target: [
          tables.trainingRunMetrics.trainingRunId,
          tables.trainingRunMetrics.key,
          tables.trainingRunMetrics.step,
        ],
        set: { value: sql`excluded.value`, recordedAt: new Date() },
      });
  }
}

/** Marks a run finished. */
export async function finishTrainingRun(
  db: Database,
  runId: number,
  status: 'completed' | 'failed',
  params?: Readonly<Record<string, unknown>>,
): Promise<void> {
  await db
    .update(tables.trainingRuns)
    .set({ status, finishedAt: new Date(), ...(params ? { params } : {}) })
    .where(eq(tables.trainingRuns.id, runId));
}

/** Runs, newest first, optionally of one experiment. */
export async function listTrainingRuns(
  db: Database,
  experiment?: string,
  limit = 50,
): Promise<TrainingRunInfo[]> {
  const t = tables.trainingRuns;
  const rows = await db
    .select()
    .from(t)
    .where(experiment ? eq(t.experiment, experiment) : sql`true`)
    .orderBy(desc(t.id))
    .limit(limit);
  return withMetrics(db, rows);
}

/** Runs by id, with final metrics, for side-by-side comparison. */
export async function compareTrainingRuns(db: Database, ids: readonly number[]): Promise<TrainingRunInfo[]> {
  if (ids.length === 0) return [];
  const rows = await db
    .select()
    .from(tables.trainingRuns)
    .where(inArray(tables.trainingRuns.id, [...ids]));
  for (const id of ids) if (!rows.some((r) => r.id === id)) throw new TrainingRunNotFoundError(id);
  const runs = await withMetrics(db, rows);
  return ids.map((id) => runs.find((r) => r.id === id)!);
}

/** A run's metric series (e.g. validation_loss per tree), by key. */
export async function metricHistory(
  db: Database,
  runId: number,
): Promise<Record<string, { step: number; value: number }[]>> {
  const rows = await db
    .select()
    .from(tables.trainingRunMetrics)
    .where(eq(tables.trainingRunMetrics.trainingRunId, runId))
    .orderBy(asc(tables.trainingRunMetrics.key), asc(tables.trainingRunMetrics.step));
  const out: Record<string, { step: number; value: number }[]> = {};
  for (const r of rows) (out[r.key] ??= []).push({ step: r.step, value: r.value });
  return out;
}

async function withMetrics(
  db: Database,
  rows: (typeof tables.trainingRuns.$inferSelect)[],
): Promise<TrainingRunInfo[]> {
  if (rows.length === 0) return [];
  const metrics = await db
    .select()
    .from(tables.trainingRunMetrics)
    .where(
      inArray(
        tables.trainingRunMetrics.trainingRunId,
        rows.map((r) => r.id),
      ),
    )
    .orderBy(asc(tables.trainingRunMetrics.step));
  return rows.map((r) => {
    const final: Record<string, number> = {};
    const last: Record<string, number> = {};
    for (const m of metrics.filter((x) => x.trainingRunId === r.id)) {
      if (m.step === 0) final[m.key] = m.value;
      else last[m.key] = m.value;
    }
    return {
      id: r.id,
      experiment: r.experiment,
      trainer: r.trainer,
      status: r.status,
      params: r.params as Record<string, unknown>,
      trainingDatasetId: r.trainingDatasetId,
      startedAt: r.startedAt,
      finishedAt: r.finishedAt,
      metrics: { ...last, ...final },
    };
  });
}
