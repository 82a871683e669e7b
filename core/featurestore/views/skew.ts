import path from 'node:path';
import { withDuck } from '../../duckdb';
import { ValidationError } from '../../errors';
import { quoteIdent } from '../../identifiers';
import type { OnlineStore } from '../online';
import { OfflineTable } from '../offline/offline-table';
import type { FeatureViewDeps } from './deps';
import { encodeRow, passthrough } from './model-transforms';
import { OnlineFeatureReader } from './online-vectors';
import { materializeView, resolvePins, SPINE_ROW } from './pit-join';
import { getFeatureView } from './repository';
import { loadSpine } from './spine-input';
import { getTrainingDataset } from './training-data';

/** One feature whose online and offline values differ. */
export interface SkewMismatch {
  readonly keys: Readonly<Record<string, unknown>>;
  readonly feature: string;
  readonly offline: unknown;
  readonly online: unknown;
}

/** Outcome of {@link checkOnlineOfflineSkew}. */
export interface SkewReport {
  readonly featureView: { readonly name: string; readonly version: number };
  /** The event time both sides were read at (the latest event of any joined group). */
  readonly at: Date;
  readonly sampled: number;
  readonly featuresCompared: number;
  readonly mismatches: readonly SkewMismatch[];
  readonly ok: boolean;
}

function same(a: unknown, b: unknown): boolean {
  if (a === null || a === undefined) return b === null || b === undefined;
  if (b === null || b === undefined) return false;
  if (a instanceof Date || b instanceof Date)
    return new Date(a as Date).getTime() === new Date(b as Date).getTime();
  if (typeof a === 'bigint' || typeof b === 'bigint') return String(a) === String(b);
  if (typeof a === 'number' && typeof b === 'number') return a === b || (Number.isNaN(a) && Number.isNaN(b));
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]));
  return a === b;
}

/**
 * Training/serving skew check: for up to `sample` entities of the spine feature group (their latest
 * spine row supplies request values), builds the offline batch vector at the latest event time of
 * any joined group and the online vector at the same time, and compares every feature value and
 * every transformed model input. `ok` means they are identical — what training saw is what serving
 * serves.
 */
export async function checkOnlineOfflineSkew(
  deps: FeatureViewDeps & { readonly online: OnlineStore },
  request: {
    readonly featureView: { readonly name: string; readonly version?: number };
    readonly trainingDatasetVersion?: number;
    /** @default 100 */
    readonly sample?: number;
    /** @default 7 */
    readonly seed?: number;
  },
): Promise<SkewReport> {
  const record = await getFeatureView(deps.db, request.featureView.name, request.featureView.version);
  const view = record.view;
  if (view.spine.kind !== 'group')
    throw new ValidationError(`skew check of ${view.name}: needs a view whose spine is a feature group.`);
  const fitted =
    request.trainingDatasetVersion === undefined
      ? passthrough(view.features)
      : (await getTrainingDataset(deps, request.featureView, request.trainingDatasetVersion)).dataset
          .transformation;
  const pins = await resolvePins(deps, view);
  const sample = Math.max(1, Math.min(request.sample ?? 100, 10_000));
  const spineGroup = view.spine.group;
  const spineCols = view.spineColumns.map((c) => c.name);
  const entity = view.entityKeys.map(quoteIdent).join(', ');

  const offline = await withDuck(
    async (duck) => {
      let latest = 0;
      for (const join of view.joins) {
        await new OfflineTable(deps, join.group).registerSnapshot(duck, '_fti_skew_g', {
          commitId: pins[join.group.id]!,
        });
        const max = await duck.one<{ t: Date | null }>(
          `SELECT max(CAST(${quoteIdent(join.group.spec.eventTime)} AS TIMESTAMP)) AS t FROM _fti_skew_g`,
        );
        latest = Math.max(latest, max?.t?.getTime() ?? 0);
        await duck.run('DROP VIEW _fti_skew_g');
      }
      await new OfflineTable(deps, spineGroup).registerSnapshot(duck, '_fti_skew_spine', {
        commitId: pins[spineGroup.id]!,
      });
      const at = new Date(latest);
      // The latest spine row per entity supplies the request values; entities sampled by a seeded hash.
      const rows = await duck.all<Record<string, unknown>>(
        `SELECT * FROM (
           SELECT ${spineCols.map(quoteIdent).join(', ')} FROM _fti_skew_spine
           QUALIFY row_number() OVER (PARTITION BY ${entity} ORDER BY ${quoteIdent(view.eventTime)} DESC) = 1
         ) ORDER BY hash(${entity}, ${request.seed ?? 7}::BIGINT) LIMIT ${sample}`,
      );
      const spineRows = rows.map((r) => ({ ...r, [view.eventTime]: at }));
      if (spineRows.length === 0) return { at, rows: [] as Record<string, unknown>[], entities: rows };
      await loadSpine(duck, deps, { rows: spineRows }, '_fti_skew_rows');
      await materializeView(duck, deps, view, {
        pins,
        spine: { kind: 'relation', relation: '_fti_skew_rows' },
        output: '_fti_skew_out',
        purpose: 'inference',
        onDemand: deps.onDemand,
        scratchDir: deps.scratchDir,
      });
      const out = await duck.all<Record<string, unknown>>(
        `SELECT * FROM _fti_skew_out ORDER BY ${SPINE_ROW}`,
      );
      return { at, rows: out, entities: rows };
    },
    { threads: deps.threads ?? 2, tempDirectory: path.join(deps.scratchDir, 'duck') },
  );

  const reader = new OnlineFeatureReader(deps.online, view, {
    onDemand: deps.onDemand,
    transformation: fitted,
  });
  const keyOf = (r: Record<string, unknown>) => JSON.stringify(view.entityKeys.map((k) => String(r[k])));
  const offlineByKey = new Map(offline.rows.map((r) => [keyOf(r), r]));
  const requests = offline.entities.map((e) => {
    const keys = Object.fromEntries(view.entityKeys.map((k) => [k, e[k]]));
    const passed = Object.fromEntries(
      view.columns
        .filter(
          (c) =>
            c.origin === 'spine' &&
            (c.role === 'feature' || c.role === 'inference_helper') &&
            !view.entityKeys.includes(c.name),
        )
        .map((c) => [c.name, e[c.name]]),
    );
    return { keys, request: passed };
  });
  const vectors = await reader.get(requests, { missing: 'null', now: offline.at });
  const mismatches: SkewMismatch[] = [];
  vectors.forEach((v, i) => {
    const off = offlineByKey.get(keyOf(offline.entities[i]!));
    for (const f of view.features)
      if (!same(off?.[f] ?? null, v.values[f]))
        mismatches.push({ keys: v.keys, feature: f, offline: off?.[f], online: v.values[f] });
    const offVector = off ? encodeRow(fitted, off) : [];
    v.vector.forEach((x, j) => {
      if (!same(offVector[j], x))
        mismatches.push({ keys: v.keys, feature: fitted.outputs[j]!, offline: offVector[j], online: x });
    });
  });
  return {
    featureView: { name: view.name, version: view.version },
    at: offline.at,
    sampled: vectors.length,
    featuresCompared: vectors.length * (view.features.length + fitted.outputs.length),
    mismatches,
    ok: mismatches.length === 0,
  };
}
