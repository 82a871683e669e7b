import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import { poolOf, tables } from '../db';
import { sqlPath, sqlString, withDuck } from '../duckdb';
import { ValidationError } from '../errors';
import { quoteIdent } from '../identifiers';
import {
  assertRange,
  SPINE_ROW,
  toInputMatrix,
  materializeBatch,
  type FeatureViewDeps,
  type SpineInput,
  type TimeRange,
} from '../featurestore';
import { loadSession, predictOnnx } from '../ml';
import { getModelVersionById } from '../registry';
import { profileBatch } from '../monitoring/batch-profile';
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
  await fs.promises.mkdir(deps.scratchDir, { recursive: true });
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
        const fitted = batch.transformation;
        // Only the model inputs cross into JavaScript; keys and times stay in DuckDB and are joined
        // back to the scores by row position.
        const scoresCsv = path.join(dir, 'scores.csv');
        const out = fs.createWriteStream(scoresCsv);
        const chunkSize = request.chunkSize ?? 50_000;
        const featureList = fitted.features.map(quoteIdent).join(', ');
        let scored = 0;
        for (let last = 0; ;) {
          const chunk = await duck.columns(
            `SELECT ${SPINE_ROW}${featureList ? `, ${featureList}` : ''} FROM ${batch.relation} WHERE ${SPINE_ROW} > ${last} ORDER BY ${SPINE_ROW} LIMIT ${chunkSize}`,
          );
          if (chunk.rows === 0) break;
          const spineRows = chunk.columns[SPINE_ROW]!;
          last = Number(spineRows.at(-1));
          const matrix = toInputMatrix(fitted, chunk.columns, chunk.rows);
          const outputs = await predictOnnx(session, matrix.X, matrix.rows, matrix.cols);
          const lines: string[] = new Array(chunk.rows);
          for (let i = 0; i < chunk.rows; i++) {
            let score: number;
            let label = '';
            if (outputs.prediction) score = outputs.prediction[i]!;
            else {
              const k = outputs.classes!;
              let best = 0;
              for (let c = 1; c < k; c++)
                if (outputs.probabilities![i * k + c]! > outputs.probabilities![i * k + best]!) best = c;
              label = classes?.[best] ?? String(best);
              score = k === 2 ? outputs.probabilities![i * 2 + 1]! : outputs.probabilities![i * k + best]!;
            }
            lines[i] =
              `${String(spineRows[i])},${Number.isFinite(score) ? score : ''},${JSON.stringify(label)}`;
          }
          if (!out.write(`${lines.join('\n')}\n`))
            await new Promise<void>((resolve) => out.once('drain', () => resolve()));
          scored += chunk.rows;
          onProgress?.(`scored ${scored}/${batch.rows} rows`);
        }
        await new Promise<void>((resolve) => out.end(resolve));
        const entity = keyColumns.length
          ? `to_json(struct_pack(${keyColumns.map((k) => `${quoteIdent(k)} := b.${quoteIdent(k)}`).join(', ')}))::VARCHAR`
          : `'{}'`;
        await duck.run(
          scored > 0
            ? `CREATE OR REPLACE TEMP TABLE _fti_predictions AS
               SELECT ${entity} AS entity, CAST(b.${quoteIdent(eventTime)} AS TIMESTAMP) AS event_time, s.score, NULLIF(s.label, '') AS label,
                 ${model.version}::INTEGER AS model_version, ${deployment.current.version}::INTEGER AS deployment_version, ${sqlString(binding.variant)} AS variant
               FROM ${batch.relation} b JOIN read_csv(${sqlPath(scoresCsv)}, header = false, columns = {'row': 'BIGINT', 'score': 'DOUBLE', 'label': 'VARCHAR'}) s ON s.row = b.${SPINE_ROW}
               ORDER BY b.${SPINE_ROW}`
            : `CREATE OR REPLACE TEMP TABLE _fti_predictions AS SELECT NULL::VARCHAR AS entity, NULL::TIMESTAMP AS event_time, NULL::DOUBLE AS score, NULL::VARCHAR AS label, NULL::INTEGER AS model_version, NULL::INTEGER AS deployment_version, NULL::VARCHAR AS variant WHERE FALSE`,
        );
        // Monitors read the batch's inputs and predictions from this profile, never the rows again.
        const profile =
          scored > 0
            ? await profileBatch(duck, deps.db, {
                inputs: batch.relation,
                predictions: '_fti_predictions',
                variant: binding.variant,
                modelVersionId: binding.model.id,
                trainingDatasetId: binding.trainingDataset.id,
                classes: classes ?? undefined,
              })
            : null;
        const inputProfile = profile ? { ...profile, batchId: randomUUID() } : null;
        const outputs: { sink: PredictionSink; location: string; rows: number }[] = [];
        const windowLabel = `window=${stamp(request.window.start)}_${stamp(request.window.end)}`;
        if (sinks.includes('s3')) {
          const parquet = path.join(dir, 'predictions.parquet');
          // Event times are UTC: written zone-aware so pandas/pyarrow read datetime64[ns, UTC].
          await duck.run(
            `COPY (SELECT * REPLACE (timezone('UTC', event_time) AS event_time) FROM _fti_predictions) TO ${sqlPath(parquet)} (FORMAT parquet, COMPRESSION zstd)`,
          );
          const key = joinKey('predictions', request.deployment, windowLabel, 'predictions.parquet');
          await deps.store.putFile(key, parquet);
          outputs.push({ sink: 's3', location: key, rows: scored });
        }
        if (sinks.includes('postgres')) {
          const csv = path.join(dir, 'predictions.csv');
          await duck.run(
            `COPY (SELECT entity, strftime(event_time, '%Y-%m-%dT%H:%M:%S.%fZ') AS event_time, score, label FROM _fti_predictions) TO ${sqlPath(csv)} (FORMAT csv, HEADER false)`,
          );
          const client = await poolOf(deps.db).connect();
          try {
            await client.query('BEGIN');
            await client.query(
              'CREATE TEMP TABLE _fti_prediction_rows (entity jsonb, event_time timestamptz, score float8, label text) ON COMMIT DROP',
            );
            await pipeline(
              fs.createReadStream(csv),
              client.query(copyFrom('COPY _fti_prediction_rows FROM STDIN (FORMAT csv)')),
            );
            // Replace, never duplicate, in the same transaction: the window's previous predictions,
            // and any row of an overlapping window for the same entity and event time.
            await client.query(
              'DELETE FROM predictions WHERE deployment_id = $1 AND window_start = $2 AND window_end = $3',
              [deployment.id, request.window.start, request.window.end],
            );
            await client.query(
              `DELETE FROM predictions p USING _fti_prediction_rows r
                WHERE p.deployment_id = $1 AND p.event_time IS NOT DISTINCT FROM r.event_time AND p.entity = r.entity`,
              [deployment.id],
            );
            await client.query(
              `INSERT INTO predictions (deployment_id, deployment_version, variant, model_version, window_start, window_end, entity, event_time, score, label)
               SELECT $1, $2, $3, $4, $5, $6, entity, event_time, score, label FROM _fti_prediction_rows`,
              [
                deployment.id,
                deployment.current.version,
                binding.variant,
                model.version,
                request.window.start,
                request.window.end,
              ],
            );
            await client.query('COMMIT');
          } catch (error) {
            await client.query('ROLLBACK').catch(() => undefined);
            throw error;
          } finally {
            client.release();
          }
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
              inputProfile,
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
                inputProfile,
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
