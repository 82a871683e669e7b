import { sqlPath, withDuck } from '../../duckdb';
import { quoteIdent } from '../../identifiers';
import { joinKey } from '../../storage';
import type { FeatureViewDeps } from './deps';
import {
  getTrainingDataset,
  splitExpression,
  type SplitName,
  type TrainingDatasetInfo,
} from './training-data';

/**
 * Where another dataset put a row: one of its splits, `outside` (the row is not in that dataset:
 * outside its time range or its split ranges), or `unknown` (that dataset split by row position,
 * before split keys, or its key columns are not columns of these rows).
 */
export type SeenAs = SplitName | 'outside' | 'unknown';

/** A training dataset version of a feature view. */
export interface DatasetVersionRef {
  readonly featureView: { readonly name: string; readonly version: number };
  readonly version: number;
}

/**
 * The rows of one split of dataset `of` (untransformed, in stored order), each with the split that
 * dataset `by` assigned the same record: the basis of a fair comparison of two models, scored only
 * on rows neither trained on. The assignment is recomputed from `by`'s stored definition (seed,
 * fractions, split key, time ranges), so it holds for rows `by` never read too.
 */
export async function rowsSeenBy(
  deps: FeatureViewDeps,
  of: DatasetVersionRef,
  split: SplitName,
  by: DatasetVersionRef,
): Promise<{ rows: Record<string, unknown>[]; seenAs: SeenAs[]; by: TrainingDatasetInfo }> {
  const { dataset } = await getTrainingDataset(deps, of.featureView, of.version);
  const other = await getTrainingDataset(deps, by.featureView, by.version);
  const local = await deps.cache.localPath(joinKey(dataset.storagePrefix, `${split}.parquet`));
  return withDuck(
    async (duck) => {
      await duck.run(
        `CREATE OR REPLACE TEMP VIEW _fti_rows AS SELECT * FROM read_parquet(${sqlPath(local)})`,
      );
      const columns = new Set(
        (await duck.all<{ column_name: string }>(`DESCRIBE _fti_rows`)).map((c) => c.column_name),
      );
      const b = other.dataset;
      const eventTime = other.record.view.eventTime;
      const needed = [eventTime, ...(b.splits.kind === 'random' ? (b.splitKey ?? []) : [])];
      const knowable =
        (b.splits.kind !== 'random' || b.splitKey !== null) && needed.every((c) => columns.has(c));
      let seen = `'unknown'`;
      if (knowable) {
        const et = `CAST(${quoteIdent(eventTime)} AS TIMESTAMP)`;
        const stamp = (d: Date) => `TIMESTAMP '${d.toISOString().replace('Z', '')}'`;
        const outside = [
          ...(b.start ? [`${et} < ${stamp(b.start)}`] : []),
          ...(b.end ? [`${et} >= ${stamp(b.end)}`] : []),
        ];
        const assigned = `COALESCE(${splitExpression(b.splits, eventTime, b.splitKey)}, 'outside')`;
        seen = outside.length
          ? `CASE WHEN ${outside.join(' OR ')} THEN 'outside' ELSE ${assigned} END`
          : assigned;
      }
      const rows = await duck.all<Record<string, unknown>>(
        `SELECT *, ${seen} AS _fti_seen_as FROM _fti_rows`,
      );
      const seenAs = rows.map((r) => {
        const v = r._fti_seen_as as SeenAs;
        delete r._fti_seen_as;
        return v;
      });
      return { rows, seenAs, by: b };
    },
    { threads: deps.threads ?? 2 },
  );
}
