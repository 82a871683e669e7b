import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { StreamPartitionStatus } from './partition-runner';

/**
 * Prometheus metrics of the streaming consumers running in this process, labelled by pipeline and
 * partition. The features worker serves them at `/metrics` on `FTI_METRICS_PORT`.
 */
export class StreamMetrics {
  readonly registry = new Registry();
  readonly events = new Counter({
    name: 'fti_stream_events_total',
    help: 'Events of the partition processed (on time and valid)',
    labelNames: ['pipeline', 'partition'],
    registers: [this.registry],
  });
  readonly deadLetters = new Counter({
    name: 'fti_stream_dead_letters_total',
    help: 'Events sent to the dead-letter stream, by reason (undecodable, invalid, late, invalid_output)',
    labelNames: ['pipeline', 'partition', 'reason'],
    registers: [this.registry],
  });
  readonly lag = new Gauge({
    name: 'fti_stream_lag_events',
    help: 'Events stored in the stream and not yet processed by the partition',
    labelNames: ['pipeline', 'partition'],
    registers: [this.registry],
  });
  readonly position = new Gauge({
    name: 'fti_stream_checkpoint_position',
    help: 'Stream sequence of the last checkpoint',
    labelNames: ['pipeline', 'partition'],
    registers: [this.registry],
  });
  readonly lastCommit = new Gauge({
    name: 'fti_stream_last_offline_commit_timestamp_seconds',
    help: 'When the last offline micro-batch commit completed (Unix time)',
    labelNames: ['pipeline', 'partition'],
    registers: [this.registry],
  });
  readonly freshness = new Histogram({
    name: 'fti_stream_freshness_seconds',
    help: 'Event time to row visible in the online store',
    labelNames: ['pipeline', 'partition'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600],
    registers: [this.registry],
  });

  /** Records the figures of a status report (gauges) — counters are fed as events happen. */
  report(status: StreamPartitionStatus): void {
    const labels = { pipeline: status.pipeline, partition: String(status.partition) };
    this.lag.set(labels, status.lag);
    this.position.set(labels, status.position);
    if (status.counters.lastCommitAt)
      this.lastCommit.set(labels, Date.parse(status.counters.lastCommitAt) / 1000);
  }
}

/** The process's streaming metrics (one registry per process, like the consumers it describes). */
export const streamMetrics = new StreamMetrics();
