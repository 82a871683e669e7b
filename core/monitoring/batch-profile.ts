import type { Database } from '../db';
import type { DuckSession } from '../duckdb';
import type { MonitoredRole } from './deployment-monitor';
import { profileWindow, type WindowProfile } from './profile';
import { modelVersionReference, trainingDatasetReference } from './references';
import { profileLogged, type LoggedColumn } from './served-window';

/** What a batch-inference run stores on its `prediction_batches` row for monitors. */
export interface StoredBatchProfile {
  /** `batch:<variant>`. */
  readonly segment: string;
  readonly modelVersionId: number;
  readonly trainingDatasetId: number;
  readonly windows: Partial<Record<MonitoredRole, WindowProfile>>;
}

/**
 * Profiles a batch's inputs (the materialized feature view rows, as stored) and its predictions
 * (`predictions`: columns `score` and `label`) against the model's references, for monitors to read
 * later without touching the rows again. Null when the model has no references (older versions).
 */
export async function profileBatch(
  duck: DuckSession,
  db: Database,
  options: {
    inputs: string;
    predictions: string;
    variant: string;
    modelVersionId: number;
    trainingDatasetId: number;
    classes: readonly string[] | undefined;
  },
): Promise<StoredBatchProfile | null> {
  const dataset = await trainingDatasetReference(db, options.trainingDatasetId);
  const model = await modelVersionReference(db, options.modelVersionId);
  if (!dataset && !model) return null;
  const windows: Partial<Record<MonitoredRole, WindowProfile>> = {};
  if (dataset && Object.keys(dataset.features.columns).length) {
    const present = new Set((await duck.describe(`SELECT * FROM ${options.inputs}`)).map((c) => c.name));
    const columns = Object.keys(dataset.features.columns).filter((c) => present.has(c));
    windows.feature = await profileWindow(duck, options.inputs, dataset.features, columns);
  }
  if (model) {
    // Batch scoring keeps the predicted label and one score: the regression value, the positive
    // class's probability (binary) or the winning class's (multiclass, which has no reference column).
    const columns: LoggedColumn[] = [];
    const classes = options.classes;
    if (!classes) columns.push({ name: 'prediction', expression: 'score' });
    else {
      columns.push({ name: 'label', expression: 'label' });
      if (classes.length === 2) columns.push({ name: `probability:${classes[1]}`, expression: 'score' });
    }
    windows.prediction = await profileLogged(duck, options.predictions, model.predictions, columns);
  }
  return {
    segment: `batch:${options.variant}`,
    modelVersionId: options.modelVersionId,
    trainingDatasetId: options.trainingDatasetId,
    windows,
  };
}
