import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { PoolClient } from 'pg';
import { poolOf, tables } from '../db';
import { sqlPath, sqlString, withDuck } from '../duckdb';
import { ValidationError } from '../errors';
import { quoteIdent } from '../identifiers';
import {
  assertRange,
  SPINE_ROW,
  materializeBatch,
  type FeatureViewDeps,
  type SpineInput,
  type TimeRange,
} from '../featurestore';
import { loadSession } from '../ml';
import { getModelVersionById } from '../registry';
import { profileBatch, type StoredBatchProfile } from '../monitoring/batch-profile';
import { joinKey } from '../storage';
import { scoreRelation } from './batch-scoring';
import { stagePredictionRows } from './prediction-rows';
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
  /**
   * Wall seconds of each step, in order: `features` (point-in-time batch data), `scoring`
   * (transformations + ONNX), `join` (scores joined back to keys and times), `profile` (monitoring profile), `s3` and `postgres` (the sinks written).
   */
  readonly seconds: Readonly<Record<string, number>>;
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
  const seconds: Record<string, number> = {};
  let lap = performance.now();
  const step = (name: string) => {
    const now = performance.now();
    seconds[name] = Math.round(now - lap) / 1000;
    lap = now;
  };
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
        step('features');
        const keyColumns = batch.view.columns.filter((c) => c.role === 'key').map((c) => c.name);
        const eventTime = batch.view.eventTime;
        const classes = model.signature.classes;
        // Only the model inputs cross into JavaScript, and only as typed arrays; keys and times stay
        // in DuckDB and are joined back to the scores by spine row.
        const scoredRows = await scoreRelation(duck, session, {
          relation: batch.relation,
          fitted: batch.transformation,
          rows: batch.rows,
          chunkSize: request.chunkSize ?? 50_000,
          onProgress: (n) => onProgress?.(`scored ${n}/${batch.rows} rows`),
        });
        const scored = scoredRows.rows;
        step('scoring');
        // Regression scores have no class column: the table holds exactly the columns appended.
        await duck.run(
          `CREATE OR REPLACE TEMP TABLE _fti_scores (row DOUBLE, score DOUBLE${scoredRows.classIndex ? ', class DOUBLE' : ''})`,
        );
        await duck.appendColumns(
          '_fti_scores',
          [
            scoredRows.spineRows,
            scoredRows.scores,
            ...(scoredRows.classIndex ? [Float64Array.from(scoredRows.classIndex)] : []),
          ],
          scored,
        );
        const classOf = 'CAST(s.class AS INTEGER)';
        const label = scoredRows.classIndex
          ? classes?.length
            ? `COALESCE(list_extract([${classes.map(sqlString).join(', ')}], ${classOf} + 1), CAST(${classOf} AS VARCHAR))`
            : `CAST(${classOf} AS VARCHAR)`
          : 'NULL::VARCHAR';
        const entity = keyColumns.length
          ? `to_json(struct_pack(${keyColumns.map((k) => `${quoteIdent(k)} := b.${quoteIdent(k)}`).join(', ')}))::VARCHAR`
          : `'{}'`;
        await duck.run(
          scored > 0
            ? `CREATE OR REPLACE TEMP TABLE _fti_predictions AS
               SELECT ${entity} AS entity, CAST(b.${quoteIdent(eventTime)} AS TIMESTAMP) AS event_time, s.score, ${label} AS label,
                 ${model.version}::INTEGER AS model_version, ${deployment.current.version}::INTEGER AS deployment_version, ${sqlString(binding.variant)} AS variant
               FROM ${batch.relation} b JOIN _fti_scores s ON CAST(s.row AS BIGINT) = b.${SPINE_ROW}
               ORDER BY b.${SPINE_ROW}`
            : `CREATE OR REPLACE TEMP TABLE _fti_predictions AS SELECT NULL::VARCHAR AS entity, NULL::TIMESTAMP AS event_time, NULL::DOUBLE AS score, NULL::VARCHAR AS label, NULL::INTEGER AS model_version, NULL::INTEGER AS deployment_version, NULL::VARCHAR AS variant WHERE FALSE`,
        );
        step('join');
        const windowLabel = `window=${stamp(request.window.start)}_${stamp(request.window.end)}`;
        // The Postgres rows load inside PostgreSQL while DuckDB profiles the batch and writes the
        // Parquet; they commit only once everything else has succeeded.
        let rowsClient: PoolClient | undefined;
        let staged: Promise<{ error: unknown } | undefined> | undefined;
        if (sinks.includes('postgres')) {
          const csv = path.join(dir, 'predictions.csv');
          await duck.run(
            `COPY (SELECT entity, strftime(event_time, '%Y-%m-%dT%H:%M:%S.%fZ') AS event_time, score, label FROM _fti_predictions) TO ${sqlPath(csv)} (FORMAT csv, HEADER false)`,
          );
          const client = await poolOf(deps.db).connect();
          rowsClient = client;
          staged = stagePredictionRows(client, csv, {
            deploymentId: deployment.id,
            deploymentVersion: deployment.current.version,
            variant: binding.variant,
            modelVersion: model.version,
            window: request.window,
          }).then(
            () => undefined,
            (error: unknown) => ({ error }),
          );
        }
        const outputs: { sink: PredictionSink; location: string; rows: number }[] = [];
        let inputProfile: (StoredBatchProfile & { batchId: string }) | null;
        try {
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
          inputProfile = profile ? { ...profile, batchId: randomUUID() } : null;
          step('profile');
          if (sinks.includes('s3')) {
            const parquet = path.join(dir, 'predictions.parquet');
            // Event times are UTC: written zone-aware so pandas/pyarrow read datetime64[ns, UTC].
            await duck.run(
              `COPY (SELECT * REPLACE (timezone('UTC', event_time) AS event_time) FROM _fti_predictions) TO ${sqlPath(parquet)} (FORMAT parquet, COMPRESSION zstd)`,
            );
            const key = joinKey('predictions', request.deployment, windowLabel, 'predictions.parquet');
            await deps.store.putFile(key, parquet);
            outputs.push({ sink: 's3', location: key, rows: scored });
            step('s3');
          }
          if (rowsClient) {
            const failed = await staged;
            if (failed) throw failed.error;
            await rowsClient.query('COMMIT');
            outputs.push({ sink: 'postgres', location: 'predictions', rows: scored });
            step('postgres');
          }
        } catch (error) {
          if (rowsClient) {
            await staged; // never roll back under a statement still running
            await rowsClient.query('ROLLBACK').catch(() => undefined);
          }
          throw error;
        } finally {
          rowsClient?.release();
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
          seconds,
        };
      },
      { threads: request.threads ?? 2, tempDirectory: path.join(deps.scratchDir, 'duck') },
    );
  } finally {
    await session.release();
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
}
