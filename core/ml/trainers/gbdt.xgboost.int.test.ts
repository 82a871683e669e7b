// The GBDT trainer against XGBoost (hist, the pinned Python package in .venv, installed by the test
// command from infra/requirements-ml.txt) on the same heavily imbalanced data with the same
// hyperparameters: test ROC AUC within 0.01.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { rareFraudLike, RARE_FRAUD_COLUMNS } from '../../../test/support/imbalanced';
import { projectPython } from '../../../test/support/python';
import { rocAuc } from '../metrics';
import type { Dataset } from '../task';
import { DEFAULT_CLASSIFIER_MAX_DELTA_STEP, gbdt } from './gbdt';

const write = (file: string, values: Float64Array) =>
  fs.writeFileSync(file, Buffer.from(values.buffer, values.byteOffset, values.byteLength));

function xgboostTestProbabilities(
  splits: { train: Dataset; validation: Dataset; test: Dataset },
  params: Record<string, number>,
): { p: Float64Array; version: string; bestIteration: number } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-xgb-'));
  try {
    fs.writeFileSync(path.join(dir, 'shape.json'), JSON.stringify({ cols: splits.train.cols }));
    for (const [name, data] of Object.entries(splits)) {
      write(path.join(dir, `${name}.X.f64`), data.X);
      write(path.join(dir, `${name}.y.f64`), data.y);
    }
    const script = path.join(__dirname, '../../../test/support/xgboost-reference.py');
    const out = execFileSync(projectPython(['xgboost', 'numpy']), [script, dir, JSON.stringify(params)], {
      encoding: 'utf8',
    });
    const info = JSON.parse(out.trim().split('\n').at(-1)!) as { version: string; best_iteration: number };
    const bytes = fs.readFileSync(path.join(dir, 'test.p.f64'));
    return {
      p: new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8).slice(),
      version: info.version,
      bestIteration: info.best_iteration,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('gbdt trainer against XGBoost', () => {
  // With the step cap (our classifier default) and without it, where both overshoot alike: on this
  // data uncapped XGBoost and uncapped ours both score ROC AUC 0.05, the failure Example 1 showed.
  it.each([DEFAULT_CLASSIFIER_MAX_DELTA_STEP, 0])(
    'matches XGBoost test ROC AUC within 0.01 on 0.15 %% positives with the same hyperparameters (maxDeltaStep %d)',
    async (maxDeltaStep) => {
      const splits = {
        train: rareFraudLike(100_000, 11),
        validation: rareFraudLike(20_000, 12),
        test: rareFraudLike(50_000, 13),
      };
      // Example 1's challenger's hyperparameters, passed to both.
      const params = {
        numTrees: 60,
        maxDepth: 4,
        learningRate: 0.2,
        l2: 1,
        minChildWeight: 1,
        maxBins: 256,
        maxDeltaStep,
        earlyStoppingRounds: 10,
      };
      const model = await gbdt.train(
        { task: 'binary', numClasses: 2, featureNames: RARE_FRAUD_COLUMNS, ...splits },
        gbdt.paramsSchema.parse(params),
        { seed: 1 },
      );
      const probabilities = model.predict(splits.test.X, splits.test.rows).probabilities!;
      const ours = rocAuc(
        splits.test.y,
        Float64Array.from({ length: splits.test.rows }, (_, i) => probabilities[i * 2 + 1]!),
      );
      const reference = xgboostTestProbabilities(splits, params);
      const theirs = rocAuc(splits.test.y, reference.p);
      expect(reference.p).toHaveLength(splits.test.rows);
      if (maxDeltaStep > 0) expect(theirs).toBeGreaterThan(0.9);
      expect(Math.abs(ours - theirs)).toBeLessThanOrEqual(0.01);
    },
  );
});
