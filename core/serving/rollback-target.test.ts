import { chooseRollbackTarget, type VersionForRollback } from './rollback-target';

/** A version binding model version `model` alone (or several variants). */
const v = (
  version: number,
  action: string,
  model: number | [string, number, number][],
  settings: Record<string, unknown> = {},
): VersionForRollback => ({
  version,
  action,
  settings,
  bindings: (typeof model === 'number' ? [['main', model, 100] as [string, number, number]] : model).map(
    ([variant, id, weight]) => ({ variant, weight, shadow: false, model: { id } }),
  ),
});
const target = (history: VersionForRollback[], to?: number) =>
  chooseRollbackTarget('fraud', history, history.at(-1)!.version, to).version;

describe('chooseRollbackTarget', () => {
  it('returns to the version before the current one', () => {
    expect(target([v(1, 'create', 10), v(2, 'upgrade', 11)])).toBe(1);
  });

  it('never returns to the version just rolled back from: a second rollback goes further back', () => {
    const history = [
      v(1, 'create', 10),
      v(2, 'upgrade', 11),
      v(3, 'upgrade', 12),
      v(4, 'rollback', 11, { rolledBackTo: 2, rolledBackFrom: 3 }),
    ];
    expect(target(history)).toBe(1);
    history.push(v(5, 'rollback', 10, { rolledBackTo: 1, rolledBackFrom: 4 }));
    expect(() => target(history)).toThrow(
      'deployment fraud has no earlier good version to roll back to (rolled back from before: v2, v3); pick one with --to VERSION (versions: 1, 2, 3, 4, 5).',
    );
  });

  it('treats rollbacks recorded before rolledBackFrom as rolling back from their predecessor', () => {
    const legacy = [v(1, 'create', 10), v(2, 'upgrade', 11), v(3, 'rollback', 10, { rolledBackTo: 1 })];
    expect(() => target(legacy)).toThrow(/no earlier good version/);
    legacy.push(v(4, 'upgrade', 12));
    expect(target(legacy)).toBe(1);
  });

  it('skips versions that bind what is serving now', () => {
    const history = [v(1, 'create', 10), v(2, 'upgrade', 11), v(3, 'upgrade', 11)];
    expect(target(history)).toBe(1);
    const split = [
      v(1, 'create', 10),
      v(2, 'split', [
        ['a', 10, 50],
        ['b', 11, 50],
      ]),
      v(3, 'split', [
        ['a', 10, 90],
        ['b', 11, 10],
      ]),
    ];
    expect(target(split)).toBe(2);
  });

  it('goes to an explicit version, even one rolled back from, but not to what already serves or to none', () => {
    const history = [
      v(1, 'create', 10),
      v(2, 'upgrade', 11),
      v(3, 'rollback', 10, { rolledBackTo: 1, rolledBackFrom: 2 }),
    ];
    expect(target(history, 2)).toBe(2);
    expect(() => target(history, 1)).toThrow(
      'deployment fraud v1 binds what v3 already serves; nothing to roll back.',
    );
    expect(() => target(history, 9)).toThrow('deployment fraud has no version 9 (versions: 1, 2, 3).');
  });
});
