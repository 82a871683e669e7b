import type { DuckSession } from '../duckdb';
import { quoteIdent } from '../identifiers';

/**
 * An order-independent hash of a relation's rows over the given columns: the row count plus the
 * sums (mod 2^64) of the two MD5 halves of each row's JSON text. Equal multisets of rows give equal
 * hashes whatever the row order (a re-extracted source that lists rows differently is "unchanged");
 * MD5 and JSON text are stable across DuckDB versions, so hashes stored with commits stay comparable.
 * Not a security hash: it detects changed source content, it does not resist crafted collisions.
 */
export async function contentHash(
  duck: DuckSession,
  relation: string,
  columns: readonly string[],
): Promise<string> {
  const row = `to_json(struct_pack(${columns.map((c) => `${quoteIdent(c)} := ${quoteIdent(c)}`).join(', ')}))::VARCHAR`;
  const result = await duck.one<{ n: bigint; lo: bigint | null; hi: bigint | null }>(
    `SELECT count(*) AS n,
            (sum(md5_number_lower(${row})::HUGEINT) % (1::HUGEINT << 64))::UBIGINT AS lo,
            (sum(md5_number_upper(${row})::HUGEINT) % (1::HUGEINT << 64))::UBIGINT AS hi
     FROM ${relation}`,
  );
  const hex = (v: bigint | null | undefined) =>
    BigInt(v ?? 0)
      .toString(16)
      .padStart(16, '0');
  return `rows=${Number(result?.n ?? 0)};md5sum=${hex(result?.hi)}${hex(result?.lo)}`;
}
