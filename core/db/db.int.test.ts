import { eq, sql } from 'drizzle-orm';
import { loadConfig } from '../config';
import { ServiceUnavailableError } from '../errors';
import { uniqueName } from '../../test/support/ids';
import { openDatabase, type DatabaseHandle } from './client';
import { runMigrations } from './migrate';
import * as t from './schema';

// Real PostgreSQL: the test database that `infra/stack.sh up` created and migrated.
describe('metadata database', () => {
  let handle: DatabaseHandle;

  beforeAll(async () => {
    handle = await openDatabase({ url: loadConfig().databaseUrl });
  });
  afterAll(() => handle.close());

  it('applies migrations idempotently, also concurrently', async () => {
    await Promise.all([runMigrations(handle), runMigrations(handle)]);
    const applied = await handle.db.execute<{ n: number }>(
      sql`SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations`,
    );
    expect(applied.rows[0]?.n).toBeGreaterThanOrEqual(1);
  });

  const featureGroup = (name: string, version = 1) => ({
    name,
    version,
    primaryKey: ['card_id'],
    eventTimeColumn: 'event_time',
    features: [{ name: 'amount', type: 'double', nullable: true }],
  });

  it('keeps (name, version) unique for feature groups', async () => {
    const name = uniqueName('fg').replace(/-/g, '_');
    await handle.db.insert(t.featureGroups).values(featureGroup(name));
    await expect(handle.db.insert(t.featureGroups).values(featureGroup(name))).rejects.toThrow();
    await handle.db.insert(t.featureGroups).values(featureGroup(name, 2));
  });

  it('rejects names that are not identifiers and non-positive versions', async () => {
    await expect(handle.db.insert(t.featureGroups).values(featureGroup('Bad-Name'))).rejects.toThrow();
    await expect(
      handle.db.insert(t.featureGroups).values(featureGroup(uniqueName('fg').replace(/-/g, '_'), 0)),
    ).rejects.toThrow();
  });

  it('makes a commit idempotent per (feature group, idempotency key)', async () => {
    const [fg] = await handle.db
      .insert(t.featureGroups)
      .values(featureGroup(uniqueName('fg').replace(/-/g, '_')))
      .returning();
    const commit = {
      featureGroupId: fg!.id,
      operation: 'insert' as const,
      idempotencyKey: 'window-2026-11-25',
    };
    await handle.db.insert(t.featureGroupCommits).values({ ...commit, instant: '20261125000000000' });
    await expect(
      handle.db.insert(t.featureGroupCommits).values({ ...commit, instant: '20261125000000001' }),
    ).rejects.toThrow();
  });

  it('refuses to delete a feature group that has commits (foreign key restrict)', async () => {
    const [fg] = await handle.db
      .insert(t.featureGroups)
      .values(featureGroup(uniqueName('fg').replace(/-/g, '_')))
      .returning();
    await handle.db
      .insert(t.featureGroupCommits)
      .values({ featureGroupId: fg!.id, operation: 'insert', idempotencyKey: 'k', instant: '1' });
    await expect(handle.db.delete(t.featureGroups).where(eq(t.featureGroups.id, fg!.id))).rejects.toThrow();
  });

  it('refuses to delete a deployed model version', async () => {
    const db = handle.db;
    const [fg] = await db
      .insert(t.featureGroups)
      .values(featureGroup(uniqueName('fg').replace(/-/g, '_')))
      .returning();
    const [fv] = await db
      .insert(t.featureViews)
      .values({ name: uniqueName('fv').replace(/-/g, '_'), version: 1, query: {} })
      .returning();
    await db
      .insert(t.featureViewSources)
      .values({ featureViewId: fv!.id, featureGroupId: fg!.id, role: 'spine', position: 0 });
    const [td] = await db
      .insert(t.trainingDatasets)
      .values({
        featureViewId: fv!.id,
        version: 1,
        splits: {},
        featureGroupCommits: {},
        storagePrefix: 'x',
        idempotencyKey: 'k',
      })
      .returning();
    const [model] = await db
      .insert(t.models)
      .values({ name: uniqueName('m') })
      .returning();
    const [mv] = await db
      .insert(t.modelVersions)
      .values({
        modelId: model!.id,
        version: 1,
        trainer: 'gbdt',
        artifactKey: 'k',
        signature: {},
        idempotencyKey: 'k',
      })
      .returning();
    const [dep] = await db
      .insert(t.deployments)
      .values({ name: uniqueName('d') })
      .returning();
    const [dv] = await db
      .insert(t.deploymentVersions)
      .values({ deploymentId: dep!.id, version: 1, action: 'create' })
      .returning();
    await db.insert(t.deploymentBindings).values({
      deploymentVersionId: dv!.id,
      variant: 'main',
      modelVersionId: mv!.id,
      featureViewId: fv!.id,
      trainingDatasetId: td!.id,
      weight: 100,
    });
    await expect(db.delete(t.modelVersions).where(eq(t.modelVersions.id, mv!.id))).rejects.toThrow();
    await expect(db.delete(t.featureGroups).where(eq(t.featureGroups.id, fg!.id))).rejects.toThrow();
    await expect(
      db.insert(t.modelVersions).values({
        modelId: model!.id,
        version: 1,
        trainer: 'gbdt',
        artifactKey: 'k2',
        signature: {},
        idempotencyKey: 'k2',
      }),
    ).rejects.toThrow();
  });

  it('reports an unreachable server with the URL redacted and the fix', async () => {
    const error = await openDatabase({
      url: 'postgres://app:topsecret@127.0.0.1:9/fti',
      connectTimeoutMs: 1000,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceUnavailableError);
    const message = (error as Error).message;
    expect(message).toContain('postgres://app:***@127.0.0.1:9/fti');
    expect(message).not.toContain('topsecret');
    expect(message).toContain('infra/stack.sh up');
  });
  it("refuses predictions of a deployment that does not exist and deletes a deployment's predictions with it (statement-level reference)", async () => {
    const [deployment] = await handle.db
      .insert(t.deployments)
      .values({ name: uniqueName('dep').replace(/-/g, '_') })
      .returning();
    const row = (deploymentId: number) => ({
      deploymentId,
      deploymentVersion: 1,
      variant: 'main',
      modelVersion: 1,
      windowStart: new Date('2026-01-01T00:00:00Z'),
      windowEnd: new Date('2026-01-02T00:00:00Z'),
      entity: { id: 1 },
      score: 0.5,
    });
    await handle.db.insert(t.predictions).values([row(deployment!.id), row(deployment!.id)]);
    // One unknown id among good ones fails the whole statement, as a foreign key would.
    await expect(
      handle.db.insert(t.predictions).values([row(deployment!.id), row(-deployment!.id)]),
    ).rejects.toMatchObject({ cause: { code: '23503' } });
    await expect(
      handle.db
        .update(t.predictions)
        .set({ deploymentId: -1 })
        .where(eq(t.predictions.deploymentId, deployment!.id)),
    ).rejects.toMatchObject({ cause: { code: '23503' } });
    const count = async () =>
      (
        await handle.db.execute<{ n: number }>(
          sql`SELECT count(*)::int AS n FROM predictions WHERE deployment_id = ${deployment!.id}`,
        )
      ).rows[0]!.n;
    expect(await count()).toBe(2);
    // Changing a referenced deployment's id is refused, as the foreign key's NO ACTION did.
    await expect(
      handle.db
        .update(t.deployments)
        .set({ id: deployment!.id + 1_000_000_000 })
        .where(eq(t.deployments.id, deployment!.id)),
    ).rejects.toMatchObject({ cause: { code: '23503' } });
    await handle.db.delete(t.deployments).where(eq(t.deployments.id, deployment!.id));
    expect(await count()).toBe(0);
  });
});
