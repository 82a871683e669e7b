import { ValidationError } from '../errors';
import { assertObjectKey, joinKey } from './keys';

describe('assertObjectKey', () => {
  it.each(['a', 'offline/fg=clicks/v=1/commit=20261125/part-0.parquet', "odd!_.*'()=-name"])(
    'accepts %s',
    (key) => {
      expect(assertObjectKey(key)).toBe(key);
    },
  );

  it.each([
    ['', 'is empty'],
    ['/abs', 'starts with /'],
    ['a/../b', '.. path segment'],
    ['a//b', 'empty'],
    ['a b', 'contains characters'],
    ['x'.repeat(901), 'longer than 900'],
  ])('rejects %j (%s)', (key, why) => {
    expect(() => assertObjectKey(key)).toThrow(ValidationError);
    expect(() => assertObjectKey(key)).toThrow(why);
  });
});

describe('joinKey', () => {
  it('joins segments without duplicate or leading slashes', () => {
    expect(joinKey('a/', '/b', '', 'c/d')).toBe('a/b/c/d');
  });
});
