// The `predictions` table sink of batch inference, split into a staged write and a commit so the
// rows can load inside PostgreSQL while DuckDB profiles the batch and writes its Parquet.
import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { PoolClient } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

/** The fixed columns every row of one batch window shares. */
export interface PredictionRowsTarget {
  readonly deploymentId: number;
  readonly deploymentVersion: number;
  readonly variant: string;
  readonly modelVersion: number;
  readonly window: { readonly start: Date; readonly end: Date };
}

/**
 * Opens a transaction on `client` and loads a window's predictions from `csv` (entity JSON, event
 * time, score, label), replacing — never duplicating — the window's previous rows and any row of an
 * overlapping window with the same entity and event time. Nothing is visible until the caller
 * commits; on error the caller rolls back.
 */
export async function stagePredictionRows(
  client: PoolClient,
  csv: string,
  target: PredictionRowsTarget,
): Promise<void> {
  await client.query('BEGIN');
  await client.query(
    'CREATE TEMP TABLE _fti_prediction_rows (entity jsonb, event_time timestamptz, score float8, label text) ON COMMIT DROP',
  );
  await pipeline(
    fs.createReadStream(csv),
    client.query(copyFrom('COPY _fti_prediction_rows FROM STDIN (FORMAT csv)')),
  );
  await client.query(
    'DELETE FROM predictions WHERE deployment_id = $1 AND window_start = $2 AND window_end = $3',
    [target.deploymentId, target.window.start, target.window.end],
  );
  await client.query(
    `DELETE FROM predictions p USING _fti_prediction_rows r
      WHERE p.deployment_id = $1 AND p.event_time IS NOT DISTINCT FROM r.event_time AND p.entity = r.entity`,
    [target.deploymentId],
  );
  await client.query(
    `INSERT INTO predictions (deployment_id, deployment_version, variant, model_version, window_start, window_end, entity, event_time, score, label)
     SELECT $1, $2, $3, $4, $5, $6, entity, event_time, score, label FROM _fti_prediction_rows`,
    [
      target.deploymentId,
      target.deploymentVersion,
      target.variant,
      target.modelVersion,
      target.window.start,
      target.window.end,
    ],
  );
}
