import { isDatabaseUnavailable } from '../../core/db/client';
import { ServiceUnavailableError, ValidationError } from '../../core/errors';
import { unavailableDependency } from '../../core/serving/server';
import { ObjectStoreUnavailableError } from '../../core/storage';

const withCode = (message: string, code: string) => Object.assign(new Error(message), { code });

describe('which errors mean "a dependency is down" (answered 503, retried)', () => {
  it('recognizes PostgreSQL outages: refused/reset sockets, terminated sessions, startup/shutdown, pool timeouts', () => {
    for (const error of [
      withCode('connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'),
      withCode('read ECONNRESET', 'ECONNRESET'),
      withCode('terminating connection due to administrator command', '57P01'),
      withCode('the database system is starting up', '57P03'),
      withCode('connection failure', '08006'),
      new Error('Connection terminated unexpectedly'),
      new Error('timeout exceeded when trying to connect'),
      new AggregateError([withCode('connect ECONNREFUSED ::1:5432', 'ECONNREFUSED')], ''),
      // drizzle wraps the driver's error; the cause carries the code
      new Error('Failed query: select …', { cause: withCode('terminating connection', '57P01') }),
      new ServiceUnavailableError('postgres', 'PostgreSQL at … is not usable'),
    ])
      expect([error.message, isDatabaseUnavailable(error)]).toEqual([error.message, true]);
  });

  it('does not mistake a bad query or bad input for an outage', () => {
    for (const error of [
      withCode('syntax error at or near "FROM"', '42601'),
      withCode('duplicate key value violates unique constraint', '23505'),
      withCode('relation "x" does not exist', '42P01'),
      new ValidationError('bad request body'),
      new Error('something else'),
      new ServiceUnavailableError('s3', 'Object store unreachable'),
    ])
      expect([error.message, isDatabaseUnavailable(error)]).toEqual([error.message, false]);
  });

  it('names the dependency behind a 503: postgres or s3, also when wrapped', () => {
    expect(unavailableDependency(withCode('connect ECONNREFUSED', 'ECONNREFUSED'))).toBe('postgres');
    const s3 = new ObjectStoreUnavailableError('models/m.onnx', 's3://b at http://s3', 'ECONNREFUSED');
    expect(unavailableDependency(s3)).toBe('s3');
    expect(unavailableDependency(new Error('loading the model failed', { cause: s3 }))).toBe('s3');
    expect(unavailableDependency(new ValidationError('bad'))).toBeUndefined();
  });
});
