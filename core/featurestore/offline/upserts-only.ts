// Whether a commit file holds delete markers, read from its Parquet footer instead of its rows.
import { sqlPath, type DuckSession } from '../../duckdb';

/**
 * True when a Parquet file's footer statistics show `_fti_op` = 'U' in every row group with no
 * NULLs: the file holds no delete markers. False when the column's statistics are missing or show
 * any other value, so callers keep filtering. Reads only the footer (a few milliseconds).
 */
export async function upsertsOnly(duck: DuckSession, file: string): Promise<boolean> {
  const stats = await duck.one<{ groups: bigint; upserts: bigint }>(
    `SELECT count(*) AS groups,
       count(*) FILTER (WHERE coalesce(stats_min_value, stats_min) = 'U' AND coalesce(stats_max_value, stats_max) = 'U' AND stats_null_count = 0) AS upserts
     FROM parquet_metadata(${sqlPath(file)}) WHERE path_in_schema = '_fti_op'`,
  );
  return Number(stats?.groups ?? 0) > 0 && stats!.groups === stats!.upserts;
}
