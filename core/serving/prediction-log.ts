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

/**
 * Writes prediction logs asynchronously in batches (every `flushMs` or `maxRows`), off the request
 * path. Nothing is dropped silently: a batch Postgres refuses, and the overflow of a full buffer, go
 * to S3 as Parquet (`prediction-logs/spill/<day>/…`, same columns); only when that fails too are
 * rows dropped, and every outcome is counted (`written`, `spilled`, `dropped`, exported as
 * Prometheus counters by the server). Old rows are deleted after `retentionDays`.
 */
export class PredictionLogWriter {
  private buffer: PredictionLogEntry[] = [];
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
    return this.buffer.length;
  }

  log(entry: PredictionLogEntry): void {
    this.buffer.push(this.options.logFeatures === false ? { ...entry, features: {} } : entry);
    const max = this.options.maxBuffer ?? 100_000;
    if (this.buffer.length > max) {
      const overflow = this.buffer.splice(0, this.buffer.length - max);
      this.flushing = this.flushing.then(() => this.spill(overflow));
    }
    if (this.buffer.length >= (this.options.maxRows ?? 1000)) void this.flush();
  }

  /** Writes what is buffered (one INSERT … SELECT FROM unnest per batch); a refused batch is spilled. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      while (this.buffer.length > 0) {
        const batch = this.buffer.splice(0, this.options.maxRows ?? 1000);
        try {
          await this.pool.query(
            `INSERT INTO prediction_logs (deployment, deployment_version, variant, model_version, shadow, request_id, entity, features, prediction, latency_ms, event_time)
             SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::int[], $5::bool[], $6::text[], $7::jsonb[], $8::jsonb[], $9::jsonb[], $10::float8[], $11::timestamptz[])`,
            [
              batch.map((e) => e.deployment),
              batch.map((e) => e.deploymentVersion),
              batch.map((e) => e.variant),
              batch.map((e) => e.modelVersion),
              batch.map((e) => e.shadow),
              batch.map((e) => e.requestId),
              batch.map((e) => JSON.stringify(e.entity)),
              batch.map((e) => JSON.stringify(e.features)),
              batch.map((e) => JSON.stringify(e.prediction)),
              batch.map((e) => e.latencyMs),
              batch.map((e) => e.eventTime ?? null),
            ],
          );
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
  private async spill(rows: readonly PredictionLogEntry[]): Promise<void> {
    if (rows.length === 0) return;
    const spill = this.options.spill;
    if (!spill) return this.count('dropped', rows.length);
    const id = `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomUUID()}`;
    const dir = await fs.promises.mkdtemp(path.join(spill.scratchDir, 'plog-'));
    try {
      const jsonl = path.join(dir, 'rows.jsonl');
      await fs.promises.writeFile(
        jsonl,
        rows
          .map((e) =>
            JSON.stringify({
              deployment: e.deployment,
              deployment_version: e.deploymentVersion,
              variant: e.variant,
              model_version: e.modelVersion,
              shadow: e.shadow,
              request_id: e.requestId,
              entity: JSON.stringify(e.entity),
              features: JSON.stringify(e.features),
              prediction: JSON.stringify(e.prediction),
              latency_ms: e.latencyMs,
              event_time: e.eventTime?.toISOString() ?? null,
              created_at: new Date().toISOString(),
            }),
          )
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
