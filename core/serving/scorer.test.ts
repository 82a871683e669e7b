import { entityKeyOf, fnv1a, pickVariant } from './scorer';
import { primaryVariant } from './batch';

describe('traffic routing', () => {
  const variants = [
    { name: 'a', weight: 70, shadow: false },
    { name: 'b', weight: 30, shadow: false },
    { name: 's', weight: 0, shadow: true },
  ];

  it('splits entities by weight within tolerance and never routes to a shadow', () => {
    const counts = { a: 0, b: 0, s: 0 } as Record<string, number>;
    for (let i = 0; i < 20_000; i++)
      counts[pickVariant(variants, entityKeyOf({ card_id: `c${i}` })).name]! += 1;
    expect(counts.b! / 20_000).toBeGreaterThan(0.28);
    expect(counts.b! / 20_000).toBeLessThan(0.32);
    expect(counts.s).toBe(0);
  });

  it('is sticky: the same entity always gets the same variant, whatever the key order', () => {
    const first = pickVariant(variants, entityKeyOf({ a: 1, b: 'x' }));
    for (let i = 0; i < 10; i++) expect(pickVariant(variants, entityKeyOf({ b: 'x', a: 1 }))).toBe(first);
  });

  it('FNV-1a matches the reference values', () => {
    expect(fnv1a('')).toBe(0x811c9dc5);
    expect(fnv1a('a')).toBe(0xe40c292c);
    expect(fnv1a('foobar')).toBe(0xbf9cf968);
  });

  it('batch scoring uses the heaviest non-shadow variant', () => {
    const b = (variant: string, weight: number, shadow = false) => ({ variant, weight, shadow }) as never;
    expect(primaryVariant([b('x', 30), b('y', 70), b('z', 0, true)])).toMatchObject({ variant: 'y' });
  });
});
