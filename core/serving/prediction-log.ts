import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { sqlPath, withDuck } from '../duckdb';
import { joinKey, type ObjectStore } from '../storage';

/** One logged prediction. */
export interface PredictionLogEntry {
  readonly deployment: string;
  readonly deploymentVersion: number;
  readonly variant: string;
  readonly modelVersion: number;
  readonly shadow: boolean;
  readonly requestId: string;
  readonly entity: unknown;
  readonly features: unknown;
  readonly prediction: unknown;
  readonly latencyMs: number;
  /** When the predicted event happened, if the client said; labels join on it (else on the log time). */
  readonly eventTime?: Date;
}

/** Where logged rows ended: in Postgres, spilled to S3 Parquet, or (only if both failed) dropped. */
export type PredictionLogOutcome = 'written' | 'spilled' | 'dropped';

/** Options of {@link PredictionLogWriter}. */
export interface PredictionLogOptions {
  /** Flush at least this often. @default 500 ms */
  readonly flushMs?: number;
  /** Rows per INSERT. @default 1000 */
  readonly maxRows?: number;
  /** Rows held in memory; beyond it the oldest are spilled to S3 (or dropped without a store). @default 100 000 */
  readonly maxBuffer?: number;
  /** Log feature values (false: features are logged as `{}`, e.g. for personal data). @default true */
  readonly logFeatures?: boolean;
  /** Where rows go when Postgres cannot take them: Parquet under `prediction-logs/spill/` in this store. */
  readonly spill?: { readonly store: ObjectStore; readonly scratchDir: string };
  /** Delete logged rows older than this many days, hourly (0 or undefined: keep forever). */
  readonly retentionDays?: number;
  /** Called with every outcome (metrics). */
  readonly onOutcome?: (outcome: PredictionLogOutcome, rows: number) => void;
}

/** A logged prediction as its database row, serialized once when logged (JSON, column names). */
type SerializedRow = string;

/**
 * The statement writing one batch: the batch travels as one JSON array (one text parameter) that
 * Postgres turns back into rows. Serializing each row once when it is logged spreads the cost over
 * the requests; joining them at flush time is cheap, so a flush never holds the event loop for the
 * milliseconds that escaping three JSON strings per row into Postgres array literals took.
 */
const INSERT_BATCH = `INSERT INTO prediction_logs (deployment, deployment_version, variant, model_version, shadow, request_id, entity, features, prediction, latency_ms, event_time)
  SELECT deployment, deployment_version, variant, model_version, shadow, request_id, entity, features, prediction, latency_ms, event_time
  FROM json_to_recordset($1::json) AS r(deployment text, deployment_version int, variant text, model_version int, shadow bool, request_id text, entity jsonb, features jsonb, prediction jsonb, latency_ms float8, event_time timestamptz)`;

/**
 * Writes prediction logs asynchronously in batches (every `flushMs` or `maxRows`), off the request
 * path. Nothing is dropped silently: a batch Postgres refuses, and the overflow of a full buffer, go
 * to S3 as Parquet (`prediction-logs/spill/<day>/…`, same columns); only when that fails too are
 * rows dropped, and every outcome is counted (`written`, `spilled`, `dropped`, exported as
 * Prometheus counters by the server). Old rows are deleted after `retentionDays`.
 */
export class PredictionLogWriter {
  private buffer: SerializedRow[] = [];
  /** Entries logged in this turn of the event loop, serialized together right after it. */
  private pending: PredictionLogEntry[] = [];
  private serializeScheduled = false;
  private readonly timer: NodeJS.Timeout;
  private readonly retention: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  dropped = 0;
  written = 0;
  spilled = 0;

  constructor(
    private readonly pool: pg.Pool,
    private readonly options: PredictionLogOptions = {},
  ) {
    this.timer = setInterval(() => void this.flush(), options.flushMs ?? 500);
    this.timer.unref();
    if (options.retentionDays) {
      this.retention = setInterval(() => void this.prune().catch(() => undefined), 3_600_000);
      this.retention.unref();
    }
  }

  /** Rows waiting to be written. */
  get buffered(): number {
    return this.buffer.length + this.pending.length;
  }

  /**
   * Queues one prediction. It is serialized once the current callbacks have run (after the
   * response it belongs to is written, so a request does not wait for its own log row): the caller
   * must not change the entry's objects afterwards. Values JSON cannot hold (NaN, ±Infinity) are
   * logged as null, as before.
   */
  log(entry: PredictionLogEntry): void {
    this.pending.push(entry);
    if (!this.serializeScheduled) {
      this.serializeScheduled = true;
      setImmediate(() => this.serializePending());
    }
  }

  /** Serializes the queued entries into the buffer; spills a full buffer's overflow; flushes a full batch. */
  private serializePending(): void {
    this.serializeScheduled = false;
    if (this.pending.length === 0) return;
    const entries = this.pending;
    this.pending = [];
    for (const entry of entries) {
      // An entry JSON cannot hold (a BigInt, a cycle, an invalid date) is counted as dropped:
      // throwing here, outside any request, would end the process.
      let row: string;
      try {
        row = JSON.stringify({
          deployment: entry.deployment,
          deployment_version: entry.deploymentVersion,
          variant: entry.variant,
          model_version: entry.modelVersion,
          shadow: entry.shadow,
          request_id: entry.requestId,
          entity: entry.entity ?? null,
          features: this.options.logFeatures === false ? {} : (entry.features ?? null),
          prediction: entry.prediction ?? null,
          latency_ms: entry.latencyMs,
          event_time: entry.eventTime?.toISOString() ?? null,
        });
      } catch (error) {
        process.stderr.write(
          `prediction log: dropped an entry of ${entry.deployment} that cannot be serialized: ${(error as Error).message}\n`,
        );
        this.count('dropped', 1);
        continue;
      }
      this.buffer.push(row);
    }
    const max = this.options.maxBuffer ?? 100_000;
    if (this.buffer.length > max) {
      const overflow = this.buffer.splice(0, this.buffer.length - max);
      this.flushing = this.flushing.then(() => this.spill(overflow));
    }
    if (this.buffer.length >= (this.options.maxRows ?? 1000)) void this.flush();
  }

  /** Writes what is buffered (one INSERT … FROM json_to_recordset per batch); a refused batch is spilled. */
  flush(): Promise<void> {
    this.serializePending();
    this.flushing = this.flushing.then(async () => {
      while (this.buffer.length > 0) {
        const batch = this.buffer.splice(0, this.options.maxRows ?? 1000);
        try {
          await this.pool.query(INSERT_BATCH, [`[${batch.join(',')}]`]);
          this.count('written', batch.length);
        } catch {
          // Logging must never break serving: the batch goes to S3 instead.
          await this.spill(batch);
        }
      }
    });
    return this.flushing;
  }

  /**
   * Deletes logged rows older than `retentionDays` (or `days`), in chunks so no statement holds
   * locks long. Returns the rows deleted.
   */
  async prune(days = this.options.retentionDays ?? 0): Promise<number> {
    if (!(days > 0)) return 0;
    let total = 0;
    for (;;) {
      const result = await this.pool.query(
        `DELETE FROM prediction_logs WHERE id IN (
           SELECT id FROM prediction_logs WHERE created_at < now() - make_interval(days => $1) LIMIT 10000)`,
        [days],
      );
      total += result.rowCount ?? 0;
      if ((result.rowCount ?? 0) < 10000) return total;
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    if (this.retention) clearInterval(this.retention);
    await this.flush();
  }

  private count(outcome: PredictionLogOutcome, rows: number): void {
    if (outcome === 'written') this.written += rows;
    else if (outcome === 'spilled') this.spilled += rows;
    else this.dropped += rows;
    this.options.onOutcome?.(outcome, rows);
  }

  /** Writes `rows` as one Parquet file to the spill store; counts them dropped when that fails. */
  private async spill(rows: readonly SerializedRow[]): Promise<void> {
    if (rows.length === 0) return;
    const spill = this.options.spill;
    if (!spill) return this.count('dropped', rows.length);
    const id = `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomUUID()}`;
    const dir = await fs.promises.mkdtemp(path.join(spill.scratchDir, 'plog-'));
    try {
      const jsonl = path.join(dir, 'rows.jsonl');
      const createdAt = new Date().toISOString();
      // The spill layout keeps entity, features and prediction as JSON text columns.
      await fs.promises.writeFile(
        jsonl,
        rows
          .map((text) => {
            const row = JSON.parse(text) as Record<string, unknown>;
            return JSON.stringify({
              ...row,
              entity: JSON.stringify(row.entity),
              features: JSON.stringify(row.features),
              prediction: JSON.stringify(row.prediction),
              created_at: createdAt,
            });
          })
          .join('\n'),
      );
      const parquet = path.join(dir, 'rows.parquet');
      await withDuck((duck) =>
        duck.run(
          `COPY (SELECT * FROM read_json(${sqlPath(jsonl)}, format = 'newline_delimited', columns = {
             deployment: 'VARCHAR', deployment_version: 'INTEGER', variant: 'VARCHAR', model_version: 'INTEGER',
             shadow: 'BOOLEAN', request_id: 'VARCHAR', entity: 'VARCHAR', features: 'VARCHAR', prediction: 'VARCHAR',
             latency_ms: 'DOUBLE', event_time: 'TIMESTAMPTZ', created_at: 'TIMESTAMPTZ'}))
           TO ${sqlPath(parquet)} (FORMAT parquet, COMPRESSION zstd)`,
        ),
      );
      await spill.store.putFile(
        joinKey('prediction-logs', 'spill', id.slice(0, 10), `${id}.parquet`),
        parquet,
      );
      this.count('spilled', rows.length);
    } catch (error) {
      this.count('dropped', rows.length);
      process.stderr.write(
        `prediction log: ${rows.length} rows could be written neither to Postgres nor to S3 (${(error as Error).message.split('\n')[0]})\n`,
      );
    } finally {
      await fs.promises.rm(dir, { recursive: true, force: true });
    }
  }
}
