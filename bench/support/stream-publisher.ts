// Starts the benchmark's publisher (stream-publisher-thread) in a worker thread and reports what it
// achieved and how busy its thread was.
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { FeatureGroupSpec } from '../../core/featurestore';

/** What the publisher thread is asked to do. */
export interface PublisherJob {
  /** `platform`: FeatureEventProducer.send (validation, message ids); `raw`: a plain JetStream publish. */
  readonly mode: 'platform' | 'raw';
  readonly natsUrl: string;
  /** The source group (platform mode). */
  readonly spec?: FeatureGroupSpec;
  /** The subject published to (raw mode; platform mode uses the group's). */
  readonly subject: string;
  /** Events per second, and for how long. */
  readonly rate: number;
  readonly durationMs: number;
  /** Stop after this many events, if sooner. */
  readonly count?: number;
  /** Keys drawn uniformly from 0 … keys − 1. */
  readonly keys: number;
}

/** What the publisher thread did. */
export interface PublisherResult {
  /** Events handed to the connection, and events the stream acknowledged. */
  readonly sent: number;
  readonly acked: number;
  /** When publishing began (ms since epoch). */
  readonly startedAt: number;
  /** Seconds spent publishing (the last acks may arrive a little later). */
  readonly publishSeconds: number;
  /** CPU the publisher thread used, in cores (1.0 = one core for the whole time). */
  readonly threadCores: number;
}

/**
 * Publishes `job` in a worker thread (the compiled thread file next to this one: run from dist/);
 * resolves once every event is acknowledged.
 */
export function runPublisher(job: PublisherJob): Promise<PublisherResult> {
  const file = path.join(__dirname, 'stream-publisher-thread.js');
  const worker = new Worker(file, { workerData: job });
  return new Promise<PublisherResult>((resolve, reject) => {
    worker.once(
      'message',
      (message: { ok: true; result: PublisherResult } | { ok: false; error: string }) => {
        void worker.terminate();
        if (message.ok) resolve(message.result);
        else reject(new Error(`publisher thread failed: ${message.error}`));
      },
    );
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`publisher thread exited (${code}) before reporting`)));
  });
}
