import { ValidationError } from '../errors';

/** What the choice needs of a deployment version. */
export interface VersionForRollback {
  readonly version: number;
  readonly action: string;
  readonly settings: Readonly<Record<string, unknown>>;
  /** Per variant: model version id, weight and shadow flag (what "the same bindings" means). */
  readonly bindings: readonly {
    readonly variant: string;
    readonly weight: number;
    readonly shadow: boolean;
    readonly model: { readonly id: number };
  }[];
}

const sameBindings = (a: VersionForRollback, b: VersionForRollback) =>
  JSON.stringify(a.bindings.map((x) => [x.variant, x.model.id, x.weight, x.shadow])) ===
  JSON.stringify(b.bindings.map((x) => [x.variant, x.model.id, x.weight, x.shadow]));

/**
 * The deployment version a rollback returns to. With `to`, that version (any but one serving the
 * same bindings as now). Without, the previous **good** version: the newest version older than
 * what is serving now that was neither itself a rollback nor rolled back from, and that binds
 * something else. A rollback version counts as the version it restored, so rolling back twice
 * walks further back instead of returning to the version just rolled back from.
 */
export function chooseRollbackTarget<V extends VersionForRollback>(
  deployment: string,
  history: readonly V[],
  currentVersion: number,
  to?: number,
): V {
  const byVersion = new Map(history.map((v) => [v.version, v]));
  const restored = (v: V): V => {
    const seen = new Set<number>();
    let at = v;
    while (
      at.action === 'rollback' &&
      typeof at.settings.rolledBackTo === 'number' &&
      !seen.has(at.version)
    ) {
      seen.add(at.version);
      const next = byVersion.get(at.settings.rolledBackTo);
      if (!next) break;
      at = next;
    }
    return at;
  };
  const current = byVersion.get(currentVersion);
  if (!current) throw new ValidationError(`deployment ${deployment} has no version ${currentVersion}.`);
  const versions = history.map((v) => v.version).join(', ');
  if (to !== undefined) {
    const target = byVersion.get(to);
    if (!target)
      throw new ValidationError(`deployment ${deployment} has no version ${to} (versions: ${versions}).`, {
        location: '--to',
      });
    if (sameBindings(target, current))
      throw new ValidationError(
        `deployment ${deployment} v${to} binds what v${currentVersion} already serves; nothing to roll back.`,
        { location: '--to' },
      );
    return target;
  }
  // Versions rolled back from: each rollback's predecessor (recorded since rollbacks store it).
  const rolledBackFrom = new Set<number>();
  history.forEach((v, i) => {
    if (v.action !== 'rollback') return;
    const from =
      typeof v.settings.rolledBackFrom === 'number'
        ? byVersion.get(v.settings.rolledBackFrom)
        : history[i - 1];
    if (from) rolledBackFrom.add(restored(from).version);
  });
  const serving = restored(current);
  const good = history
    .filter(
      (v) =>
        v.version < serving.version &&
        v.action !== 'rollback' &&
        !rolledBackFrom.has(v.version) &&
        !sameBindings(v, current),
    )
    .at(-1);
  if (!good)
    throw new ValidationError(
      `deployment ${deployment} has no earlier good version to roll back to` +
        (rolledBackFrom.size
          ? ` (rolled back from before: v${[...rolledBackFrom].sort((a, b) => a - b).join(', v')})`
          : '') +
        `; pick one with --to VERSION (versions: ${versions}).`,
    );
  return good;
}
