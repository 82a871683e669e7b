import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** A background process the stack started, as recorded in its pid file. */
export interface ManagedProcess {
  readonly pid: number;
  /** Executable path, checked against /proc before signalling so a reused pid is never killed. */
  readonly command: string;
  readonly startedAt: string;
}

/**
 * Starts a long-running process detached from this one (own session and process group), with output
 * appended to `logFile`, and records it in `pidFile`. It outlives the CLI that started it.
 */
export function startDetached(options: {
  command: string;
  args: readonly string[];
  pidFile: string;
  logFile: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}): ManagedProcess {
  fs.mkdirSync(path.dirname(options.pidFile), { recursive: true });
  fs.mkdirSync(path.dirname(options.logFile), { recursive: true });
  const log = fs.openSync(options.logFile, 'a');
  const child = spawn(options.command, [...options.args], {
    cwd: options.cwd,
    env: options.env ?? process.env,
    detached: true,
    stdio: ['ignore', log, log],
  });
  fs.closeSync(log);
  if (child.pid === undefined) throw new Error(`could not start ${options.command}`);
  child.unref();
  const record: ManagedProcess = {
    pid: child.pid,
    command: options.command,
    startedAt: new Date().toISOString(),
  };
  fs.writeFileSync(options.pidFile, JSON.stringify(record));
  return record;
}

/** The process recorded in a pid file, if that process is still alive and still runs the same binary. */
export function readLiveProcess(pidFile: string): ManagedProcess | undefined {
  let record: ManagedProcess;
  try {
    record = JSON.parse(fs.readFileSync(pidFile, 'utf8')) as ManagedProcess;
  } catch {
    return undefined;
  }
  if (!isAlive(record.pid)) return undefined;
  try {
    const exe = fs.readlinkSync(`/proc/${record.pid}/exe`);
    if (path.basename(exe) !== path.basename(fs.realpathSync(record.command))) return undefined;
  } catch {
    // Without /proc (macOS) trust the pid check alone.
  }
  return record;
}

/** True when a process with this pid exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Stops a recorded process and its process group: SIGTERM, then SIGKILL after the grace period.
 * Removes the pid file. Returns whether a live process was stopped.
 */
export async function stopRecorded(pidFile: string, graceMs = 10_000): Promise<boolean> {
  const record = readLiveProcess(pidFile);
  if (!record) {
    fs.rmSync(pidFile, { force: true });
    return false;
  }
  signalGroup(record.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(record.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (isAlive(record.pid)) signalGroup(record.pid, 'SIGKILL');
  while (isAlive(record.pid) && Date.now() < deadline + 5000) await new Promise((r) => setTimeout(r, 100));
  fs.rmSync(pidFile, { force: true });
  return true;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** Runs a command to completion, returning its exit code and combined output. */
export function runCommand(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): { code: number; output: string } {
  const result = spawnSync(command, [...args], {
    env: options.env ?? process.env,
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 600_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? String(result.error) : ''}`;
  return { code: result.status ?? 1, output };
}

/** Absolute path of an executable on PATH, or undefined. */
export function which(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

/** The last lines of a log file, for error messages. */
export function tail(file: string, lines = 8): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
