import { ValidationError } from '../errors';
import { eventStreamNames } from './subjects';

describe('eventStreamNames', () => {
  it('names one stream and one subject per feature group version', () => {
    expect(eventStreamNames('card_txn', 2)).toEqual({
      stream: 'fti_events_card_txn_v2',
      subject: 'fti.events.card_txn.v2',
    });
  });

  it.each(['cards.*', 'cards>', 'Cards', 'a b', '', 'x'.repeat(64)])(
    'refuses %j, which could widen or break a subject',
    (name) => {
      expect(() => eventStreamNames(name, 1)).toThrow(ValidationError);
    },
  );

  it('refuses a version that is not a positive integer', () => {
    expect(() => eventStreamNames('cards', 0)).toThrow('positive integer');
  });
});
