import { ValidationError } from '../../errors';
import type { FeatureType } from '../feature-group';
import type { FeatureGroupRecord } from '../feature-group-repository';
import { intervalOf } from '../transformations';
import type { FeatureViewDefinitionParsed, ViewFilter } from './definition';
import { parseSteps } from './model-transforms';
import type { OnDemandBinding } from './on-demand';

/** What a view column is for. */
export type ColumnRole =
  'key' | 'event_time' | 'feature' | 'label' | 'inference_helper' | 'training_helper' | 'on_demand';

/** One output column of a view, in output order. */
export interface ViewColumn {
  readonly name: string;
  /** Null for on-demand columns until computed (their type comes from the function). */
  readonly type: FeatureType | null;
  readonly role: ColumnRole;
  /** `spine` columns are request parameters at serving time; `join` ones come from the online store. */
  readonly origin: 'spine' | 'join' | 'on_demand';
  /** Index into {@link ResolvedFeatureView.joins} for joined columns. */
  readonly join?: number;
  /** Column name inside the feature group. */
  readonly source?: string;
}

/** A joined feature group with its resolved key mapping and selected features. */
export interface ResolvedJoin {
  readonly group: FeatureGroupRecord;
  /** Pairs (group primary-key column, spine column) in primary-key order. */
  readonly on: readonly { readonly groupColumn: string; readonly spineColumn: string }[];
  readonly features: readonly {
    readonly source: string;
    readonly output: string;
    readonly type: FeatureType;
  }[];
  readonly lookback: string | null;
}

/**
 * A feature view checked against the feature groups it reads: every column's name, type, role and
 * origin; the join plan; the model features in order. Built once and reused by every read path.
 */
export interface ResolvedFeatureView {
  readonly name: string;
  readonly version: number;
  readonly definition: FeatureViewDefinitionParsed;
  readonly spine: { readonly kind: 'group'; readonly group: FeatureGroupRecord } | { readonly kind: 'table' };
  /** Spine columns in order (keys, event time, carried columns). */
  readonly spineColumns: readonly { readonly name: string; readonly type: FeatureType }[];
  readonly eventTime: string;
  /** Spine columns that identify an entity for online lookups (every join's spine columns). */
  readonly entityKeys: readonly string[];
  readonly joins: readonly ResolvedJoin[];
  readonly onDemand: readonly OnDemandBinding[];
  readonly columns: readonly ViewColumn[];
  /** Model input features (untransformed), in view order. */
  readonly features: readonly string[];
  readonly labels: readonly string[];
  readonly filters: readonly ViewFilter[];
}

const INTEGERS = new Set<FeatureType>(['int', 'bigint']);

function compatible(a: FeatureType, b: FeatureType): boolean {
  return a === b || (INTEGERS.has(a) && INTEGERS.has(b));
}

/**
 * Resolves a parsed definition against the feature groups it names (`groups[i]` for the i-th join,
 * `spineGroup` for a group spine). Errors name the view, the join and the column, and say how to fix.
 */
export function resolveFeatureView(
  definition: FeatureViewDefinitionParsed,
  version: number,
  spineGroup: FeatureGroupRecord | undefined,
  groups: readonly FeatureGroupRecord[],
): ResolvedFeatureView {
  const label = `feature view ${definition.name}`;
  const fail = (message: string, location?: string): never => {
    throw new ValidationError(`${label}: ${message}`, { location: location ?? label });
  };

  // Spine columns.
  let spineColumns: { name: string; type: FeatureType }[];
  let eventTime: string;
  const spineKeys = new Set<string>();
  if ('featureGroup' in definition.spine) {
    const spec = spineGroup!.spec;
    const byName = new Map(spec.features.map((f) => [f.name, f]));
    const carried = definition.spine.features ?? spec.features.map((f) => f.name);
    for (const name of carried)
      if (!byName.has(name))
        fail(
          `spine feature "${name}" is not in feature group ${spec.name} v${spec.version} (has: ${[...byName.keys()].join(', ')}).`,
          'spine.features',
        );
    const ordered = [
      ...spec.primaryKey,
      spec.eventTime,
      ...carried.filter((c) => c !== spec.eventTime && !spec.primaryKey.includes(c)),
    ];
    spineColumns = ordered.map((name) => ({ name, type: byName.get(name)!.type }));
    eventTime = spec.eventTime;
    spec.primaryKey.forEach((k) => spineKeys.add(k));
  } else {
    spineColumns = definition.spine.columns.map((c) => ({ name: c.name, type: c.type }));
    eventTime = definition.spine.eventTime;
    const et = spineColumns.find((c) => c.name === eventTime);
    if (!et)
      fail(`spine event-time column "${eventTime}" is not among the spine columns.`, 'spine.eventTime');
    if (et && et.type !== 'timestamp' && et.type !== 'date')
      fail(
        `spine event-time column "${eventTime}" must be timestamp or date, not ${et.type}.`,
        'spine.eventTime',
      );
  }
  const spineByName = new Map(spineColumns.map((c) => [c.name, c]));

  const columns: ViewColumn[] = [];
  const owner = new Map<string, string>();
  const add = (column: ViewColumn, from: string) => {
    const previous = owner.get(column.name);
    if (previous !== undefined)
      fail(
        `column "${column.name}" from ${from} collides with "${column.name}" from ${previous}; set a prefix on the join (e.g. prefix: "${from.split('.')[0]!.replace(/^spine.*/, 'x')}_") or select fewer features.`,
        column.name,
      );
    owner.set(column.name, from);
    columns.push(column);
  };
  const spineLabel =
    spineGroup !== undefined
      ? `spine ${spineGroup.spec.name} v${spineGroup.spec.version}`
      : 'the spine table';
  for (const c of spineColumns) {
    add(
      {
        name: c.name,
        type: c.type,
        role: c.name === eventTime ? 'event_time' : spineKeys.has(c.name) ? 'key' : 'feature',
        origin: 'spine',
      },
      spineLabel,
    );
  }

  // Joins.
  const joins: ResolvedJoin[] = [];
  const entityKeys: string[] = [];
  definition.joins.forEach((join, index) => {
    const group = groups[index]!;
    const spec = group.spec;
    const where = `joins[${index}] (${spec.name} v${spec.version})`;
    let on: { groupColumn: string; spineColumn: string }[];
    if (join.on === undefined) on = spec.primaryKey.map((k) => ({ groupColumn: k, spineColumn: k }));
    else if (Array.isArray(join.on)) {
      if (join.on.length !== spec.primaryKey.length)
        fail(
          `${where}: "on" lists ${join.on.length} column(s) but the primary key has ${spec.primaryKey.length} (${spec.primaryKey.join(', ')}).`,
          `joins[${index}].on`,
        );
      on = spec.primaryKey.map((k, i) => ({ groupColumn: k, spineColumn: (join.on as string[])[i]! }));
    } else {
      const map = join.on;
      const extra = Object.keys(map).filter((k) => !spec.primaryKey.includes(k));
      if (extra.length)
        fail(
          `${where}: "on" names ${extra.join(', ')}, which are not primary-key columns (${spec.primaryKey.join(', ')}).`,
        );
      on = spec.primaryKey.map((k) => {
        if (!map[k])
          fail(`${where}: "on" has no spine column for primary-key column "${k}".`, `joins[${index}].on`);
        return { groupColumn: k, spineColumn: map[k]! };
      });
    }
    for (const pair of on) {
      const spineColumn = spineByName.get(pair.spineColumn);
      if (!spineColumn)
        fail(
          `${where}: join column "${pair.spineColumn}" is not a spine column (spine has: ${spineColumns.map((c) => c.name).join(', ')}); set "on" to map ${pair.groupColumn} to a spine column.`,
          `joins[${index}].on`,
        );
      const keyType = spec.features.find((f) => f.name === pair.groupColumn)!.type;
      if (!compatible(spineColumn!.type, keyType))
        fail(
          `${where}: spine column "${pair.spineColumn}" is ${spineColumn!.type} but key "${pair.groupColumn}" is ${keyType}; the types must match.`,
          `joins[${index}].on`,
        );
      if (!entityKeys.includes(pair.spineColumn)) entityKeys.push(pair.spineColumn);
    }
    const byName = new Map(spec.features.map((f) => [f.name, f]));
    const selected =
      join.features ??
      spec.features.map((f) => f.name).filter((n) => n !== spec.eventTime && !spec.primaryKey.includes(n));
    for (const name of selected) {
      if (!byName.has(name))
        fail(
          `${where}: feature "${name}" does not exist (has: ${spec.features.map((f) => f.name).join(', ')}).`,
          `joins[${index}].features`,
        );
    }
    const features = selected.map((source) => ({
      source,
      output: `${join.prefix ?? ''}${source}`,
      type: byName.get(source)!.type,
    }));
    for (const f of features) {
      if (f.output.length > 63) fail(`${where}: column name "${f.output}" is longer than 63 characters.`);
      add(
        { name: f.output, type: f.type, role: 'feature', origin: 'join', join: index, source: f.source },
        `${spec.name}.${f.source}`,
      );
    }
    if (join.lookback) intervalOf(join.lookback);
    joins.push({ group, on, features, lookback: join.lookback ?? null });
  });
  for (const key of entityKeys) {
    const column = columns.find((c) => c.name === key);
    if (column && column.role === 'feature') (column as { role: ColumnRole }).role = 'key';
  }

  // On-demand features read earlier columns.
  for (const odf of definition.onDemand) {
    for (const [param, column] of Object.entries(odf.inputs)) {
      if (!owner.has(column))
        fail(
          `on-demand feature "${odf.name}": input ${param} → "${column}" is not a column of the view.`,
          `onDemand.${odf.name}`,
        );
    }
    add({ name: odf.name, type: null, role: 'feature', origin: 'on_demand' }, `on-demand ${odf.function}`);
  }

  // Roles.
  const assign = (names: readonly string[], role: ColumnRole, what: string) => {
    for (const name of names) {
      const column = columns.find((c) => c.name === name);
      if (!column)
        fail(
          `${what} "${name}" is not a column of the view (columns: ${columns.map((c) => c.name).join(', ')}).`,
          what,
        );
      if (column!.role !== 'feature')
        fail(
          `${what} "${name}" is already the view's ${column!.role.replace('_', ' ')} column; a column has one role.`,
          what,
        );
      (column as { role: ColumnRole }).role = role;
    }
  };
  assign(definition.labels, 'label', 'label');
  assign(definition.inferenceHelperColumns, 'inference_helper', 'inference helper column');
  assign(definition.trainingHelperColumns, 'training_helper', 'training helper column');

  for (const name of definition.allowRequestOverride) {
    const column = columns.find((c) => c.name === name);
    if (!column || column.origin !== 'join' || column.role !== 'feature')
      fail(
        `allowRequestOverride "${name}" must be a feature joined from a feature group (joined features: ${columns
          .filter((c) => c.origin === 'join' && c.role === 'feature')
          .map((c) => c.name)
          .join(', ')}); spine columns and on-demand inputs are request fields already.`,
        'allowRequestOverride',
      );
  }

  for (const filter of definition.filters) {
    if (!owner.has(filter.column)) fail(`filter on "${filter.column}": not a column of the view.`, 'filters');
    const needsValue = filter.op !== 'is_null' && filter.op !== 'not_null';
    if (needsValue && filter.value === undefined)
      fail(`filter on "${filter.column}" ${filter.op} needs a value.`, 'filters');
    if ((filter.op === 'in' || filter.op === 'not_in') && !Array.isArray(filter.value))
      fail(`filter on "${filter.column}" ${filter.op} needs an array value.`, 'filters');
    if (columns.find((c) => c.name === filter.column)?.origin === 'on_demand')
      fail(`filter on "${filter.column}": on-demand columns cannot be filtered.`, 'filters');
  }

  const features = columns.filter((c) => c.role === 'feature').map((c) => c.name);
  for (const [feature, declared] of Object.entries(definition.transformations)) {
    if (!features.includes(feature))
      fail(
        `transformation declared for "${feature}", which is not a model feature of the view (features: ${features.join(', ')}).`,
        `transformations.${feature}`,
      );
    parseSteps(feature, declared);
  }

  return {
    name: definition.name,
    version,
    definition,
    spine: spineGroup ? { kind: 'group', group: spineGroup } : { kind: 'table' },
    spineColumns,
    eventTime,
    entityKeys,
    joins,
    onDemand: definition.onDemand,
    columns,
    features,
    labels: definition.labels,
    filters: definition.filters,
  };
}
