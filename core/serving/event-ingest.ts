import type { NatsConnection } from '@nats-io/transport-node';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { loadConfig, redactUrl } from '../config';
import type { Database } from '../db';
import { ServiceUnavailableError, ValidationError } from '../errors';
import {
  assertWritableGroup,
  FeatureGroupNotFoundError,
  getFeatureGroup,
  type FeatureGroupSpec,
} from '../featurestore';
import {
  connectJetStream,
  eventStreamNames,
  FeatureEventProducer,
  validateFeatureEvent,
  type FeatureEvent,
} from '../streaming';

/** Options of the push endpoint (`POST /v1/feature-groups/:name/events`). */
export interface EventIngestOptions {
  /** NATS server (JetStream enabled) carrying the event streams. @default `NATS_URL` (see `fti config`) */
  readonly natsUrl?: string;
  /** Most events in one request. @default 10000 */
  readonly maxEvents?: number;
  /** Largest request body of the route, in bytes. @default 16 MiB */
  readonly bodyLimit?: number;
  /** How long a feature group's schema is reused before it is read again. @default 5000 */
  readonly specCacheMs?: number;
}

/** What a successful push did: every event is stored in the group's stream. */
export interface IngestResult {
  readonly featureGroup: string;
  readonly version: number;
  readonly stream: string;
  readonly accepted: number;
  /** Events the stream already held (a resent request): acknowledged, not stored twice. */
  readonly duplicates: number;
  /** Stream sequence of each event, in request order (a resent event keeps its first sequence). */
  readonly sequences: readonly number[];
}

/** One refused event of a push request. */
export interface EventProblem {
  /** 0-based position of the event in the request (`events[index]`). */
  readonly index: number;
  /** The field at fault, when one is (absent when the event is not an object). */
  readonly field: string | null;
  readonly error: string;
}

/** Problems listed per refused request (the first is also the error's message). */
const MAX_PROBLEMS = 20;

/** A push request holds invalid events; nothing of it was published. Answered with 422. */
export class EventsRejectedError extends ValidationError {
  constructor(readonly problems: readonly EventProblem[]) {
    super(problems[0]!.error, {
      location: `events[${problems[0]!.index}]${problems[0]!.field ? `.${problems[0]!.field}` : ''}`,
    });
  }
}

/** A push request holds more events than the service takes at once. Answered with 413. */
export class EventBatchTooLargeError extends ValidationError {
  constructor(
    readonly events: number,
    readonly maxEvents: number,
  ) {
    super(`a request holds at most ${maxEvents} events, this one ${events}; split it into several requests.`);
  }
}

/**
 * The push endpoint's logic: finds the group version (schemas cached briefly), validates every
 * event of a request before publishing any, then publishes them through {@link FeatureEventProducer}
 * (the stream is created when missing) and answers once JetStream stored them all. NATS is
 * connected on first use, so the service starts and predicts while NATS is down; the connection
 * then reconnects by itself, and while it is away pushes fail fast with a
 * {@link ServiceUnavailableError} naming `nats`.
 */
export class EventIngest {
  private readonly natsUrl: string;
  private readonly maxEvents: number;
  private readonly specCacheMs: number;
  private readonly specs = new Map<string, { spec: FeatureGroupSpec; expires: number }>();
  private readonly producers = new Map<string, FeatureEventProducer>();
  private connection: Promise<NatsConnection> | undefined;
  private connected = false;
  private lastFailure: { at: number; error: unknown } | undefined;
  private closed = false;

  constructor(
    private readonly db: Database,
    options: EventIngestOptions = {},
  ) {
    this.natsUrl = options.natsUrl ?? loadConfig().natsUrl;
    this.maxEvents = options.maxEvents ?? 10_000;
    this.specCacheMs = options.specCacheMs ?? 5000;
  }

  /**
   * Validates and publishes one request's events (`body`: one event object, or `{ "events": [...] }`).
   * Throws {@link FeatureGroupNotFoundError}, {@link EventsRejectedError} (nothing published),
   * {@link EventBatchTooLargeError}, {@link ValidationError} for a malformed body, or {@link ServiceUnavailableError} (`nats`) when
   * the events could not all be stored — resending the same request is then safe, as events already
   * stored are recognised by their content and not stored twice.
   */
  async ingest(request: {
    readonly featureGroup: string;
    readonly version?: number;
    readonly body: unknown;
  }): Promise<IngestResult> {
    const events = this.eventsOf(request.body);
    const spec = await this.spec(request.featureGroup, request.version);
    const where = (i: number) => (isBatch(request.body) ? `events[${i}]` : 'event');
    const checked: FeatureEvent[] = [];
    const problems: EventProblem[] = [];
    events.forEach((event, i) => {
      try {
        checked.push(validateFeatureEvent(spec, event, where(i)));
      } catch (error) {
        if (!(error instanceof ValidationError)) throw error;
        if (problems.length < MAX_PROBLEMS) problems.push(problemOf(error, i, where(i)));
      }
    });
    if (problems.length > 0) throw new EventsRejectedError(problems);

    const producer = await this.producer(spec);
    let sent: { sequences: readonly number[]; duplicates: number };
    try {
      sent = await producer.sendValidated(checked);
    } catch (error) {
      throw new ServiceUnavailableError(
        'nats',
        `JetStream did not store the events of ${producer.stream.stream}: ${(error as Error).message}. Resending the same events is safe.`,
        { cause: error },
      );
    }
    return {
      featureGroup: spec.name,
      version: spec.version,
      stream: producer.stream.stream,
      accepted: sent.sequences.length,
      duplicates: sent.duplicates,
      sequences: sent.sequences,
    };
  }

  /** Closes the NATS connection, if one was opened. */
  async close(): Promise<void> {
    this.closed = true;
    const connection = this.connection;
    this.connection = undefined;
    const nc = await connection?.catch(() => undefined);
    await nc?.close().catch(() => undefined);
  }

  private eventsOf(body: unknown): readonly unknown[] {
    if (!isBatch(body)) {
      if (typeof body !== 'object' || body === null || Array.isArray(body))
        throw new ValidationError(
          'request body must be one event (a JSON object of feature values) or {"events": [ ... ]}.',
        );
      return [body];
    }
    const events = (body as { events: unknown[] }).events;
    if (events.length === 0) throw new ValidationError('"events" is empty; send at least one event.');
    if (events.length > this.maxEvents) throw new EventBatchTooLargeError(events.length, this.maxEvents);
    return events;
  }

  private async spec(name: string, version: number | undefined): Promise<FeatureGroupSpec> {
    // Names that cannot be feature groups never reach the database (nor a stream name).
    if (!/^[a-z][a-z0-9_]{0,62}$/.test(name)) throw new FeatureGroupNotFoundError(name, version, []);
    const key = `${name}@${version ?? 'latest'}`;
    const cached = this.specs.get(key);
    if (cached && cached.expires > Date.now()) return cached.spec;
    const { spec } = await getFeatureGroup(this.db, name, version);
    assertWritableGroup(spec, 'the event push endpoint');
    if (this.specs.size > 1000) this.specs.clear();
    this.specs.set(key, { spec, expires: Date.now() + this.specCacheMs });
    return spec;
  }

  private async producer(spec: FeatureGroupSpec): Promise<FeatureEventProducer> {
    const nc = await this.nats();
    const { stream } = eventStreamNames(spec.name, spec.version);
    let producer = this.producers.get(stream);
    if (!producer) {
      producer = new FeatureEventProducer(nc, spec);
      this.producers.set(stream, producer);
    }
    return producer;
  }

  /** The shared connection, opened on first use; fails fast while NATS is unreachable. */
  private async nats(): Promise<NatsConnection> {
    if (this.closed) throw new ServiceUnavailableError('nats', 'the service is shutting down.');
    if (!this.connection) {
      // After a failed attempt, refuse for a second instead of letting every request try again.
      if (this.lastFailure && Date.now() - this.lastFailure.at < 1000) throw this.lastFailure.error;
      this.connection = connectJetStream({ url: this.natsUrl, name: 'fti-inference-service' }).then(
        (nc) => {
          this.connected = true;
          this.producers.clear();
          void this.watch(nc);
          return nc;
        },
        (error: unknown) => {
          this.connection = undefined;
          this.lastFailure = { at: Date.now(), error };
          throw error;
        },
      );
    }
    const nc = await this.connection;
    if (!this.connected)
      throw new ServiceUnavailableError(
        'nats',
        `NATS at ${redactUrl(this.natsUrl, { hideUser: true })} is disconnected; the service reconnects by itself.`,
      );
    return nc;
  }

  /** Follows the connection's state: publishes are refused at once while it is reconnecting. */
  private async watch(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') this.connected = false;
      else if (status.type === 'reconnect') this.connected = true;
    }
    // The iterator ends when the connection closed for good: open a new one on the next push.
    this.connected = false;
    if (!this.closed) this.connection = undefined;
  }
}

function isBatch(body: unknown): body is { events: unknown[] } {
  return (
    typeof body === 'object' &&
    body !== null &&
    !Array.isArray(body) &&
    Object.keys(body).length === 1 &&
    Array.isArray((body as { events?: unknown }).events)
  );
}

function problemOf(error: ValidationError, index: number, where: string): EventProblem {
  const location = error.location ?? where;
  return {
    index,
    field: location.startsWith(`${where}.`) ? location.slice(where.length + 1) : null,
    error: error.message,
  };
}

/** What {@link registerEventRoutes} needs from the server. */
export interface EventRouteDeps {
  readonly ingest: EventIngest;
  /** Throws (401) unless the request carries a valid API key. */
  readonly authenticate: (request: FastifyRequest) => Promise<unknown>;
  /** @default 16 MiB */
  readonly bodyLimit?: number;
}

/**
 * `POST /v1/feature-groups/:name/events[?version=N]` (default: the latest version): 202 with
 * {@link IngestResult} once every event is stored; 422 `{ error, index, field, errors }` when any
 * event is invalid (nothing published); 404 for an unknown group or version; 413 past `maxEvents`;
 * 400 for a malformed body or version. Outages propagate to the server's handler (503 + Retry-After naming `nats`).
 */
export function registerEventRoutes(app: FastifyInstance, deps: EventRouteDeps): void {
  app.post<{ Params: { name: string }; Querystring: { version?: string } }>(
    '/v1/feature-groups/:name/events',
    { bodyLimit: deps.bodyLimit ?? 16 * 1024 * 1024 },
    async (request, reply) => {
      await deps.authenticate(request);
      const version = request.query.version;
      if (version !== undefined && !/^[1-9]\d{0,8}$/.test(version))
        throw new ValidationError(`?version must be a positive integer, got "${version}".`);
      try {
        const result = await deps.ingest.ingest({
          featureGroup: request.params.name,
          version: version === undefined ? undefined : Number(version),
          body: request.body,
        });
        void reply.status(202);
        return result;
      } catch (error) {
        if (error instanceof EventsRejectedError) {
          const [first] = error.problems;
          return reply
            .status(422)
            .send({ error: first!.error, index: first!.index, field: first!.field, errors: error.problems });
        }
        if (error instanceof FeatureGroupNotFoundError)
          return reply.status(404).send({ error: error.message });
        if (error instanceof EventBatchTooLargeError) return reply.status(413).send({ error: error.message });
        throw error;
      }
    },
  );
}
