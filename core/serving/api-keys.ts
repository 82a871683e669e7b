import { createHash, randomBytes } from 'node:crypto';
import { and, eq, isNull } from 'drizzle-orm';
import type { Database } from '../db';
import { tables } from '../db';
import { ValidationError } from '../errors';

const hash = (key: string) => createHash('sha256').update(key).digest('hex');

/** Creates a key for a client. The key is returned once; only its SHA-256 hash is stored. */
export async function createApiKey(
  db: Database,
  client: string,
): Promise<{ id: number; client: string; key: string; prefix: string }> {
  if (!/^[A-Za-z0-9_.@-]{1,100}$/.test(client))
    throw new ValidationError(
      `client name ${JSON.stringify(client)} must be 1–100 letters, digits, _ . @ or -.`,
    );
  const key = `fti_${randomBytes(24).toString('base64url')}`;
  const prefix = key.slice(0, 10);
  const [row] = await db
    .insert(tables.apiKeys)
    .values({ client, keyHash: hash(key), keyPrefix: prefix })
    .returning({ id: tables.apiKeys.id });
  return { id: row!.id, client, key, prefix };
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
      createdAt: tables.apiKeys.createdAt,
      revokedAt: tables.apiKeys.revokedAt,
    })
    .from(tables.apiKeys)
    .orderBy(tables.apiKeys.id);
}

/** Verifies presented keys against the stored hashes, caching answers for `ttlMs`. */
export class ApiKeyVerifier {
  private readonly cache = new Map<string, { client: string | null; until: number }>();

  constructor(
    private readonly db: Database,
    private readonly ttlMs = 30_000,
  ) {}

  /** The client a key belongs to, or null when unknown or revoked. */
  async verify(key: string): Promise<string | null> {
    const h = hash(key);
    const hit = this.cache.get(h);
    if (hit && hit.until > Date.now()) return hit.client;
    const [row] = await this.db
      .select({ client: tables.apiKeys.client })
      .from(tables.apiKeys)
      .where(and(eq(tables.apiKeys.keyHash, h), isNull(tables.apiKeys.revokedAt)));
    const client = row?.client ?? null;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(h, { client, until: Date.now() + this.ttlMs });
    return client;
  }
}
