import { openDatabase, type DatabaseHandle } from '../../core/db';
import { PgListener, type ListenerState } from '../../core/db/listener';
import { startPrivatePostgres, type PrivatePostgres } from '../support/private-postgres';

// Against a PostgreSQL of this test's own, which it restarts (the shared server is never touched).
describe('PostgreSQL connections across a server restart', () => {
  let server: PrivatePostgres;
  let database: DatabaseHandle;
  const waitFor = async (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  beforeAll(async () => {
    server = await startPrivatePostgres();
    database = await openDatabase({ url: server.url() });
  });
  afterAll(async () => {
    await database?.close();
    await server?.cleanup();
  });

  it('a LISTEN subscription reconnects by itself, re-subscribes and tells its owner to re-read state', async () => {
    const received: (string | undefined)[] = [];
    const connected: boolean[] = [];
    const states: ListenerState[] = [];
    const listener = new PgListener({
      pool: database.pool,
      channels: ['fti_fault_test'],
      onNotification: (_channel, payload) => received.push(payload),
      onConnected: ({ reconnected }) => {
        connected.push(reconnected);
      },
      onError: (_error, state) => states.push(state),
      backoff: { initialMs: 100, maxMs: 1000 },
    });
    try {
      await listener.start();
      expect(listener.state).toBe('connected');
      await database.pool.query("SELECT pg_notify('fti_fault_test', 'before')");
      await waitFor('the first notification', () => received.includes('before'));

      await server.restart({ downMs: 2000 }); // sessions are terminated with 57P01
      await waitFor('the LISTEN connection to come back', () => listener.state === 'connected');
      expect(states).toContain('reconnecting');
      expect(connected).toEqual([false, true]);
      expect(listener.reconnects).toBe(1);

      await database.pool.query("SELECT pg_notify('fti_fault_test', 'after')");
      await waitFor('a notification on the new connection', () => received.includes('after'));
    } finally {
      await listener.close();
    }
    expect(listener.state).toBe('closed');
  });

  it('a pool client checked out while the server restarts fails its query instead of crashing the process, and the pool serves again', async () => {
    const client = await database.pool.connect();
    try {
      await server.restart({ downMs: 500 });
      await expect(client.query('SELECT 1')).rejects.toThrow();
    } finally {
      client.release();
    }
    const { rows } = await database.pool.query<{ ok: number }>('SELECT 1 AS ok');
    expect(rows).toEqual([{ ok: 1 }]);
  });

  it('rejects a channel name that is not a plain identifier, naming it', () => {
    expect(
      () =>
        new PgListener({
          pool: database.pool,
          channels: ['x; DROP TABLE y'],
          onNotification: () => undefined,
        }),
    ).toThrow(/"x; DROP TABLE y" must be a lower-case identifier/);
  });
});
