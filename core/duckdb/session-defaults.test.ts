import { ConfigError } from '../errors';
import { DuckSession } from './session';

const NAMES = ['FTI_DUCKDB_THREADS', 'FTI_DUCKDB_MEMORY_LIMIT'] as const;

/** Runs `fn` with the DuckDB variables set as given (unset otherwise), restoring them after. */
async function withEnv<T>(
  values: Partial<Record<(typeof NAMES)[number], string>>,
  fn: () => Promise<T>,
): Promise<T> {
  const saved = NAMES.map((name) => [name, process.env[name]] as const);
  for (const name of NAMES) delete process.env[name];
  Object.assign(process.env, values);
  try {
    return await fn();
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

async function settings(options?: Parameters<typeof DuckSession.open>[0]) {
  const duck = await DuckSession.open(options);
  try {
    const [row] = await duck.all<{ threads: string; memory: string }>(
      "SELECT current_setting('threads')::VARCHAR AS threads, current_setting('memory_limit') AS memory",
    );
    return row!;
  } finally {
    duck.close();
  }
}

describe('DuckSession defaults from the environment', () => {
  it('FTI_DUCKDB_THREADS and FTI_DUCKDB_MEMORY_LIMIT set every session that does not choose its own', async () => {
    await withEnv({ FTI_DUCKDB_THREADS: '1', FTI_DUCKDB_MEMORY_LIMIT: '512MiB' }, async () => {
      expect(await settings()).toEqual({ threads: '1', memory: '512.0 MiB' });
      // An explicit option wins over the variable (streaming consumers pin one thread this way).
      expect(await settings({ threads: 2, memoryLimit: '1GiB' })).toEqual({
        threads: '2',
        memory: '1.0 GiB',
      });
    });
  });

  it('accepts the sizes the config allows (decimal and binary units, any case)', async () => {
    for (const [limit, shown] of [
      ['1GB', '953.6 MiB'],
      ['1.5gib', '1.5 GiB'],
      ['256 MB', '244.1 MiB'],
    ] as const) {
      await withEnv({ FTI_DUCKDB_MEMORY_LIMIT: limit }, async () => {
        expect((await settings()).memory).toBe(shown);
      });
    }
  });

  it('leaves DuckDB its defaults when unset, and names a bad variable', async () => {
    await withEnv({}, async () => {
      expect(Number((await settings()).threads)).toBeGreaterThanOrEqual(1);
    });
    await withEnv({ FTI_DUCKDB_THREADS: 'all' }, async () => {
      await expect(DuckSession.open()).rejects.toThrow(ConfigError);
      await expect(DuckSession.open()).rejects.toThrow(
        /FTI_DUCKDB_THREADS must be a whole number from 1 to 1024/,
      );
    });
  });
});
