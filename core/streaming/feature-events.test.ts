import { ValidationError } from '../errors';
import { defineFeatureGroup } from '../featurestore/feature-group';
import { validateFeatureEvent } from './feature-events';

const spec = defineFeatureGroup({
  name: 'card_txn',
  primaryKey: ['card_id'],
  eventTime: 'event_time',
  features: [
    { name: 'card_id', type: 'string' },
    { name: 'event_time', type: 'timestamp' },
    { name: 'amount', type: 'double' },
    { name: 'count_1h', type: 'int', nullable: false },
    { name: 'embedding', type: 'float_array' },
    { name: 'score', type: 'double', allowNonFinite: true },
  ],
});
const ok = { card_id: 'c1', event_time: '2026-11-30T12:00:00+01:00', amount: 12.5, count_1h: 3 };

describe('validateFeatureEvent', () => {
  it('accepts a well-typed event, fills absent nullable features with null and normalises the time to UTC', () => {
    expect(validateFeatureEvent(spec, ok, 'event 1')).toEqual({
      card_id: 'c1',
      event_time: '2026-11-30T11:00:00.000Z',
      amount: 12.5,
      count_1h: 3,
      embedding: null,
      score: null,
    });
  });

  it.each([
    [[1, 2], 'must be a JSON object'],
    [{ ...ok, merchant: 'm' }, '"merchant" are not features of the group'],
    [{ ...ok, card_id: undefined }, 'field "card_id" is missing (it is part of the record key)'],
    [{ ...ok, event_time: null }, 'field "event_time" is missing (it is the group\'s event time)'],
    [{ ...ok, count_1h: undefined }, 'field "count_1h" is missing and the feature is not nullable'],
    [{ ...ok, event_time: 'yesterday' }, 'field "event_time" must be an ISO-8601 time'],
    [{ ...ok, amount: '12.5' }, 'field "amount" must be a number (feature type double), got a string'],
    [{ ...ok, count_1h: 2.5 }, 'field "count_1h" must be a 32-bit integer'],
    [{ ...ok, count_1h: 2 ** 40 }, 'field "count_1h" must be a 32-bit integer'],
    [{ ...ok, amount: Number.NaN }, 'field "amount" is not a finite number'],
    [{ ...ok, embedding: [1, 'x'] }, 'field "embedding" must be an array of numbers'],
    [{ ...ok, embedding: [1, Infinity] }, 'field "embedding" is not a finite number'],
  ])('refuses %j naming the field: %s', (event, message) => {
    const error = (() => {
      try {
        validateFeatureEvent(spec, event, 'event 7');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toContain('event 7 (feature group card_txn v1)');
    expect((error as Error).message).toContain(message);
  });

  it('reads a time without a zone as UTC, whatever the machine zone', () => {
    for (const time of ['2026-11-30T12:00:00', '2026-11-30 12:00:00', '2026-11-30T12:00:00.250']) {
      const event = validateFeatureEvent(spec, { ...ok, event_time: time }, 'event 1');
      expect(event.event_time).toBe(
        time.includes('.250') ? '2026-11-30T12:00:00.250Z' : '2026-11-30T12:00:00.000Z',
      );
    }
  });

  it('lets a feature that opts in carry a non-finite value', () => {
    expect(validateFeatureEvent(spec, { ...ok, score: Infinity }, 'e').score).toBe(Infinity);
  });
});
