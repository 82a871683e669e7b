import type pg from 'pg';
import { Backoff, type BackoffOptions } from '../backoff';

/** Where a {@link PgListener} stands. */
export type ListenerState = 'idle' | 'connected' | 'reconnecting' | 'closed';

/** Options of {@link PgListener}. */
export interface PgListenerOptions {
  /** Pool the LISTEN connection is taken from (it is held, not returned, while connected). */
  readonly pool: pg.Pool;
  /** Channels to LISTEN on; each must be a plain lower-case identifier. */
  readonly channels: readonly string[];
  /** Called for every notification on one of the channels. Must not throw. */
  readonly onNotification: (channel: string, payload: string | undefined) => void;
  /**
   * Called after every successful (re)subscription, before notifications are relied upon. After a
   * reconnect (`reconnected: true`) notifications sent while the connection was down are lost, so
   * this is where the caller re-reads the state it keeps. Its failure is reported to `onError` and
   * does not drop the connection.
   */
  readonly onConnected?: (event: { reconnected: boolean }) => void | Promise<void>;
  /** Called when the connection is lost, a reconnect fails or `onConnected` fails. */
  readonly onError?: (error: unknown, state: ListenerState) => void;
  /** Reconnect delays. @default { initialMs: 250, maxMs: 15000, multiplier: 2, jitter: 0.5 } */
  readonly backoff?: BackoffOptions;
  /**
   * Probe the held connection with `SELECT 1` this often, so a silently dead connection (a network
   * partition sends no error) is noticed and replaced. 0 disables. @default 15000
   */
  readonly healthCheckMs?: number;
}

const CHANNEL = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * A PostgreSQL LISTEN subscription that survives server restarts and network failures.
 *
 * Guarantees:
 * - a lost connection never crashes the process (the held client always has an `'error'` handler);
 * - it reconnects by itself with capped, jittered exponential backoff, forever, until `close()`;
 * - after each reconnect it LISTENs again and calls `onConnected({ reconnected: true })`, so the
 *   caller re-reads what it may have missed (NOTIFY is not queued for absent listeners);
 * - `state` tells readiness checks whether notifications are currently being received.
 *
 * `start()` makes the first connection and rejects if it fails (a wrong URL is reported at startup);
 * only later losses are retried.
 */
export class PgListener {
  private client: pg.PoolClient | undefined;
  private currentState: ListenerState = 'idle';
  private retryTimer: NodeJS.Timeout | undefined;
  private healthTimer: NodeJS.Timeout | undefined;
  private readonly backoff: Backoff;
  private reconnectCount = 0;

  constructor(private readonly options: PgListenerOptions) {
    for (const channel of options.channels)
      if (!CHANNEL.test(channel))
        throw new RangeError(
          `LISTEN channel ${JSON.stringify(channel)} must be a lower-case identifier ([a-z_][a-z0-9_]*)`,
        );
    this.backoff = new Backoff({ initialMs: 250, maxMs: 15_000, ...options.backoff });
  }

  /** Current state: `connected` while notifications flow, `reconnecting` during an outage. */
  get state(): ListenerState {
    return this.currentState;
  }

  /** How many times the connection was re-established after a loss. */
  get reconnects(): number {
    return this.reconnectCount;
  }

  /** Connects and subscribes once; rejects when that first attempt fails. */
  async start(): Promise<void> {
    if (this.currentState !== 'idle') throw new Error('PgListener.start() may be called once');
    await this.connect(false);
    const every = this.options.healthCheckMs ?? 15_000;
    if (every > 0) {
      this.healthTimer = setInterval(() => void this.probe(), every);
      this.healthTimer.unref();
    }
  }

  /** Unsubscribes and releases the connection; no reconnect happens afterwards. */
  async close(): Promise<void> {
    this.currentState = 'closed';
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.healthTimer) clearInterval(this.healthTimer);
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    await client.query('UNLISTEN *').catch(() => undefined);
    client.release();
  }

  private async connect(reconnected: boolean): Promise<void> {
    const client = await this.options.pool.connect();
    // Attached before anything else: an 'error' event without a listener would crash the process.
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client, new Error('LISTEN connection ended')));
    client.on('notification', (message) => {
      if (this.client === client && this.options.channels.includes(message.channel))
        this.options.onNotification(message.channel, message.payload);
    });
    try {
      // Channel names were validated in the constructor; LISTEN takes no parameters.
      for (const channel of this.options.channels) await client.query(`LISTEN ${channel}`);
    } catch (error) {
      client.release(error instanceof Error ? error : new Error(String(error)));
      throw error;
    }
    if (this.currentState === 'closed') {
      client.release();
      return;
    }
    this.client = client;
    this.currentState = 'connected';
    this.backoff.reset();
    if (reconnected) this.reconnectCount++;
    try {
      await this.options.onConnected?.({ reconnected });
    } catch (error) {
      this.options.onError?.(error, this.currentState);
    }
  }

  /** The held connection failed: drop it (destroying the socket) and schedule a reconnect. */
  private lost(client: pg.PoolClient, error: unknown): void {
    if (this.client !== client) return; // a stale client, or the second of 'error' + 'end'
    this.client = undefined;
    try {
      client.release(error instanceof Error ? error : new Error(String(error)));
    } catch {
      // already released by the pool
    }
    if (this.currentState === 'closed') return;
    this.currentState = 'reconnecting';
    this.options.onError?.(error, this.currentState);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.currentState === 'closed' || this.retryTimer) return;
    const delay = this.backoff.next();
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.currentState === 'closed') return;
      this.connect(true).catch((error: unknown) => {
        this.options.onError?.(error, this.currentState);
        this.scheduleReconnect();
      });
    }, delay);
    this.retryTimer.unref();
  }

  private async probe(): Promise<void> {
    const client = this.client;
    if (!client) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('LISTEN connection health check timed out')), 5000);
    });
    try {
      await Promise.race([client.query('SELECT 1'), timeout]);
    } catch (error) {
      this.lost(client, error);
    } finally {
      clearTimeout(timer);
    }
  }
}
