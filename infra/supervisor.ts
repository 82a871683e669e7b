#!/usr/bin/env node
// A process supervisor for the local stack's workers (`fti stack up --workers`): keeps one child
// running, restarting it with backoff when it exits unexpectedly. In production systemd or
// Kubernetes does this job (docs/operating.md).
//
//   node dist/infra/supervisor.js --name <name> --child-pid-file <file> -- <command> [args…]
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Backoff, type BackoffOptions } from '../core/backoff';
import { createLogger, type Logger } from '../core/log';

/** Options of {@link supervise}. */
export interface SupervisorOptions {
  /** Name in log lines (e.g. the task queue). */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  /** Where the current child's pid is recorded (same format as the stack's pid files). */
  readonly childPidFile: string;
  /** Restart delays. @default { initialMs: 1000, maxMs: 60000, multiplier: 2, jitter: 0.2 } */
  readonly backoff?: BackoffOptions;
  /** A child that ran at least this long before exiting restarts with the shortest delay again. @default 60000 */
  readonly stableAfterMs?: number;
  readonly logger?: Logger;
}

/** A running supervisor. */
export interface Supervisor {
  /** The current child's pid (undefined between a crash and its restart). */
  readonly childPid: number | undefined;
  /** How many times the child was restarted. */
  readonly restarts: number;
  /** Stops supervising: no more restarts; resolves with the child's exit code once it is gone. */
  stop(signal?: NodeJS.Signals): Promise<number>;
}

/**
 * Runs `command` and restarts it whenever it exits while not stopping — a crash, `kill -9`, an
 * out-of-memory kill, or a clean exit that nobody asked for — after a capped, jittered exponential
 * backoff, logging the exit code or signal and the delay. The child stays in the supervisor's
 * process group, so SIGKILL to the group (what `fti stack down` escalates to) ends both; `stop()`
 * ends the restarts and, given a signal, passes it on so the worker drains its in-flight tasks.
 */
export function supervise(options: SupervisorOptions): Supervisor {
  const logger = options.logger ?? createLogger(`supervisor:${options.name}`);
  const backoff = new Backoff({
    initialMs: 1000,
    maxMs: 60_000,
    multiplier: 2,
    jitter: 0.2,
    ...options.backoff,
  });
  const stableAfterMs = options.stableAfterMs ?? 60_000;
  let child: ChildProcess | undefined;
  let stopping = false;
  let restarts = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  let resolveStopped: (code: number) => void = () => undefined;
  const stopped = new Promise<number>((resolve) => {
    resolveStopped = resolve;
  });

  const start = () => {
    const startedAt = Date.now();
    const current = spawn(options.command, [...options.args], { stdio: 'inherit' });
    child = current;
    if (current.pid !== undefined) {
      fs.mkdirSync(path.dirname(options.childPidFile), { recursive: true });
      fs.writeFileSync(
        options.childPidFile,
        JSON.stringify({ pid: current.pid, command: options.command, startedAt: new Date().toISOString() }),
      );
      logger.info({ workerPid: current.pid, restarts }, `${options.name} started`);
    }
    current.once('error', (error) => logger.error({ err: error.message }, `${options.name} could not start`));
    current.once('exit', (code, signal) => {
      child = undefined;
      fs.rmSync(options.childPidFile, { force: true });
      if (stopping) {
        logger.info({ code, signal }, `${options.name} stopped`);
        resolveStopped(code ?? (signal ? 128 : 0));
        return;
      }
      if (Date.now() - startedAt >= stableAfterMs) backoff.reset();
      const delayMs = backoff.next();
      restarts++;
      logger.warn(
        { code, signal, ranMs: Date.now() - startedAt, restartInMs: delayMs, restarts },
        `${options.name} exited unexpectedly (${signal ? `signal ${signal}` : `exit code ${code}`}); restarting in ${delayMs} ms`,
      );
      restartTimer = setTimeout(() => {
        restartTimer = undefined;
        if (!stopping) start();
      }, delayMs);
    });
  };
  start();

  return {
    get childPid() {
      return child?.pid;
    },
    get restarts() {
      return restarts;
    },
    stop(signal) {
      stopping = true;
      if (restartTimer) {
        clearTimeout(restartTimer);
        restartTimer = undefined;
      }
      if (!child) resolveStopped(0);
      else if (signal) child.kill(signal);
      return stopped;
    },
  };
}

/** Parses `--name N --child-pid-file F -- command args…`. */
function parseArgs(argv: readonly string[]): SupervisorOptions {
  const separator = argv.indexOf('--');
  const flags = argv.slice(0, separator < 0 ? argv.length : separator);
  const rest = separator < 0 ? [] : argv.slice(separator + 1);
  const flag = (name: string) => {
    const i = flags.indexOf(name);
    return i >= 0 ? flags[i + 1] : undefined;
  };
  const childPidFile = flag('--child-pid-file');
  const [command, ...args] = rest;
  if (!childPidFile || !command)
    throw new Error(
      'usage: supervisor --name <name> --child-pid-file <file> -- <command> [args…] (missing --child-pid-file or the command)',
    );
  return { name: flag('--name') ?? path.basename(command), command, args, childPidFile };
}

if (require.main === module) {
  const supervisor = supervise(parseArgs(process.argv.slice(2)));
  // SIGTERM is forwarded, so stopping the supervisor alone (kill <pid>) stops its worker too; when
  // the whole group was signalled the worker sees it twice, which workers ignore while draining.
  // Ctrl-C (SIGINT) already reaches the foreground group and is not forwarded.
  process.once('SIGTERM', () => void supervisor.stop('SIGTERM').then((code) => process.exit(code)));
  process.once('SIGINT', () => void supervisor.stop().then((code) => process.exit(code)));
}
