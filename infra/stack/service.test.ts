import { hostPortOf } from './service';

describe('hostPortOf', () => {
  it('reads URLs and host:port strings, with a default port', () => {
    expect(hostPortOf('postgres://u:p@127.0.0.1:5433/fti', 5432)).toEqual({ host: '127.0.0.1', port: 5433 });
    expect(hostPortOf('http://localhost:8333', 80)).toEqual({ host: 'localhost', port: 8333 });
    expect(hostPortOf('127.0.0.1:7233', 1)).toEqual({ host: '127.0.0.1', port: 7233 });
    expect(hostPortOf('postgres://db/fti', 5432)).toEqual({ host: 'db', port: 5432 });
  });
});
