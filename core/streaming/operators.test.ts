import { ValidationError } from '../errors';
import { defineFeatureGroup } from '../featurestore/feature-group';
import {
  rowTransformation,
  sqlTransformation,
  windowAggregation,
  type Transformation,
} from '../featurestore/transformations';
import { streamOperatorFor } from './operators';

const source = defineFeatureGroup({
  name: 'card_txn',
  primaryKey: ['txn_id'],
  eventTime: 'ts',
  features: [
    { name: 'txn_id', type: 'string' },
    { name: 'card_id', type: 'string' },
    { name: 'ts', type: 'timestamp' },
    { name: 'amount', type: 'double' },
  ],
});
const event = (txn: string, card: string, ts: string, amount: number) => ({
  txn_id: txn,
  card_id: card,
  ts,
  amount,
});
const build = (name: string | undefined, transformation: Transformation | undefined) =>
  streamOperatorFor({ transformationName: name, transformation, source, allowedLatenessMs: 0, state: null });

describe('streamOperatorFor', () => {
  it('refuses a SQL transformation, naming it and the two forms that do stream', () => {
    const sql = sqlTransformation((input) => `SELECT * FROM ${input}`);
    let caught: unknown;
    try {
      build('card_sql', sql);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ValidationError);
    expect((caught as Error).message).toMatch(/transformation "card_sql" is written in SQL/);
    expect((caught as Error).message).toMatch(/windowAggregation .* or rowTransformation/);
  });

  it('refuses a window partitioned by a column the events do not carry', () => {
    const windows = windowAggregation({
      partitionBy: ['merchant_id'],
      timeColumn: 'ts',
      features: [{ name: 'n_1h', fn: 'count', window: '1h' }],
    });
    expect(() => build('by_merchant', windows)).toThrow(
      /partitions by "merchant_id", which the events of card_txn v1/,
    );
  });

  it('runs a window aggregation per event, partitioned by its keys, with its state in the snapshot', () => {
    const windows = windowAggregation({
      partitionBy: ['card_id'],
      timeColumn: 'ts',
      features: [
        { name: 'n_1m', fn: 'count', window: '1m' },
        { name: 'sum_1m', fn: 'sum', column: 'amount', window: '1m' },
      ],
    });
    const operator = build('card_windows', windows);
    expect(operator.kind).toBe('window');
    expect(operator.partitionBy).toEqual(['card_id']);
    operator.add(event('t1', 'c1', '2026-11-30T12:00:00.000Z', 10));
    const second = operator.add(event('t2', 'c1', '2026-11-30T12:00:30.000Z', 5));
    expect(second.late).toBe(false);
    expect(second.late ? [] : second.rows).toEqual([
      expect.objectContaining({ card_id: 'c1', n_1m: 2, sum_1m: 15 }),
    ]);
    expect(operator.stats()).toEqual({ keys: 1, retainedEvents: 2 });
    expect(operator.snapshot()).toBeInstanceOf(Uint8Array);
  });

  it('applies a row transformation to each event and drops the events it returns null for', () => {
    const doubled = rowTransformation((row) =>
      (row.amount as number) > 0 ? { ...row, amount: (row.amount as number) * 2 } : null,
    );
    const operator = build('doubled', doubled);
    expect(operator.kind).toBe('rows');
    const kept = operator.add(event('t1', 'c1', '2026-11-30T12:00:00.000Z', 4));
    expect(kept.late ? [] : kept.rows).toEqual([expect.objectContaining({ txn_id: 't1', amount: 8 })]);
    const dropped = operator.add(event('t2', 'c1', '2026-11-30T12:00:01.000Z', -1));
    expect(dropped.late ? null : dropped.rows).toEqual([]);
    expect(operator.snapshot()).toBeNull();
  });

  it('passes events through unchanged without a transformation, partitioned by the primary key', () => {
    const operator = build(undefined, undefined);
    expect(operator.kind).toBe('events');
    expect(operator.partitionBy).toEqual(['txn_id']);
    const e = event('t1', 'c1', '2026-11-30T12:00:00.000Z', 3);
    const out = operator.add(e);
    expect(out.late ? [] : out.rows).toEqual([e]);
  });
});
