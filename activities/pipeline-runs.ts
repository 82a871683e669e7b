import { Context } from '@temporalio/activity';
import { eq } from 'drizzle-orm';
import { tables, type Database } from '../core/db';

/** The workflow execution an activity runs for; standalone calls (tests) get a synthetic one. */
export function currentExecution(): { workflowId: string; runId: string } {
  return Context.current().info.workflowExecution ?? { workflowId: `direct-${Date.now()}`, runId: 'direct' };
}

/** Reports progress to Temporal; a no-op outside an activity (direct calls in tests). */
export function heartbeat(message: string): void {
  try {
    Context.current().heartbeat(message);
  } catch {
    // outside an activity
  }
}

/**
 * Records (or, on a retry, re-opens) the `pipeline_runs` row of the current workflow run and
 * returns its id and the execution. One row per (workflow id, run id).
 */
export async function recordRunStart(
  db: Database,
  run: {
    pipeline: 'features' | 'training' | 'inference';
    name: string;
    input: object;
    window?: { start: Date; end: Date } | undefined;
  },
): Promise<{ id: number; execution: { workflowId: string; runId: string } }> {
  const execution = currentExecution();
  const [row] = await db
    .insert(tables.pipelineRuns)
    .values({
      pipeline: run.pipeline,
      name: run.name,
      workflowId: execution.workflowId,
      runId: execution.runId,
      windowStart: run.window?.start ?? null,
      windowEnd: run.window?.end ?? null,
      input: run.input,
    })
    .onConflictDoUpdate({
      target: [tables.pipelineRuns.workflowId, tables.pipelineRuns.runId],
      set: { status: 'running' },
    })
    .returning({ id: tables.pipelineRuns.id });
  return { id: row!.id, execution };
}

/** Closes a `pipeline_runs` row with its outcome. */
export async function recordRunFinish(
  db: Database,
  id: number,
  outcome: { status: 'completed' | 'failed'; result?: unknown; error?: string },
): Promise<void> {
  await db
    .update(tables.pipelineRuns)
    .set({
      status: outcome.status,
      result: outcome.result ?? null,
      error: outcome.error ?? null,
      finishedAt: new Date(),
    })
    .where(eq(tables.pipelineRuns.id, id));
}
