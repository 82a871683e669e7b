import type pg from 'pg';
import { PgListener, type ListenerState } from '../db/listener';
import { DEPLOYMENT_CHANNEL, getDeployment, type Binding } from './deployments';
import { LoadedBinding, type ScorerDeps } from './scorer';

/** One variant of an active deployment: its binding (weight, shadow) and the loaded scorer. */
export interface ActiveVariant {
  readonly binding: Binding;
  readonly scorer: LoadedBinding;
  readonly weight: number;
  readonly shadow: boolean;
}

/** A deployment version ready to serve: every variant's binding loaded and warm. */
export interface ActiveDeployment {
  readonly name: string;
  readonly version: number;
  readonly missing: 'error' | 'null';
  readonly variants: readonly ActiveVariant[];
}

const bindingKey = (b: Binding) => `${b.model.id}:${b.featureView.id}:${b.trainingDataset.id}`;

/**
 * The deployments a server serves, kept in memory. A change (Postgres NOTIFY on
 * `fti_deployments`, or a poll) loads and warms the new version's bindings first and then swaps the
 * pointer, so requests in flight finish on the old version and none fail. Bindings of the previous
 * version stay loaded, so a rollback is instant.
 */
export class DeploymentRuntime {
  private readonly active = new Map<string, ActiveDeployment>();
  private readonly loading = new Map<string, Promise<ActiveDeployment>>();
  /** A refresh asked for while one was loading: it reads again once that one ends. */
  private readonly queued = new Map<string, Promise<ActiveDeployment>>();
  private readonly loaded = new Map<string, LoadedBinding>();
  private listener: PgListener | undefined;
  private poller: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: ScorerDeps,
    private readonly onChange?: (name: string, version: number) => void,
  ) {}

  /** The deployment's active version, loading it on first use. */
  /** Names of the deployments loaded and serving in this process. */
  get activeDeployments(): string[] {
    return [...this.active.keys()];
  }

  async get(name: string): Promise<ActiveDeployment> {
    return this.active.get(name) ?? this.refresh(name);
  }

  /**
   * Loads the current version (if it changed) and swaps it in once warm. A refresh asked for while
   * one is loading runs again after it: the loading one may have read the deployment just before
   * the change that triggered this call (a NOTIFY during a poll's load), and returning its stale
   * answer would leave the old version serving until the next poll.
   */
  async refresh(name: string): Promise<ActiveDeployment> {
    const pending = this.loading.get(name);
    if (pending) {
      const queued = this.queued.get(name);
      if (queued) return queued;
      const again = pending
        .catch(() => undefined)
        .then(() => {
          this.queued.delete(name);
          return this.refresh(name);
        });
      this.queued.set(name, again);
      return again;
    }
    const work = (async () => {
      const info = await getDeployment(this.deps.db, name);
      const current = this.active.get(name);
      if (current && current.version === info.current.version) return current;
      const variants: ActiveVariant[] = [];
      for (const b of info.current.bindings) {
        const key = bindingKey(b);
        let scorer = this.loaded.get(key);
        if (!scorer) {
          scorer = await LoadedBinding.load(this.deps, b);
          this.loaded.set(key, scorer);
        }
        variants.push({ binding: b, scorer, weight: b.weight, shadow: b.shadow });
      }
      const next: ActiveDeployment = {
        name,
        version: info.current.version,
        missing: info.current.missingFeaturePolicy,
        variants,
      };
      this.active.set(name, next);
      this.prune(name, current, next);
      this.onChange?.(name, next.version);
      return next;
    })();
    this.loading.set(name, work);
    try {
      return await work;
    } finally {
      this.loading.delete(name);
    }
  }

  /** Keeps the bindings of every deployment's current and previous version loaded; releases the rest. */
  private prune(name: string, previous: ActiveDeployment | undefined, next: ActiveDeployment): void {
    if (previous && previous.version !== next.version)
      this.previousKeys.set(
        name,
        previous.variants.map((v) => bindingKey(v.binding)),
      );
    const keep = new Set<string>();
    for (const a of this.active.values()) for (const v of a.variants) keep.add(bindingKey(v.binding));
    for (const keys of this.previousKeys.values()) for (const k of keys) keep.add(k);
    for (const [key, loaded] of this.loaded)
      if (!keep.has(key)) {
        this.loaded.delete(key);
        // Requests still running on it finish first; sessions are cheap to keep a moment longer.
        setTimeout(() => void loaded.release(), 30_000).unref();
      }
  }

  private readonly previousKeys = new Map<string, string[]>();

  /** Whether `name` is a deployment this server has loaded (it exists and was served). */
  has(name: string): boolean {
    return this.active.has(name);
  }

  /** Names of the deployments loaded so far. */
  names(): string[] {
    return [...this.active.keys()];
  }

  /**
   * Listens for deployment changes (Postgres LISTEN) and polls every `pollMs` as a fallback. The
   * LISTEN connection survives PostgreSQL restarts: it reconnects with backoff and, after each
   * reconnect, re-reads every active deployment (a NOTIFY sent while it was down is lost).
   * Rejects only when the first connection fails.
   */
  async watch(
    pool: pg.Pool,
    pollMs = 5000,
    options: { onError?: (error: unknown) => void } = {},
  ): Promise<void> {
    const listener = new PgListener({
      pool,
      channels: [DEPLOYMENT_CHANNEL],
      onNotification: (_channel, payload) => {
        if (payload && this.active.has(payload)) void this.refresh(payload).catch(() => undefined);
      },
      onConnected: async ({ reconnected }) => {
        if (reconnected) await this.refreshAll();
      },
      onError: (error) => options.onError?.(error),
    });
    await listener.start();
    this.listener = listener;
    this.poller = setInterval(() => void this.refreshAll(), pollMs);
    this.poller.unref();
  }

  /**
   * Re-reads every active deployment; one that fails (database or object store down) keeps serving
   * its current version and is retried at the next poll.
   */
  async refreshAll(): Promise<void> {
    await Promise.all([...this.active.keys()].map((name) => this.refresh(name).catch(() => undefined)));
  }

  /** State of the LISTEN connection (`undefined` when not watching). */
  get listenerState(): ListenerState | undefined {
    return this.listener?.state;
  }

  /** Stops watching and releases every session. */
  async close(): Promise<void> {
    if (this.poller) clearInterval(this.poller);
    await this.listener?.close();
    for (const loaded of this.loaded.values()) await loaded.release();
    this.loaded.clear();
    this.active.clear();
  }
}
