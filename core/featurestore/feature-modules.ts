import path from 'node:path';
import type { Database } from '../db';
import { describeError } from '../errors';
import type { FeatureGroupDefinition } from './feature-group';
import { registerFeatureGroup } from './feature-group-repository';
import { TransformationRegistry, type Transformation } from './transformations';
import type { FeatureViewDefinition } from './views/definition';
import { OnDemandRegistry, type OnDemandFunction } from './views/on-demand';
import { createFeatureView } from './views/repository';

/** Environment variable listing the feature modules a features worker loads (comma-separated paths). */
export const FEATURE_MODULES_ENV = 'FTI_FEATURE_MODULES';

/**
 * What a feature team's module exports: the feature groups and feature views it owns (registered,
 * idempotently, when a worker starts), its named transformations and its on-demand feature
 * functions (needed wherever the views are read: features, training and inference workers).
 *
 * @example
 * // examples/fraud/features/module.ts
 * export const featureGroups = [cardTransactions];
 * export const transformations = { card_windows: windowAggregation({ ... }) };
 */
export interface FeatureModule {
  readonly featureGroups?: readonly FeatureGroupDefinition[];
  readonly transformations?: Readonly<Record<string, Transformation>>;
  readonly onDemandFeatures?: readonly OnDemandFunction[];
  /** Registered after the groups; an identical existing version is reused. */
  readonly featureViews?: readonly FeatureViewDefinition[];
}

/** What the loaded modules provide to a worker. */
export interface LoadedFeatureModules {
  readonly transformations: TransformationRegistry;
  readonly onDemand: OnDemandRegistry;
}

/**
 * Loads every module named in FTI_FEATURE_MODULES; registers its groups, views, transformations
 * and on-demand functions.
 */
export async function loadFeatureModules(
  db: Database,
  specifiers = process.env[FEATURE_MODULES_ENV] ?? '',
): Promise<LoadedFeatureModules> {
  const registry = new TransformationRegistry();
  const onDemand = new OnDemandRegistry();
  const views: FeatureViewDefinition[] = [];
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
    for (const fn of mod.onDemandFeatures ?? []) onDemand.register(fn);
    views.push(...(mod.featureViews ?? []));
  }
  // Views may join groups from several modules: register them once every group exists.
  for (const view of views) await createFeatureView(db, view);
  return { transformations: registry, onDemand };
}
