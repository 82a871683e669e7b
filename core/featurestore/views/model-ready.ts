import fs from 'node:fs';
import path from 'node:path';
import { sqlPath, withDuck } from '../../duckdb';
import { quoteDerivedColumn, quoteIdent } from '../../identifiers';
import { joinKey } from '../../storage';
import type { FeatureViewDeps } from './deps';
import { readTrainingMatrix } from './read';
import { getTrainingDataset, type SplitName, type TrainingDatasetInfo } from './training-data';

/** Object key of a split's model-ready file, next to the split itself. */
export function modelReadySplitKey(dataset: TrainingDatasetInfo, split: SplitName): string {
  return joinKey(dataset.storagePrefix, `${split}.model-inputs.parquet`);
}

/**
 * Makes sure the model-ready form of a split exists in the object store and returns its key: the
 * split's rows with the dataset's fitted transformations applied by the platform's own code (one-hot
 * columns `feature=value`, scaled values) as DOUBLE columns in model-input order, beside the keys,
 * event time (UTC, zone-aware), helper columns and labels as stored. This is what a model trained
 * outside the platform must take to be imported, so Python never re-implements the
 * transformations. Written once per split (datasets are immutable); later calls reuse the file.
 */
export async function ensureModelReadySplit(
  deps: FeatureViewDeps,
  featureView: { name: string; version?: number },
  version: number,
  split: SplitName,
): Promise<{ key: string; featureNames: readonly string[] }> {
  const { dataset } = await getTrainingDataset(deps, featureView, version);
  const key = modelReadySplitKey(dataset, split);
  const fitted = dataset.transformation;
  if (await deps.store.exists(key)) return { key, featureNames: fitted.outputs };
  // The matrix comes from the split file in file order, so row i of X is row i of the file.
  const { matrix } = await readTrainingMatrix(deps, featureView, version, split);
  const source = await deps.cache.localPath(joinKey(dataset.storagePrefix, `${split}.parquet`));
  await fs.promises.mkdir(deps.scratchDir, { recursive: true });
  const dir = await fs.promises.mkdtemp(path.join(deps.scratchDir, 'model-ready-'));
  try {
    // Row number first, then the inputs: appended straight from the matrix (NaN becomes NULL).
    const width = matrix.cols + 1;
    const values = new Float64Array(matrix.rows * width);
    for (let r = 0; r < matrix.rows; r++) {
      values[r * width] = r + 1;
      values.set(matrix.X.subarray(r * matrix.cols, (r + 1) * matrix.cols), r * width + 1);
    }
    const file = path.join(dir, 'model-inputs.parquet');
    await withDuck(async (duck) => {
      await duck.run(
        `CREATE VIEW stored AS SELECT * EXCLUDE (file_row_number), file_row_number + 1 AS _fti_r FROM read_parquet(${sqlPath(source)}, file_row_number = true)`,
      );
      const consumed = new Set(fitted.features);
      const kept = (await duck.describe('SELECT * FROM stored'))
        .filter((c) => c.name !== '_fti_r' && !consumed.has(c.name))
        .map((c) =>
          /^TIMESTAMP(_NS|_MS|_S)?$/.test(c.type)
            ? `timezone('UTC', s.${quoteIdent(c.name)}) AS ${quoteIdent(c.name)}`
            : `s.${quoteIdent(c.name)}`,
        );
      await duck.run(
        `CREATE TABLE inputs (_fti_r DOUBLE${fitted.outputs.map((_, i) => `, c${i} DOUBLE`).join('')})`,
      );
      await duck.appendMatrix('inputs', values, matrix.rows, width);
      const inputs = fitted.outputs.map((name, i) => `m.c${i} AS ${quoteDerivedColumn(name)}`);
      await duck.run(
        `COPY (SELECT ${[...kept, ...inputs].join(', ')}
               FROM stored s JOIN inputs m ON s._fti_r = CAST(m._fti_r AS BIGINT)
               ORDER BY s._fti_r) TO ${sqlPath(file)} (FORMAT parquet, COMPRESSION zstd)`,
      );
    });
    await deps.store.putFile(key, file);
  } finally {
    await fs.promises.rm(dir, { recursive: true, force: true });
  }
  return { key, featureNames: fitted.outputs };
}
