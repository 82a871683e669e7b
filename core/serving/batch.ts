import fs from 'node:fs';
import path from 'node:path';
import { param, sql } from 'drizzle-orm';
import { tables } from '../db';
import { sqlPath, withDuck } from '../duckdb';
import { ValidationError } from '../errors';
import {
  assertRange,
  batchChunks,
  materializeBatch,
  type FeatureViewDeps,
  type SpineInput,
  type TimeRange,
} from '../featurestore';
import { loadSession, predictOnnx } from '../ml';
import { getModelVersionById } from '../registry';
import { joinKey } from '../storage';
import { getDeployment, type Binding } from './deployments';

/** Where batch predictions go. */
export type PredictionSink = 's3' | 'postgres';

/** A batch-inference request: one window of one deployment. */
export interface BatchInferenceRequest {
  readonly deployment: string;
  /** Spine rows with event time in this window are scored; the window is also the idempotency unit. */
  readonly window: TimeRange;
  /** Score these spine rows instead of the spine group's (still labelled with `window`). */
  readonly spine?: SpineInput;
  /** Read the feature groups as of this time (default: latest commits). */
  readonly asOf?: Date;
  /** @default ['s3', 'postgres'] */
  readonly sinks?: readonly PredictionSink[];
  /** Rows per ONNX call. @default 50 000 */
  readonly chunkSize?: number;
  /** onnxruntime intra-op threads. @default 2 */
  readonly threads?: number;
  readonly pipelineRunId?: number;
}

/** What a batch run wrote. */
export interface BatchInferenceResult {
  readonly deployment: string;
  readonly deploymentVersion: number;
  readonly variant: string;
  readonly model: { readonly name: string; readonly version: number };
  readonly rows: number;
  readonly commits: Readonly<Record<string, number>>;
  readonly outputs: readonly {
    readonly sink: PredictionSink;
    readonly location: string;
    readonly rows: number;
  }[];
}

/** The variant batch scoring uses: the non-shadow variant with the largest weight. */
export function primaryVariant(bindings: readonly Binding[]): Binding {
  return [...bindings]
    .filter((b) => !b.shadow)
    .sort((a, b) => b.weight - a.weight || a.variant.localeCompare(b.variant))[0]!;
}

const stamp = (d: Date) => d.toISOString().replace(/[:.]/g, '-');

/**
 * Scores one window of a deployment: the feature view's batch data (spine rows in the window, as of
 * the latest or given commits) → the deployment's training-dataset transformations → ONNX in
 * chunks → predictions with entity keys, event time, model and deployment version, to Parquet in
 * the object store (`predictions/<deployment>/window=<start>_<end>/predictions.parquet`) and/or the
 * `predictions` table. Idempotent per (deployment, window): a re-run replaces the window's output.
 */
export async function runBatchInference(
  deps: FeatureViewDeps,
  request: BatchInferenceRequest,
  onProgress?: (message: string) => void,
): Promise<BatchInferenceResult> {
  assertRange(request.window, `batch inference window of ${request.deployment}`);
  const sinks = request.sinks ?? ['s3', 'postgres'];
  if (sinks.length === 0 || sinks.some((s) => s !== 's3' && s !== 'postgres'))
    throw new ValidationError(
      `sinks must be a non-empty list of "s3" and "postgres" (got ${JSON.stringify(sinks)}).`,
    );
  const deployment = await getDeployment(deps.db, request.deployment);
  const binding = primaryVariant(deployment.current.bindings);
  const model = await getModelVersionById(deps.db, binding.model.id);
  const session = await loadSession(new Uint8Array(await deps.store.get(model.artifactKey)), {
    threads: request.threads ?? 2,
  });
  const dir = await fs.promises.mkdtemp(path.join(deps.scratchDir, 'batch-'));
  try {
    return await withDuck(
      async (duck) => {
        const batch = await materializeBatch(duck, deps, {
          featureView: { name: binding.featureView.name, version: binding.featureView.version },
          range: request.window,
          ...(request.spine ? { spine: request.spine } : {}),
          ...(request.asOf ? { asOf: request.asOf } : {}),
          trainingDatasetVersion: binding.trainingDataset.version,
        });
        const keyColumns = batch.view.columns.filter((c) => c.role === 'key').map((c) => c.name);
        const eventTime = batch.view.eventTime;
        const classes = model.signature.classes;
        const jsonl = path.join(dir, 'predictions.jsonl');
        const out = fs.createWriteStream(jsonl);
        const pgRows: {
          entity: string[];
          eventTime: (string | null)[];
          score: (number | null)[];
          label: (string | null)[];
        } = {
          entity: [],
          eventTime: [],
          score: [],
          label: [],
        };
        let scored = 0;
        for await (const chunk of batchChunks(duck, batch, request.chunkSize ?? 50_000)) {
          const outputs = await predictOnnx(session, chunk.matrix.X, chunk.matrix.rows, chunk.matrix.cols);
          const lines: string[] = [];
          chunk.rows.forEach((row, i) => {
            const entity = Object.fromEntries(
              keyColumns.map((k) => [k, typeof row[k] === 'bigint' ? Number(row[k]) : row[k]]),
            );
            const time = row[eventTime] instanceof Date ? (row[eventTime] as Date).toISOString() : null;
            let score: number | null;
            let label: string | null = null;
            if (outputs.prediction) score = outputs.prediction[i]!;
            else {
              const k = outputs.classes!;
              let best = 0;
              for (let c = 1; c < k; c++)
                if (outputs.probabilities![i * k + c]! > outputs.probabilities![i * k + best]!) best = c;
              label = classes?.[best] ?? String(best);
              score = k === 2 ? outputs.probabilities![i * 2 + 1]! : outputs.probabilities![i * k + best]!;
            }
            lines.push(
              JSON.stringify({
                entity: JSON.stringify(entity),
                event_time: time,
                score,
                label,
                model_version: model.version,
                deployment_version: deployment.current.version,
                variant: binding.variant,
              }),
            );
            if (sinks.includes('postgres')) {
              pgRows.entity.push(JSON.stringify(entity));
              pgRows.eventTime.push(time);
              pgRows.score.push(score);
              pgRows.label.push(label);
            }
          });
          if (lines.length) out.write(`${lines.join('\n')}\n`);
          scored += chunk.rows.length;
          onProgress?.(`scored ${scored}/${batch.rows} rows`);
        }
        await new Promise<void>((resolve) => out.end(resolve));
        const outputs: { sink: PredictionSink; location: string; rows: number }[] = [];
        const windowLabel = `window=${stamp(request.window.start)}_${stamp(request.window.end)}`;
        if (sinks.includes('s3')) {
          const parquet = path.join(dir, 'predictions.parquet');
          const columns = `{'entity': 'VARCHAR', 'event_time': 'TIMESTAMP', 'score': 'DOUBLE', 'label': 'VARCHAR', 'model_version': 'INTEGER', 'deployment_version': 'INTEGER', 'variant': 'VARCHAR'}`;
          await duck.run(
            scored > 0
              ? `COPY (SELECT * FROM read_json(${sqlPath(jsonl)}, format = 'newline_delimited', columns = ${columns})) TO ${sqlPath(parquet)} (FORMAT parquet, COMPRESSION zstd)`
              : `COPY (SELECT NULL::VARCHAR AS entity, NULL::TIMESTAMP AS event_time, NULL::DOUBLE AS score, NULL::VARCHAR AS label, NULL::INTEGER AS model_version, NULL::INTEGER AS deployment_version, NULL::VARCHAR AS variant WHERE FALSE) TO ${sqlPath(parquet)} (FORMAT parquet)`,
          );
          const key = joinKey('predictions', request.deployment, windowLabel, 'predictions.parquet');
          await deps.store.putFile(key, parquet);
          outputs.push({ sink: 's3', location: key, rows: scored });
        }
        if (sinks.includes('postgres')) {
          await deps.db.transaction(async (tx) => {
            // Replace, never duplicate: the window's previous predictions go in the same transaction.
            await tx.execute(
              sql`DELETE FROM predictions WHERE deployment_id = ${deployment.id} AND window_start = ${request.window.start.toISOString()} AND window_end = ${request.window.end.toISOString()}`,
            );
            for (let i = 0; i < pgRows.entity.length; i += 10_000) {
              const slice = (xs: unknown[]) => xs.slice(i, i + 10_000);
              await tx.execute(sql`INSERT INTO predictions (deployment_id, deployment_version, variant, model_version, window_start, window_end, entity, event_time, score, label)
                SELECT ${deployment.id}, ${deployment.current.version}, ${binding.variant}, ${model.version}, ${request.window.start.toISOString()}::timestamptz, ${request.window.end.toISOString()}::timestamptz, e, t, s, l
                FROM unnest(${param(slice(pgRows.entity))}::jsonb[], ${param(slice(pgRows.eventTime))}::timestamptz[], ${param(slice(pgRows.score))}::float8[], ${param(slice(pgRows.label))}::text[]) AS u(e, t, s, l)`);
            }
          });
          outputs.push({ sink: 'postgres', location: 'predictions', rows: scored });
        }
        for (const o of outputs)
          await deps.db
            .insert(tables.predictionBatches)
            .values({
              deploymentId: deployment.id,
              deploymentVersionId: deployment.current.id,
              windowStart: request.window.start,
              windowEnd: request.window.end,
              sink: o.sink,
              location: o.location,
              rows: o.rows,
              pipelineRunId: request.pipelineRunId ?? null,
            })
            .onConflictDoUpdate({
              target: [
                tables.predictionBatches.deploymentId,
                tables.predictionBatches.sink,
                tables.predictionBatches.windowStart,
                tables.predictionBatches.windowEnd,
              ],
              set: {
                deploymentVersionId: deployment.current.id,
                location: o.location,
                rows: o.rows,
                createdAt: new Date(),
                pipelineRunId: request.pipelineRunId ?? null,
              },
            });
        return {
          deployment: request.deployment,
          deploymentVersion: deployment.current.version,
          variant: binding.variant,
          model: { name: model.model, version: model.version },
          rows: scored,
          commits: batch.commits,
          outputs,
        };
      },
      { threads: request.threads ?? 2, tempDirectory: path.join(deps.scratchDir, 'duck') },
    );
  } finally {
    await session.release();
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
}
