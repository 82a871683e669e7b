import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** A background process the stack started, as recorded in its pid file. */
export interface ManagedProcess {
  readonly pid: number;
  /** Executable path, checked against /proc before signalling so a reused pid is never killed. */
  readonly command: string;
  readonly startedAt: string;
  /**
   * For a supervisor: the pid file of the child it keeps running. `stopRecorded` stops that child
   * too, even when the supervisor itself is already gone, so nothing is left behind.
   */
  readonly childPidFile?: string;
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
  /** Recorded in the pid file: see {@link ManagedProcess.childPidFile}. */
  childPidFile?: string;
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
    ...(options.childPidFile ? { childPidFile: options.childPidFile } : {}),
  };
  fs.writeFileSync(options.pidFile, JSON.stringify(record));
  return record;
}

/** The process recorded in a pid file, if that process is still alive and still runs the same binary. */
export function readLiveProcess(pidFile: string): ManagedProcess | undefined {
  const record = readRecord(pidFile);
  if (!record || !isAlive(record.pid)) return undefined;
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
 * When the record names a supervised child (`childPidFile`), that child is stopped the same way
 * afterwards if it is still alive (a supervisor killed on its own leaves its worker running).
 * Removes the pid files. Returns whether a live process was stopped.
 */
export async function stopRecorded(pidFile: string, graceMs = 10_000): Promise<boolean> {
  const childPidFile = readRecord(pidFile)?.childPidFile;
  const record = readLiveProcess(pidFile);
  let stopped = false;
  if (record) {
    await terminate(record.pid, graceMs);
    stopped = true;
  }
  fs.rmSync(pidFile, { force: true });
  if (childPidFile) {
    const child = readLiveProcess(childPidFile);
    if (child) {
      await terminate(child.pid, graceMs);
      stopped = true;
    }
    fs.rmSync(childPidFile, { force: true });
  }
  return stopped;
}

/** SIGTERM to the process group, SIGKILL after `graceMs`; waits until the process is gone. */
async function terminate(pid: number, graceMs: number): Promise<void> {
  signalGroup(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (isAlive(pid)) signalGroup(pid, 'SIGKILL');
  while (isAlive(pid) && Date.now() < deadline + 5000) await new Promise((r) => setTimeout(r, 100));
}

function readRecord(pidFile: string): ManagedProcess | undefined {
  try {
    return JSON.parse(fs.readFileSync(pidFile, 'utf8')) as ManagedProcess;
  } catch {
    return undefined;
  }
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
