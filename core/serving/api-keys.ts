import { createHash, randomBytes } from 'node:crypto';
import { and, eq, isNull } from 'drizzle-orm';
import type { Database } from '../db';
import { tables } from '../db';
import { ValidationError } from '../errors';

const hash = (key: string) => createHash('sha256').update(key).digest('hex');

/**
 * What a key may do: `predict` (predict, OIP infer and metadata), `push` (feature events), `labels`
 * (delayed ground truth, which drives performance alerts and promotions), `features` (read the
 * feature store: metadata, training data, online feature vectors), `models` (register models trained
 * elsewhere: the import route), `admin` (everything).
 */
export const API_KEY_SCOPES = ['predict', 'push', 'labels', 'features', 'models', 'admin'] as const;
/** One of {@link API_KEY_SCOPES}. */
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

/** What a verified key grants. */
export interface ApiKeyGrant {
  readonly client: string;
  readonly scopes: readonly ApiKeyScope[];
  /** Deployments the key may call; null = all. */
  readonly deployments: readonly string[] | null;
}

/** Whether `grant` allows `scope` (admin allows everything) on `deployment` (when given). */
export function allows(grant: ApiKeyGrant, scope: ApiKeyScope, deployment?: string): boolean {
  const scoped = grant.scopes.includes('admin') || grant.scopes.includes(scope);
  const reach =
    deployment === undefined || grant.deployments === null || grant.deployments.includes(deployment);
  return scoped && reach;
}

/**
 * Creates a key for a client with `scopes` (default: predict only) and, optionally, the only
 * deployments it may call. The key is returned once; only its SHA-256 hash is stored.
 */
export async function createApiKey(
  db: Database,
  client: string,
  options: { scopes?: readonly string[]; deployments?: readonly string[] } = {},
): Promise<{
  id: number;
  client: string;
  key: string;
  prefix: string;
  scopes: ApiKeyScope[];
  deployments: string[] | null;
}> {
  if (!/^[A-Za-z0-9_.@-]{1,100}$/.test(client))
    throw new ValidationError(
      `client name ${JSON.stringify(client)} must be 1–100 letters, digits, _ . @ or -.`,
    );
  const scopes = [...new Set(options.scopes ?? ['predict'])];
  const unknown = scopes.filter((s) => !(API_KEY_SCOPES as readonly string[]).includes(s));
  if (scopes.length === 0 || unknown.length)
    throw new ValidationError(
      `API key scopes must be some of ${API_KEY_SCOPES.join(', ')}${unknown.length ? `; unknown: ${unknown.join(', ')}` : ''}.`,
      { location: 'scopes' },
    );
  const deployments = options.deployments ? [...new Set(options.deployments)] : null;
  const badName = deployments?.find((d) => !/^[a-z][a-z0-9_-]{0,62}$/.test(d));
  if (deployments?.length === 0 || badName !== undefined)
    throw new ValidationError(
      `API key deployments must be deployment names (lowercase letters, digits, _ or -)${badName !== undefined ? `; got ${JSON.stringify(badName)}` : ''}.`,
      { location: 'deployments' },
    );
  const key = `fti_${randomBytes(24).toString('base64url')}`;
  const prefix = key.slice(0, 10);
  const [row] = await db
    .insert(tables.apiKeys)
    .values({ client, keyHash: hash(key), keyPrefix: prefix, scopes, deployments })
    .returning({ id: tables.apiKeys.id });
  return { id: row!.id, client, key, prefix, scopes: scopes as ApiKeyScope[], deployments };
}

/** Revokes a key by id; requests with it fail from the next cache refresh on (≤ 30 s). */
export async function revokeApiKey(db: Database, id: number): Promise<boolean> {
  const rows = await db
    .update(tables.apiKeys)
    .set({ revokedAt: new Date() })
    .where(and(eq(tables.apiKeys.id, id), isNull(tables.apiKeys.revokedAt)))
    .returning({ id: tables.apiKeys.id });
  return rows.length > 0;
}

/** Keys (never the secrets): id, client, prefix, created, revoked. */
export async function listApiKeys(db: Database) {
  return db
    .select({
      id: tables.apiKeys.id,
      client: tables.apiKeys.client,
      prefix: tables.apiKeys.keyPrefix,
      scopes: tables.apiKeys.scopes,
      deployments: tables.apiKeys.deployments,
      createdAt: tables.apiKeys.createdAt,
      revokedAt: tables.apiKeys.revokedAt,
    })
    .from(tables.apiKeys)
    .orderBy(tables.apiKeys.id);
}

/**
 * Verifies presented keys against the stored hashes. Answers are cached (known keys for `ttlMs`,
 * unknown ones for at most 5 s) in an LRU of at most `maxEntries`: a flood of made-up keys evicts
 * the oldest entries one by one, never the whole cache, and memory stays bounded.
 */
export class ApiKeyVerifier {
  private readonly cache = new Map<string, { grant: ApiKeyGrant | null; until: number }>();

  constructor(
    private readonly db: Database,
    private readonly ttlMs = 30_000,
    private readonly maxEntries = 10_000,
  ) {}

  /** Entries held (for tests and metrics). */
  get size(): number {
    return this.cache.size;
  }

  /** What a key grants, or null when unknown or revoked. */
  async verify(key: string): Promise<ApiKeyGrant | null> {
    const h = hash(key);
    const hit = this.cache.get(h);
    if (hit && hit.until > Date.now()) {
      this.cache.delete(h);
      this.cache.set(h, hit);
      return hit.grant;
    }
    const [row] = await this.db
      .select({
        client: tables.apiKeys.client,
        scopes: tables.apiKeys.scopes,
        deployments: tables.apiKeys.deployments,
      })
      .from(tables.apiKeys)
      .where(and(eq(tables.apiKeys.keyHash, h), isNull(tables.apiKeys.revokedAt)));
    const grant: ApiKeyGrant | null = row
      ? { client: row.client, scopes: row.scopes as ApiKeyScope[], deployments: row.deployments }
      : null;
    this.cache.delete(h);
    while (this.cache.size >= this.maxEntries) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(h, { grant, until: Date.now() + (grant ? this.ttlMs : Math.min(this.ttlMs, 5_000)) });
    return grant;
  }
}
