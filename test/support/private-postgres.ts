import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

/**
 * A PostgreSQL server of a test's own: own data directory (under a temp dir), own port, own unix
 * socket directory. Fault tests stop, kill and restart it freely; the shared server at
 * 127.0.0.1:5432 that every other test uses is never touched.
 *
 * Runs the Debian binaries under `/usr/lib/postgresql/<version>/bin` (the newest installed, or
 * `PG_BIN` when set). PostgreSQL refuses to run as root, so when the test runs as root every
 * `initdb`/`pg_ctl` call goes through `runuser -u postgres` and the data dir is owned by `postgres`.
 * Authentication is `trust` on 127.0.0.1 only; durability settings are off (it is throwaway).
 *
 * @example
 * const server = await startPrivatePostgres();
 * try {
 *   const url = await server.createDatabase('fti_fault');
 *   // … use url, then simulate an outage:
 *   await server.restart({ downMs: 3000 });
 * } finally {
 *   await server.cleanup();
 * }
 */
export interface PrivatePostgres {
  /** TCP port on 127.0.0.1. Stays the same across stop/start/restart. */
  readonly port: number;
  /** The cluster's data directory (inside {@link PrivatePostgres.rootDir}). */
  readonly dataDir: string;
  /** Temp directory holding the data dir, socket and server log; removed by `cleanup()`. */
  readonly rootDir: string;
  /** The server log file (read it when a test fails). */
  readonly logFile: string;
  /** Connection URL of a database on this server (superuser `postgres`, no password). @default 'postgres' */
  url(database?: string): string;
  /** Creates a database (name must match `[a-z_][a-z0-9_]*`) and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Starts the server and waits until it accepts connections. No-op when it is running. */
  start(): Promise<void>;
  /**
   * Stops the server and waits until it is down. `fast` (default) terminates sessions with
   * 57P01 like `pg_ctlcluster restart` does; `immediate` is a crash-like stop (no checkpoint).
   */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Stop, stay down `downMs` (default 3000), start again: an outage as clients see it. */
  restart(options?: { downMs?: number; mode?: 'fast' | 'immediate' }): Promise<void>;
  /** True when the server's postmaster is running. */
  isRunning(): boolean;
  /** Stops the server (immediate) and removes every file it wrote. Safe to call twice. */
  cleanup(): Promise<void>;
}

/** Options of {@link startPrivatePostgres}. */
export interface PrivatePostgresOptions {
  /** Port to listen on. @default a free port chosen by the OS */
  port?: number;
  /** Directory holding initdb/pg_ctl. @default PG_BIN, else the newest /usr/lib/postgresql/<v>/bin */
  binDir?: string;
}

/** Initializes and starts a private PostgreSQL server (see {@link PrivatePostgres}). */
export async function startPrivatePostgres(options: PrivatePostgresOptions = {}): Promise<PrivatePostgres> {
  const binDir = options.binDir ?? process.env.PG_BIN ?? findBinDir();
  const port = options.port ?? (await freePort());
  const asRoot = process.getuid?.() === 0;
  const rootDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-private-pg-'));
  const dataDir = path.join(rootDir, 'data');
  const logFile = path.join(rootDir, 'server.log');
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    fs.chownSync(rootDir, uid, gid);
  }
  // Runs a server binary as the postgres OS user when we are root (postgres refuses root).
  const run = (tool: string, args: readonly string[]): string => {
    const bin = path.join(binDir, tool);
    const [command, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, [...args]];
    try {
      return execFileSync(command, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      const e = error as { stderr?: string; stdout?: string; message: string };
      throw new Error(
        `private postgres: ${tool} ${args.join(' ')} failed: ${(e.stderr || e.stdout || e.message).trim()}\n` +
          `server log (${logFile}):\n${tailOf(logFile)}`,
        { cause: error },
      );
    }
  };

  run('initdb', ['-D', dataDir, '--auth=trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const serverOptions = [
    `-p ${port}`,
    `-k ${rootDir}`,
    '-h 127.0.0.1',
    // fsync off is safe here: a test kills the server process, never the OS, so what reached the
    // WAL survives. synchronous_commit stays on: with it off an immediate stop loses commits the
    // client saw succeed, which no production server would (a chaos test saw a run's record vanish).
    '-c fsync=off',
    '-c full_page_writes=off',
    '-c max_connections=100',
  ].join(' ');
  let running = false;
  let cleaned = false;

  const server: PrivatePostgres = {
    port,
    dataDir,
    rootDir,
    logFile,
    url: (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`,
    async createDatabase(name) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name))
        throw new Error(
          `private postgres: database name ${JSON.stringify(name)} must match [a-z_][a-z0-9_]*`,
        );
      const client = new pg.Client({ connectionString: server.url() });
      await client.connect();
      try {
        // CREATE DATABASE takes no parameters; the name was validated above.
        await client.query(`CREATE DATABASE "${name}"`);
      } finally {
        await client.end();
      }
      return server.url(name);
    },
    async start() {
      if (cleaned) throw new Error('private postgres: already cleaned up');
      if (running && server.isRunning()) return;
      run('pg_ctl', ['-D', dataDir, '-l', logFile, '-o', serverOptions, '-w', '-t', '60', 'start']);
      running = true;
    },
    async stop(mode = 'fast') {
      if (!server.isRunning()) {
        running = false;
        return;
      }
      run('pg_ctl', ['-D', dataDir, '-m', mode, '-w', '-t', '60', 'stop']);
      running = false;
    },
    async restart(restartOptions = {}) {
      await server.stop(restartOptions.mode ?? 'fast');
      await new Promise((resolve) => setTimeout(resolve, restartOptions.downMs ?? 3000));
      await server.start();
    },
    isRunning() {
      // postmaster.pid exists exactly while the server runs (it is removed on a clean stop).
      try {
        const pid = Number(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    },
    async cleanup() {
      if (cleaned) return;
      try {
        if (server.isRunning()) run('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
      } finally {
        cleaned = true;
        running = false;
        fs.rmSync(rootDir, { recursive: true, force: true });
      }
    },
  };
  try {
    await server.start();
  } catch (error) {
    await server.cleanup().catch(() => undefined);
    throw error;
  }
  return server;
}

/** The newest installed Debian PostgreSQL bin directory. */
function findBinDir(): string {
  const base = '/usr/lib/postgresql';
  const versions = fs.existsSync(base)
    ? fs
        .readdirSync(base)
        .filter((v) => fs.existsSync(path.join(base, v, 'bin', 'pg_ctl')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0)
    throw new Error(
      `private postgres: no PostgreSQL server binaries under ${base}/<version>/bin; install postgresql or set PG_BIN.`,
    );
  return path.join(base, versions[0]!, 'bin');
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function tailOf(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
