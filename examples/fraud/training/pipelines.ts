// The training team's pipelines for the fraud model (queue fti-training): a GBDT with gates on PR
// AUC, ROC AUC and the ROC AUC gap between card types. The same spec as JSON: fraud.training.json
// (`fti train run examples/fraud/training/fraud.training.json`).
import type { TrainingPipelineSpec } from '../../../core';

/** A fraud training pipeline with its gates; `alias` moves to the new version when they pass. */
export function fraudTrainingPipeline(
  name: string,
  params: Readonly<Record<string, unknown>>,
  alias: 'champion' | 'challenger',
  trainQueue = 'fti-training',
): TrainingPipelineSpec {
  return {
    name,
    model: 'fraud',
    featureView: { name: 'fraud' },
    trainingDataset: {
      create: { splits: { kind: 'random', fractions: { train: 0.7, validation: 0.1, test: 0.2 }, seed: 42 } },
    },
    trainer: { name: 'gbdt', params: { ...params } },
    sliceColumns: ['card_type'],
    gates: {
      thresholds: { pr_auc: { min: 0.3 }, roc_auc: { min: 0.8 } },
      slices: { column: 'card_type', metric: 'roc_auc', maxGap: 0.3, minRows: 30 },
    },
    alias,
    trainQueue,
    description: 'card-fraud GBDT',
  };
}

/** The champion: 150 trees of depth 6. */
export const championParams = { numTrees: 150, maxDepth: 6, learningRate: 0.1 };
/** The challenger: smaller and faster. */
export const challengerParams = { numTrees: 60, maxDepth: 4, learningRate: 0.2 };
/**
 * The challenger on the Python XGBoost trainer, for workers that register it as `xgboost-py` (an
 * external trainer: docs/guides/training.md). Same size; `max_delta_step` 2 caps each leaf's step
 * as the gbdt trainer does: uncapped Newton steps on rare positives rank fraud worse than chance.
 */
export const xgboostChallenger: TrainingPipelineSpec['trainer'] = {
  external: {
    name: 'xgboost-py',
    params: { n_estimators: 60, max_depth: 4, learning_rate: 0.2, max_delta_step: 2 },
  },
};
