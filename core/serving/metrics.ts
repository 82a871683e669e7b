import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Prometheus metrics of an inference server (one registry per server, scraped at /metrics). */
export class ServingMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'fti_requests_total',
    help: 'Inference requests by deployment, variant, route and status code',
    labelNames: ['deployment', 'variant', 'route', 'status'],
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: 'fti_request_seconds',
    help: 'Latency by deployment and stage (features, transform+model, total)',
    labelNames: ['deployment', 'variant', 'stage'],
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly predictions = new Counter({
    name: 'fti_predictions_total',
    help: 'Predictions served (instances) by deployment and variant; shadow scores included with shadow="true"',
    labelNames: ['deployment', 'variant', 'shadow'],
    registers: [this.registry],
  });
  readonly unavailable = new Counter({
    name: 'fti_unavailable_total',
    help: 'Requests answered 503 because a dependency (postgres, s3) was unreachable',
    labelNames: ['dependency'],
    registers: [this.registry],
  });
  readonly predictionLogRows = new Counter({
    name: 'fti_prediction_log_rows_total',
    help: 'Logged predictions by outcome: written to Postgres, spilled to S3 Parquet, or dropped (both failed)',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  /** Set by the server: rows waiting in the prediction log buffer (read at each scrape). */
  predictionLogBuffer: (() => number) | undefined;
  readonly predictionLogBuffered = new Gauge({
    name: 'fti_prediction_log_buffered_rows',
    help: 'Predictions waiting in memory to be logged',
    registers: [this.registry],
    collect: () => {
      if (this.predictionLogBuffer) this.predictionLogBuffered.set(this.predictionLogBuffer());
    },
  });
  /** Set by the server: whether its LISTEN connection is up right now (read at each scrape). */
  listenerUp: (() => boolean) | undefined;
  readonly listenerConnected = new Gauge({
    name: 'fti_deployment_listener_connected',
    help: '1 while the LISTEN connection for deployment changes is up, 0 while it reconnects',
    registers: [this.registry],
    collect: () => {
      if (this.listenerUp) this.listenerConnected.set(this.listenerUp() ? 1 : 0);
    },
  });
}
