import { parsePredictBody, predictSchema } from './predict-schema';

// The fast path of predict-body validation must accept exactly what the schema accepts, with the
// same instances, and leave every refusal (and its message) to the schema.
describe('parsePredictBody', () => {
  const bodies: unknown[] = [
    { keys: { card_id: 'c1' } },
    { keys: { card_id: 7, region: 2, vip: true } },
    { keys: { card_id: 'c1' }, request: { amount: 12.5, channel: 'web', nested: { a: [1] } } },
    { keys: {} },
    { instances: [{ keys: { card_id: 'c1' } }, { keys: { card_id: 'c2' }, request: {} }] },
    { keys: { card_id: 'c1' }, eventTime: '2026-11-30T12:00:00Z' },
    { keys: { card_id: 'c1' }, eventTime: 'yesterday' },
    { instances: [{ keys: { card_id: 'c1' }, eventTime: '2026-11-30T12:00:00Z' }] },
    { keys: { card_id: null } },
    { keys: { card_id: { id: 1 } } },
    { keys: { card_id: [1] } },
    { keys: 'c1' },
    { keys: null },
    { keys: [] },
    { keys: { card_id: 'c1' }, request: null },
    { keys: { card_id: 'c1' }, request: [1] },
    { keys: { card_id: 'c1' }, extra: 1 },
    { instances: [] },
    { instances: [{ keys: { card_id: 'c1' } }], keys: { card_id: 'c1' } },
    { instances: [{ keys: { card_id: 'c1' } }, { keys: 1 }] },
    { instances: {} },
    {},
    [],
    null,
    undefined,
    'text',
    42,
    JSON.parse('{"keys": {"__proto__": 1}}'),
  ];

  it.each(bodies.map((body) => [JSON.stringify(body) ?? String(body), body]))(
    'agrees with the schema on %s',
    (_label, body) => {
      const schema = predictSchema.safeParse(body);
      const fast = parsePredictBody(body);
      if (schema.success) {
        expect('instances' in fast).toBe(true);
        const expected = 'instances' in schema.data ? schema.data.instances : [schema.data];
        expect((fast as { instances: unknown }).instances).toEqual(expected);
      } else {
        expect('error' in fast).toBe(true);
        expect((fast as { error: { issues: unknown } }).error.issues).toEqual(schema.error.issues);
      }
    },
  );
});
