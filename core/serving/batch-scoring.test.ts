import { withDuck } from '../duckdb';
import { encodeRow, fitTransformations, SPINE_ROW, type RawValue } from '../featurestore';
import { gbdt, linearRegression, loadSession, predictOnnx, type Dataset } from '../ml';
import { scoreRelation } from './batch-scoring';

// Rows with every case the column-wise encoder must get right: NULLs, ±Infinity and NaN in a
// passthrough DOUBLE, an INTEGER and a BOOLEAN column read directly, a one-hot text column and a
// scaled column that go value by value.
const ROWS = 5_000;
function rawRows(): Record<string, RawValue>[] {
  const out: Record<string, RawValue>[] = [];
  for (let i = 0; i < ROWS; i++)
    out.push({
      a: i % 97 === 0 ? null : i % 101 === 0 ? Infinity : i % 103 === 0 ? -Infinity : Math.sin(i) * 10,
      b: i % 89 === 0 ? null : (i * 7) % 13,
      flag: i % 83 === 0 ? null : i % 3 === 0,
      c: i % 79 === 0 ? null : ['red', 'green', 'blue', 'violet'][i % 4]!,
      d: i % 71 === 0 ? null : Math.cos(i) * 100 + 5,
    });
  return out;
}

async function expectSameAsRowByRow(task: 'multiclass' | 'regression', chunkSize: number): Promise<void> {
  const rows = rawRows();
  const features = ['a', 'b', 'flag', 'c', 'd'];
  const fitted = fitTransformations(
    features,
    { c: { kind: 'one_hot' }, d: { kind: 'standard_scaler' } },
    (f) => rows.map((r) => r[f]),
  );
  const cols = fitted.outputs.length;
  const X = new Float64Array(ROWS * cols);
  rows.forEach((r, i) => X.set(encodeRow(fitted, r), i * cols));
  const y = Float64Array.from(rows, (_, i) => (task === 'multiclass' ? i % 3 : (i % 17) / 3));
  const train: Dataset = { X, y, rows: ROWS, cols };
  const featureNames = [...fitted.outputs];
  const model =
    task === 'multiclass'
      ? await gbdt.train(
          { task, numClasses: 3, featureNames, train },
          gbdt.paramsSchema.parse({ numTrees: 5, maxDepth: 3, earlyStoppingRounds: 0 }),
          { seed: 1 },
        )
      : await linearRegression.train(
          {
            task,
            numClasses: 0,
            featureNames,
            train: { ...train, X: X.map((v) => (Number.isNaN(v) ? 0 : v)) },
          },
          linearRegression.paramsSchema.parse({}),
          { seed: 1 },
        );
  const session = await loadSession(model.onnx, { threads: 1 });
  try {
    const expected = await predictOnnx(session, X, ROWS, cols);
    await withDuck(async (duck) => {
      await duck.run(
        `CREATE TABLE batch (${SPINE_ROW} BIGINT, a DOUBLE, b INTEGER, flag BOOLEAN, c VARCHAR, d DOUBLE)`,
      );
      // Inserted out of order: scores must come back in spine-row order.
      for (let start = 0; start < ROWS; start += 500) {
        const part = rows.slice(start, start + 500).map((r, k): { row: number; values: RawValue[] } => ({
          row: start + k + 1,
          values: [r.a, r.b, r.flag, r.c, r.d],
        }));
        part.reverse();
        const literal = (v: RawValue) =>
          v === null || v === undefined
            ? 'NULL'
            : typeof v === 'string'
              ? `'${v}'`
              : v === Infinity
                ? "'inf'::DOUBLE"
                : v === -Infinity
                  ? "'-inf'::DOUBLE"
                  : String(v);
        await duck.run(
          `INSERT INTO batch VALUES ${part.map((r) => `(${r.row}, ${r.values.map(literal).join(', ')})`).join(', ')}`,
        );
      }
      const progress: number[] = [];
      const scored = await scoreRelation(duck, session, {
        relation: 'batch',
        fitted,
        rows: ROWS - 1, // an undercount: the arrays must grow, not drop rows
        chunkSize,
        onProgress: (n) => progress.push(n),
      });
      expect(scored.rows).toBe(ROWS);
      expect(Array.from(scored.spineRows)).toEqual(Array.from({ length: ROWS }, (_, i) => i + 1));
      expect(progress.at(-1)).toBe(ROWS);
      for (let i = 0; i < ROWS; i++) {
        if (task === 'regression') {
          expect(scored.classIndex).toBeUndefined();
          expect(scored.scores[i]).toBe(expected.prediction![i]);
        } else {
          const p = Array.from(expected.probabilities!.subarray(i * 3, i * 3 + 3));
          const best = p.indexOf(Math.max(...p));
          expect(scored.classIndex![i]).toBe(best);
          expect(scored.scores[i]).toBe(p[best]);
        }
      }
    });
  } finally {
    await session.release();
  }
}

describe('batch scoring straight from DuckDB vectors', () => {
  it('scores a multiclass batch exactly as row-by-row encoding does, across DuckDB chunks and ONNX calls that do not line up', async () => {
    await expectSameAsRowByRow('multiclass', 3_000);
  });

  it('scores a regression batch exactly as row-by-row encoding does when one ONNX call takes every row', async () => {
    await expectSameAsRowByRow('regression', 50_000);
  });

  it('fails with the ONNX error and scores nothing more when a scoring call fails while DuckDB is still streaming', async () => {
    const fitted = fitTransformations(['a'], {}, () => []);
    let calls = 0;
    // A session whose first call fails at once, while the loop goes on reading the next chunks.
    const failing = {
      run: () => {
        calls += 1;
        return Promise.reject(new Error('onnx: input width does not match the model'));
      },
    } as unknown as Parameters<typeof scoreRelation>[1];
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      await withDuck(async (duck) => {
        await duck.run(
          `CREATE TABLE batch AS SELECT i AS ${SPINE_ROW}, i * 0.5 AS a FROM range(1, 20001) t(i)`,
        );
        await expect(
          scoreRelation(duck, failing, { relation: 'batch', fitted, rows: 20_000, chunkSize: 2_048 }),
        ).rejects.toThrow('input width does not match');
      });
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
      expect(calls).toBe(1); // no further call after the first failure
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
