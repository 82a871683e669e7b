import { ValidationError } from '../errors';
import { compareSchemas, defineFeatureGroup, type FeatureDefinition } from './feature-group';

const group = (amount: FeatureDefinition) =>
  defineFeatureGroup({
    name: 'txns',
    primaryKey: ['card_id'],
    eventTime: 'event_time',
    features: [{ name: 'card_id', type: 'string' }, { name: 'event_time', type: 'timestamp' }, amount],
  });

describe('allowNonFinite: the per-feature opt-in for NaN and Infinity', () => {
  it('is kept on floating features and absent when not set', () => {
    expect(group({ name: 'amount', type: 'double', allowNonFinite: true }).features[2]).toEqual({
      name: 'amount',
      type: 'double',
      nullable: true,
      allowNonFinite: true,
    });
    expect(group({ name: 'amount', type: 'float' }).features[2]).not.toHaveProperty('allowNonFinite');
    expect(
      group({ name: 'emb', type: 'float_array', allowNonFinite: true }).features[2]!.allowNonFinite,
    ).toBe(true);
  });

  it.each(['int', 'bigint', 'string', 'bool', 'timestamp', 'date'] as const)(
    'is refused on a %s feature, naming the feature and the fix',
    (type) => {
      const attempt = () => group({ name: 'amount', type, allowNonFinite: true });
      expect(attempt).toThrow(ValidationError);
      expect(attempt).toThrow(
        `feature group "txns": feature "amount" has allowNonFinite but type ${type}; only float, double, float_array features can hold NaN or Infinity. Remove allowNonFinite from it.`,
      );
    },
  );

  it('may be turned on in place but turning it off is a breaking change', () => {
    const off = group({ name: 'amount', type: 'double' });
    const on = group({ name: 'amount', type: 'double', allowNonFinite: true });
    expect(compareSchemas(off, on)).toEqual({ kind: 'identical' });
    expect(compareSchemas(on, off)).toEqual({
      kind: 'breaking',
      reason: 'feature "amount" no longer allows non-finite values, but existing commits may hold them',
    });
  });
});

describe('expectations name columns of the group', () => {
  it('refuses an expectation on a column the group does not have, naming it and the fix', () => {
    expect(() =>
      defineFeatureGroup({
        name: 'txns',
        primaryKey: ['card_id'],
        eventTime: 'event_time',
        features: [
          { name: 'card_id', type: 'string' },
          { name: 'event_time', type: 'timestamp' },
        ],
        expectations: {
          expectations: [{ type: 'expect_compound_columns_to_be_unique', columns: ['card_id', 'evnt_time'] }],
        },
      }),
    ).toThrow(
      'feature group "txns": expectations.expectations[0] (expect_compound_columns_to_be_unique) names column "evnt_time", which is not among its features (card_id, event_time). Fix the column name or add the feature.',
    );
  });
});

describe('partitioning of the offline layout', () => {
  const base = {
    name: 'txns',
    primaryKey: ['card_id'],
    eventTime: 'event_time',
    features: [
      { name: 'card_id', type: 'string' as const },
      { name: 'event_time', type: 'timestamp' as const },
    ],
  };

  it('fills defaults, and leaves an unpartitioned group’s spec as it was before partitioning existed', () => {
    expect(defineFeatureGroup({ ...base, partitioning: { period: 'day' } }).partitioning).toEqual({
      period: 'day',
      keyBuckets: 1,
    });
    expect(defineFeatureGroup({ ...base, partitioning: { keyBuckets: 16 } }).partitioning).toEqual({
      period: null,
      keyBuckets: 16,
    });
    expect(defineFeatureGroup(base)).not.toHaveProperty('partitioning');
  });

  it('refuses unknown periods, bucket counts out of range and partitioning of an external group', () => {
    expect(() => defineFeatureGroup({ ...base, partitioning: { period: 'week' as 'day' } })).toThrow(
      /partitioning.period/,
    );
    expect(() => defineFeatureGroup({ ...base, partitioning: { keyBuckets: 257 } })).toThrow(
      /partitioning.keyBuckets/,
    );
    expect(() =>
      defineFeatureGroup({
        ...base,
        partitioning: { period: 'day' },
        external: { kind: 'parquet', prefix: 'raw/txns/' },
      }),
    ).toThrow(/an external group is read in place, so the platform cannot partition its files/);
  });

  it('treats a change of partitioning as breaking (files already written keep the old layout)', () => {
    const daily = defineFeatureGroup({ ...base, partitioning: { period: 'day' } });
    expect(compareSchemas(defineFeatureGroup(base), daily)).toMatchObject({ kind: 'breaking' });
    expect(compareSchemas(daily, defineFeatureGroup({ ...base, partitioning: { period: 'day' } }))).toEqual({
      kind: 'identical',
    });
  });
});
