import type { DuckSession } from '../duckdb';
import { quoteIdent } from '../identifiers';

/**
 * An order-independent hash of a relation's rows over the given columns: the row count plus two
 * sums (mod 2^64) of DuckDB's `hash()` of each row (two seeds, 128 bits). Equal multisets of rows
 * give equal hashes whatever the row order (a re-extracted source that lists rows differently is
 * "unchanged"). `hash()` takes ~60 ms per million rows (MD5 of each row's text took seconds); since a
 * DuckDB upgrade may change it, the result starts with the hash of a fixed probe, and
 * {@link sameContent} answers "unknown" for hashes of different families.
 * Not a security hash: it detects changed source content, it does not resist crafted collisions.
 */
export async function contentHash(
  duck: DuckSession,
  relation: string,
  columns: readonly string[],
): Promise<string> {
  const values = columns.map(quoteIdent).join(', ');
  const result = await duck.one<{ probe: bigint; n: bigint; lo: bigint | null; hi: bigint | null }>(
    `SELECT hash('fti-content-probe') AS probe, count(*) AS n,
            (sum(hash(${values})::HUGEINT) % (1::HUGEINT << 64))::UBIGINT AS lo,
            (sum(hash(${values}, 'fti-seed-2')::HUGEINT) % (1::HUGEINT << 64))::UBIGINT AS hi
     FROM ${relation}`,
  );
  const hex = (v: bigint | null | undefined) =>
    BigInt(v ?? 0)
      .toString(16)
      .padStart(16, '0');
  return `duckdb-${hex(result?.probe)};rows=${Number(result?.n ?? 0)};sum=${hex(result?.hi)}${hex(result?.lo)}`;
}

/**
 * Whether two content hashes describe the same rows: true/false when both come from the same hash
 * family, null (unknown) when either is missing or they come from different families.
 */
export function sameContent(a: string | null | undefined, b: string | null | undefined): boolean | null {
  if (!a || !b) return null;
  const family = (h: string) => h.split(';')[0];
  if (family(a) !== family(b)) return null;
  return a === b;
}
