import { eq } from 'drizzle-orm';
import { tables, type Database } from '../db';
import type { ModelReferenceProfile } from './prediction-profile';
import type { DataProfile } from './profile';

/**
 * The monitoring reference of a training dataset (its train split) as stored when the dataset was
 * created: `features` (as stored) and `modelInputs` (after transformations). Null for datasets made
 * before profiles existed (recreate them to get one).
 */
export async function trainingDatasetReference(
  db: Database,
  trainingDatasetId: number,
): Promise<{ features: DataProfile; modelInputs: DataProfile } | null> {
  const [row] = await db
    .select({ profile: tables.trainingDatasets.referenceProfile })
    .from(tables.trainingDatasets)
    .where(eq(tables.trainingDatasets.id, trainingDatasetId));
  return (row?.profile as { features: DataProfile; modelInputs: DataProfile } | null) ?? null;
}

/** The prediction profile a model version stored at registration, or null (imported or older versions). */
export async function modelVersionReference(
  db: Database,
  modelVersionId: number,
): Promise<ModelReferenceProfile | null> {
  const [row] = await db
    .select({ profile: tables.modelVersions.referenceProfile })
    .from(tables.modelVersions)
    .where(eq(tables.modelVersions.id, modelVersionId));
  return (row?.profile as ModelReferenceProfile | null) ?? null;
}
