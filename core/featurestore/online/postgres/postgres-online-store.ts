import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { sqlPath, type DuckSession } from '../../../duckdb';
import { ValidationError } from '../../../errors';
import { quoteIdent } from '../../../identifiers';
import type { FeatureGroupSpec, FeatureType } from '../../feature-group';
import type { OnlineRow, OnlineStore, OnlineWriteResult } from '../online-store';

const PG_TYPES: Readonly<Record<FeatureType, string>> = {
  int: 'integer',
  bigint: 'bigint',
  float: 'real',
  double: 'double precision',
  bool: 'boolean',
  string: 'text',
  timestamp: 'timestamp',
  date: 'date',
  float_array: 'real[]',
};

const SCHEMA = 'fti_online';

// Timestamps are stored as UTC without zone; parse them as UTC whatever the process TZ is.
const TYPES = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 1114) return (v: string) => new Date(`${v.replace(' ', 'T')}Z`);
    if (oid === 1082) return (v: string) => v;
    if (oid === 20) return (v: string) => (Number.isSafeInteger(Number(v)) ? Number(v) : v);
    return pg.types.getTypeParser(oid, format);
  },
};

/** Options for {@link PostgresOnlineStore}. */
export interface PostgresOnlineStoreOptions {
  readonly pool: pg.Pool;
  /** Folder for the CSV files streamed into COPY. */
  readonly scratchDir: string;
}

/**
 * {@link OnlineStore} on PostgreSQL: one table per feature-group version in schema `fti_online`,
 * primary key = the group's primary key. Bulk writes stream a CSV produced by DuckDB through
 * `COPY` into a temporary staging table, then apply one `INSERT … ON CONFLICT DO UPDATE … WHERE
 * stored.event_time <= incoming.event_time`: an older event never overwrites a newer one.
 */
export class PostgresOnlineStore implements OnlineStore {
  private readonly ensured = new Set<string>();

  constructor(private readonly options: PostgresOnlineStoreOptions) {}

  /** Qualified table name for a group version (hashed when the name would pass 63 characters). */
  static tableName(spec: Pick<FeatureGroupSpec, 'name' | 'version'>): string {
    const plain = `${spec.name}_v${spec.version}`;
    if (plain.length <= 63) return plain;
    const hash = createHash('sha1').update(plain).digest('hex').slice(0, 8);
    return `${spec.name.slice(0, 40)}_${hash}_v${spec.version}`;
  }

  private table(spec: FeatureGroupSpec): string {
    return `${quoteIdent(SCHEMA)}.${quoteIdent(PostgresOnlineStore.tableName(spec))}`;
  }

  async ensureTable(spec: FeatureGroupSpec): Promise<void> {
    const cacheKey = ensuredKey(spec);
    if (this.ensured.has(cacheKey)) return;
    const columns = spec.features.map(
      (f) => `${quoteIdent(f.name)} ${PG_TYPES[f.type]}${f.nullable ? '' : ' NOT NULL'}`,
    );
    const pk = spec.primaryKey.map(quoteIdent).join(', ');
    const client = await this.options.pool.connect();
    try {
      await client.query('SELECT pg_advisory_lock(hashtext($1))', [`online:${spec.name}:${spec.version}`]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(SCHEMA)}`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${this.table(spec)} (${columns.join(', ')}, "_fti_written_at" timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (${pk}))`,
      );
      // Appended nullable features arrive as new columns.
      for (const f of spec.features.filter((x) => x.nullable)) {
        await client.query(
          `ALTER TABLE ${this.table(spec)} ADD COLUMN IF NOT EXISTS ${quoteIdent(f.name)} ${PG_TYPES[f.type]}`,
        );
      }
    } finally {
      await client
        .query('SELECT pg_advisory_unlock(hashtext($1))', [`online:${spec.name}:${spec.version}`])
        .catch(() => undefined);
      client.release();
    }
    this.ensured.add(cacheKey);
  }

  async writeFromDuck(
    duck: DuckSession,
    relation: string,
    spec: FeatureGroupSpec,
    onProgress?: (rows: number) => void,
  ): Promise<OnlineWriteResult> {
    await this.ensureTable(spec);
    const pk = spec.primaryKey.map(quoteIdent).join(', ');
    const et = quoteIdent(spec.eventTime);
    const latest = `SELECT * FROM ${relation} QUALIFY row_number() OVER (PARTITION BY ${pk} ORDER BY ${et} DESC) = 1`;
    return this.copyApply(duck, latest, spec, onProgress);
  }

  async replaceFromDuck(
    duck: DuckSession,
    relation: string,
    spec: FeatureGroupSpec,
  ): Promise<OnlineWriteResult> {
    await this.ensureTable(spec);
    const pk = spec.primaryKey.map(quoteIdent).join(', ');
    const et = quoteIdent(spec.eventTime);
    const latest = `SELECT * FROM ${relation} QUALIFY row_number() OVER (PARTITION BY ${pk} ORDER BY ${et} DESC) = 1`;
    return this.copyApply(duck, latest, spec, undefined, { replace: true });
  }

  async writeRows(
    spec: FeatureGroupSpec,
    rows: readonly Readonly<Record<string, unknown>>[],
  ): Promise<OnlineWriteResult> {
    if (rows.length === 0) return { offered: 0, applied: 0 };
    await this.ensureTable(spec);
    const latest = latestPerKey(spec, rows);
    const cols = spec.features.map((f) => quoteIdent(f.name));
    // One array parameter per column; float arrays travel as Postgres array literals in a text[]
    // (unnest would flatten a real[][]), cast back per row.
    const params = spec.features.map((f) =>
      latest.map((row) => {
        const value = row[f.name];
        if (value === null || value === undefined) return null;
        if (f.type === 'float_array') return `{${(value as readonly number[]).join(',')}}`;
        // timestamp columns have no zone and hold UTC: drop the ISO string's Z rather than rely on
        // Postgres ignoring it.
        if (f.type === 'timestamp' && typeof value === 'string') return value.replace(/Z$/, '');
        return toPgParam(value);
      }),
    );
    const arrays = spec.features.map((f, i) =>
      f.type === 'float_array' ? `$${i + 1}::text[]` : `$${i + 1}::${PG_TYPES[f.type]}[]`,
    );
    const select = spec.features.map((f, i) => (f.type === 'float_array' ? `c${i}::real[]` : `c${i}`));
    const pkCols = spec.primaryKey.map(quoteIdent).join(', ');
    const et = quoteIdent(spec.eventTime);
    const updates = cols
      .filter((c) => !spec.primaryKey.map(quoteIdent).includes(c))
      .map((c) => `${c} = EXCLUDED.${c}`);
    const result = await this.options.pool.query(
      `INSERT INTO ${this.table(spec)} AS t (${cols.join(', ')})
       SELECT ${select.join(', ')} FROM unnest(${arrays.join(', ')}) AS u(${spec.features.map((_, i) => `c${i}`).join(', ')})
       ON CONFLICT (${pkCols}) DO UPDATE SET ${updates.join(', ')}, "_fti_written_at" = now()
       WHERE t.${et} <= EXCLUDED.${et}`,
      params,
    );
    return { offered: latest.length, applied: result.rowCount ?? 0 };
  }

  async applyDeletes(
    duck: DuckSession,
    deleted: string,
    survivors: string,
    spec: FeatureGroupSpec,
  ): Promise<number> {
    await this.ensureTable(spec);
    const keyCols = [...spec.primaryKey, spec.eventTime];
    const rows = await duck.all<Record<string, unknown>>(
      `SELECT ${keyCols.map(quoteIdent).join(', ')} FROM ${deleted}`,
    );
    if (rows.length === 0) return 0;
    const types = keyCols.map((c) => PG_TYPES[spec.features.find((f) => f.name === c)!.type]);
    const params = keyCols.map((c) => rows.map((r) => toPgParam(r[c])));
    const match = keyCols.map((c) => `t.${quoteIdent(c)} = d.${quoteIdent(c)}`).join(' AND ');
    const unnest = `unnest(${keyCols.map((_, i) => `$${i + 1}::${types[i]}[]`).join(', ')}) AS d(${keyCols.map(quoteIdent).join(', ')})`;
    const result = await this.options.pool.query(
      `DELETE FROM ${this.table(spec)} t USING ${unnest} WHERE ${match}`,
      params,
    );
    // The deleted keys may still have older surviving events: restore the latest of those.
    const pk = spec.primaryKey.map(quoteIdent).join(', ');
    await this.copyApply(
      duck,
      `SELECT s.* FROM ${survivors} s SEMI JOIN ${deleted} d USING (${pk}) QUALIFY row_number() OVER (PARTITION BY ${spec.primaryKey.map((c) => `s.${quoteIdent(c)}`).join(', ')} ORDER BY s.${quoteIdent(spec.eventTime)} DESC) = 1`,
      spec,
    );
    return result.rowCount ?? 0;
  }

  private async copyApply(
    duck: DuckSession,
    query: string,
    spec: FeatureGroupSpec,
    onProgress?: (rows: number) => void,
    mode: { readonly replace?: boolean } = {},
  ): Promise<OnlineWriteResult> {
    const cols = spec.features.map((f) => quoteIdent(f.name));
    // Postgres array literals, not DuckDB's [a, b] rendering.
    const select = spec.features
      .map((f) =>
        f.type === 'float_array'
          ? `CASE WHEN ${quoteIdent(f.name)} IS NULL THEN NULL ELSE '{' || array_to_string(${quoteIdent(f.name)}, ',') || '}' END AS ${quoteIdent(f.name)}`
          : quoteIdent(f.name),
      )
      .join(', ');
    await fs.promises.mkdir(this.options.scratchDir, { recursive: true });
    const csv = `${this.options.scratchDir}/online-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.csv`;
    try {
      await duck.run(
        `COPY (SELECT ${select} FROM (${query})) TO ${sqlPath(csv)} (FORMAT csv, HEADER false, NULL '', FORCE_QUOTE *)`,
      );
      const offered = Number((await duck.one<{ n: bigint }>(`SELECT count(*) AS n FROM (${query})`))?.n ?? 0);
      if (offered === 0 && !mode.replace) return { offered: 0, applied: 0 };
      const client = await this.options.pool.connect();
      try {
        await client.query('BEGIN');
        // DELETE, not TRUNCATE: concurrent readers keep serving the old rows until COMMIT.
        if (mode.replace) await client.query(`DELETE FROM ${this.table(spec)}`);
        await client.query(
          `CREATE TEMP TABLE _fti_staging ON COMMIT DROP AS SELECT ${cols.join(', ')} FROM ${this.table(spec)} WITH NO DATA`,
        );
        const copy = client.query(copyFrom(`COPY _fti_staging (${cols.join(', ')}) FROM STDIN (FORMAT csv)`));
        await pipeline(fs.createReadStream(csv), copy);
        onProgress?.(offered);
        const pkCols = spec.primaryKey.map(quoteIdent).join(', ');
        const et = quoteIdent(spec.eventTime);
        const updates = cols
          .filter((c) => !spec.primaryKey.map(quoteIdent).includes(c))
          .map((c) => `${c} = EXCLUDED.${c}`);
        // In primary-key order, the inserts walk the key index in order instead of at random
        // (250k rows, measured alone: 0–10 % less time into fresh keys, 15–20 % for a re-upsert).
        const applied = await client.query(
          `INSERT INTO ${this.table(spec)} AS t (${cols.join(', ')}) SELECT ${cols.join(', ')} FROM _fti_staging ORDER BY ${pkCols}
           ON CONFLICT (${pkCols}) DO UPDATE SET ${updates.join(', ')}, "_fti_written_at" = now()
           WHERE t.${et} <= EXCLUDED.${et}`,
        );
        await client.query('COMMIT');
        return { offered, applied: applied.rowCount ?? 0 };
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    } finally {
      await fs.promises.rm(csv, { force: true });
    }
  }

  async read(
    spec: FeatureGroupSpec,
    keys: readonly Readonly<Record<string, unknown>>[],
    now: Date = new Date(),
  ): Promise<OnlineRow[]> {
    return (await this.readMany([{ spec, keys }], now))[0]!;
  }

  async readMany(
    requests: readonly {
      readonly spec: FeatureGroupSpec;
      readonly keys: readonly Readonly<Record<string, unknown>>[];
    }[],
    now: Date = new Date(),
  ): Promise<OnlineRow[][]> {
    const active = requests.map((r, i) => ({ ...r, index: i })).filter((r) => r.keys.length > 0);
    if (active.length === 0) return requests.map(() => []);
    for (const r of active) if (!this.ensured.has(ensuredKey(r.spec))) await this.ensureTable(r.spec);
    // One key per group (a single online prediction): scalar parameters, no arrays to build,
    // escape and unnest — the statement Postgres runs is then as cheap as a hand-written lookup.
    const single = active.every((r) => r.keys.length === 1);
    const values: unknown[] = [];
    for (const { spec, keys } of active) {
      const pkTypes = this.keyTypes(spec);
      spec.primaryKey.forEach((c, i) =>
        values.push(
          single
            ? keyParam(spec, keys[0]!, c, 0, pkTypes[i]!)
            : keys.map((k, row) => keyParam(spec, k, c, row, pkTypes[i]!)),
        ),
      );
    }
    const statement = this.statementFor(
      active.map((r) => r.spec),
      single,
    );
    let result: pg.QueryResult<unknown[]>;
    try {
      result = await this.options.pool.query<unknown[]>({
        name: statement.name,
        text: statement.text,
        values,
        types: TYPES,
        rowMode: 'array',
      });
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === '22P02' || code === '22007' || code === '22008' || code === '22003') {
        throw new ValidationError(
          `online read: a key value does not match its primary-key type (${active.map((r) => `${r.spec.name}: ${r.spec.primaryKey.join(', ')}`).join('; ')}).`,
        );
      }
      throw error;
    }
    // One result row per key position: each group's columns, NULL where the group has no row
    // (its primary-key column, never NULL in the table, tells which).
    const found = active.map((r) => new Array<Record<string, unknown> | undefined>(r.keys.length));
    for (const row of result.rows) {
      const ord = single ? 1 : Number(row[0]);
      active.forEach(({ spec, keys }, g) => {
        if (ord > keys.length) return;
        const offset = statement.offsets[g]!;
        if (row[offset + statement.presence[g]!] === null) return;
        // A copy of the group's template: filling existing properties beats adding each one.
        const out: Record<string, unknown> = { ...statement.templates[g]! };
        spec.features.forEach((f, j) => (out[f.name] = normalize(f.type, row[offset + j])));
        found[g]![ord - 1] = out;
      });
    }
    const byRequest = new Map(active.map((r, position) => [r.index, found[position]!]));
    return requests.map(({ spec, keys }, index) => {
      const rows = byRequest.get(index);
      const ttlMs = spec.online.ttlSeconds === null ? undefined : spec.online.ttlSeconds * 1000;
      return keys.map((key, i) => {
        const values = rows?.[i];
        if (!values) return { key, status: 'missing' as const, values: null };
        const eventTime = values[spec.eventTime];
        const stale =
          ttlMs !== undefined && eventTime instanceof Date && now.getTime() - eventTime.getTime() > ttlMs;
        return { key, status: stale ? ('outside_ttl' as const) : ('present' as const), values };
      });
    });
  }

  private readonly statements = new Map<string, ReadStatement>();

  private keyTypes(spec: FeatureGroupSpec): string[] {
    return spec.primaryKey.map((c) => PG_TYPES[spec.features.find((f) => f.name === c)!.type]);
  }

  /**
   * The one statement reading these groups (built once per combination of group versions, columns
   * and key shape, then reused): one row per key position, each group LEFT JOINed on its primary
   * key, so a lookup of one entity in two groups returns one row. With `single`, the keys are
   * scalar parameters; otherwise arrays unnested together with their position (`_fti_ord`; a
   * shorter array pads with NULL keys, which match nothing). It is a named statement, parsed and
   * planned once per connection. Identifiers are quoted; values only ever travel as parameters.
   */
  private statementFor(specs: readonly FeatureGroupSpec[], single: boolean): ReadStatement {
    const signature = `${single ? '1' : 'n'}|${specs.map((s) => `${s.name}:${s.version}:${s.features.length}`).join('|')}`;
    const cached = this.statements.get(signature);
    if (cached) return cached;
    const key = (g: number, i: number) => `"_fti_k${g}_${i}"`;
    const keyColumns: string[] = [];
    const keyParams: string[] = [];
    let parameter = 0;
    specs.forEach((spec, g) =>
      this.keyTypes(spec).forEach((type, i) => {
        keyColumns.push(key(g, i));
        keyParams.push(single ? `$${++parameter}::${type}` : `$${++parameter}::${type}[]`);
      }),
    );
    const keys = single
      ? `(VALUES (${keyParams.join(', ')})) AS k(${keyColumns.join(', ')})`
      : `unnest(${keyParams.join(', ')}) WITH ORDINALITY AS k(${keyColumns.join(', ')}, "_fti_ord")`;
    const joins = specs.map((spec, g) => {
      const on = spec.primaryKey.map((c, i) => `t${g}.${quoteIdent(c)} = k.${key(g, i)}`).join(' AND ');
      return `LEFT JOIN ${this.table(spec)} t${g} ON ${on}`;
    });
    const columns = specs.flatMap((spec, g) => spec.features.map((f) => `t${g}.${quoteIdent(f.name)}`));
    const offsets: number[] = [];
    let offset = single ? 0 : 1;
    for (const spec of specs) {
      offsets.push(offset);
      offset += spec.features.length;
    }
    const text = `SELECT ${single ? '' : 'k."_fti_ord", '}${columns.join(', ')} FROM ${keys} ${joins.join(' ')}`;
    const statement: ReadStatement = {
      name: `fti_online_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`,
      text,
      offsets,
      presence: specs.map((spec) => spec.features.findIndex((f) => f.name === spec.primaryKey[0])),
      templates: specs.map((spec) => Object.fromEntries(spec.features.map((f) => [f.name, null]))),
    };
    this.statements.set(signature, statement);
    return statement;
  }

  async count(spec: FeatureGroupSpec): Promise<number> {
    await this.ensureTable(spec);
    const result = await this.options.pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM ${this.table(spec)}`,
    );
    return Number(result.rows[0]?.n ?? 0);
  }
}

/** A read statement and where each group's columns start in its result rows. */
interface ReadStatement {
  readonly name: string;
  readonly text: string;
  /** Column index of each group's first feature. */
  readonly offsets: readonly number[];
  /** Per group, the index (among its features) of its first primary-key column: NULL = no row. */
  readonly presence: readonly number[];
  /** Per group, an object with each of its columns (null), in order: rows are copies of it. */
  readonly templates: readonly Readonly<Record<string, null>>[];
}

/** What {@link PostgresOnlineStore.ensureTable} remembers a table by (appended columns change it). */
function ensuredKey(spec: FeatureGroupSpec): string {
  return `${spec.name}:${spec.version}:${spec.features.length}`;
}

function keyParam(
  spec: FeatureGroupSpec,
  key: Readonly<Record<string, unknown>>,
  column: string,
  row: number,
  pgType: string,
): unknown {
  const value = key?.[column];
  if (value === undefined || value === null) {
    throw new ValidationError(
      `online read of ${spec.name} v${spec.version}: key #${row + 1} has no value for primary-key column "${column}".`,
      { location: `keys[${row}].${column}` },
    );
  }
  if (typeof value === 'object' && !(value instanceof Date)) {
    throw new ValidationError(
      `online read of ${spec.name} v${spec.version}: key #${row + 1} column "${column}" must be a ${pgType}, not an object.`,
      { location: `keys[${row}].${column}` },
    );
  }
  return toPgParam(value);
}

/** Makes pg's parsed value match what DuckDB returns offline for the same feature type. */
function normalize(type: FeatureType, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  // real columns hold float32 values: DuckDB returns FLOAT as the exact float32, pg as shortest text.
  if (type === 'float') return Math.fround(Number(value));
  if (type === 'float_array')
    return (value as (number | null)[]).map((x) => (x === null ? null : Math.fround(x)));
  return value;
}

/** The row with the latest event time per primary key (the later one on a tie), in first-seen key order. */
function latestPerKey(
  spec: FeatureGroupSpec,
  rows: readonly Readonly<Record<string, unknown>>[],
): Readonly<Record<string, unknown>>[] {
  const millis = (v: unknown) => (v instanceof Date ? v.getTime() : Date.parse(String(v)));
  const byKey = new Map<string, Readonly<Record<string, unknown>>>();
  for (const row of rows) {
    for (const k of spec.primaryKey) {
      if (row[k] === null || row[k] === undefined)
        throw new ValidationError(`online write to ${spec.name}: a row has no value for primary key "${k}".`);
    }
    const key = JSON.stringify(spec.primaryKey.map((k) => row[k]));
    const held = byKey.get(key);
    if (!held || millis(held[spec.eventTime]) <= millis(row[spec.eventTime])) byKey.set(key, row);
  }
  return [...byKey.values()];
}

function toPgParam(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString().replace('Z', '');
  if (typeof value === 'bigint') return value.toString();
  return value;
}
