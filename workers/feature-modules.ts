import path from 'node:path';
import type { Database } from '../core/db';
import { describeError } from '../core/errors';
import {
  registerFeatureGroup,
  TransformationRegistry,
  type FeatureGroupDefinition,
  type Transformation,
} from '../core/featurestore';

/** Environment variable listing the feature modules a features worker loads (comma-separated paths). */
export const FEATURE_MODULES_ENV = 'FTI_FEATURE_MODULES';

/**
 * What a feature team's module exports: the feature groups it owns (registered, idempotently, when
 * the worker starts) and its named transformations.
 *
 * @example
 * // examples/fraud/features/module.ts
 * export const featureGroups = [cardTransactions];
 * export const transformations = { card_windows: windowAggregation({ ... }) };
 */
export interface FeatureModule {
  readonly featureGroups?: readonly FeatureGroupDefinition[];
  readonly transformations?: Readonly<Record<string, Transformation>>;
}

/** Loads every module named in FTI_FEATURE_MODULES; registers its groups and transformations. */
export async function loadFeatureModules(
  db: Database,
  specifiers = process.env[FEATURE_MODULES_ENV] ?? '',
): Promise<TransformationRegistry> {
  const registry = new TransformationRegistry();
  for (const specifier of specifiers
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    let mod: FeatureModule;
    try {
      mod = (await import(path.resolve(specifier))) as FeatureModule;
    } catch (error) {
      throw new Error(`${FEATURE_MODULES_ENV}: cannot load ${specifier}: ${describeError(error)}`, {
        cause: error,
      });
    }
    for (const definition of mod.featureGroups ?? []) await registerFeatureGroup(db, definition);
    for (const [name, transformation] of Object.entries(mod.transformations ?? {}))
      registry.register(name, transformation);
  }
  return registry;
}
