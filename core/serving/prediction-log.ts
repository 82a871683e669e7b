import type pg from 'pg';

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
}

/**
 * Writes prediction logs asynchronously in batches (every `flushMs` or `maxRows`), off the request
 * path. A full buffer drops the oldest entries rather than slowing requests down; `dropped` counts them.
 */
export class PredictionLogWriter {
  private buffer: PredictionLogEntry[] = [];
  private timer: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();
  dropped = 0;
  written = 0;

  constructor(
    private readonly pool: pg.Pool,
    private readonly options: { flushMs?: number; maxRows?: number; maxBuffer?: number } = {},
  ) {
    this.timer = setInterval(() => void this.flush(), options.flushMs ?? 500);
    this.timer.unref();
  }

  log(entry: PredictionLogEntry): void {
    this.buffer.push(entry);
    const max = this.options.maxBuffer ?? 100_000;
    if (this.buffer.length > max) {
      this.dropped += this.buffer.length - max;
      this.buffer.splice(0, this.buffer.length - max);
    }
    if (this.buffer.length >= (this.options.maxRows ?? 1000)) void this.flush();
  }

  /** Writes what is buffered (one INSERT … SELECT FROM unnest per batch). */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      while (this.buffer.length > 0) {
        const batch = this.buffer.splice(0, this.options.maxRows ?? 1000);
        try {
          await this.pool.query(
            `INSERT INTO prediction_logs (deployment, deployment_version, variant, model_version, shadow, request_id, entity, features, prediction, latency_ms)
             SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::int[], $5::bool[], $6::text[], $7::jsonb[], $8::jsonb[], $9::jsonb[], $10::float8[])`,
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
            ],
          );
          this.written += batch.length;
        } catch {
          // Logging must never break serving; a failed batch is counted and dropped.
          this.dropped += batch.length;
        }
      }
    });
    return this.flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
