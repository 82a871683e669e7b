import path from 'node:path';
import { loadConfig } from '../core/config';
import { TASK_QUEUES } from '../core/pipelines';
import { projectRoot } from '../core/project-root';
import { readLiveProcess, startDetached, stopRecorded } from './stack/processes';

const WORKERS = [
  { taskQueue: TASK_QUEUES.features, entry: 'features' },
  { taskQueue: TASK_QUEUES.training, entry: 'training' },
  { taskQueue: TASK_QUEUES.inference, entry: 'inference' },
] as const;

/** A background worker process started by `fti stack up --workers`, under its supervisor. */
export interface WorkerProcess {
  readonly taskQueue: string;
  /** True while the worker process itself is alive (false between a crash and its restart). */
  readonly running: boolean;
  /** The worker's pid. */
  readonly pid: number | undefined;
  /** The pid of the supervisor that restarts the worker when it exits unexpectedly. */
  readonly supervisorPid: number | undefined;
  readonly logFile: string;
}

function paths(entry: string) {
  const stateDir = loadConfig().stateDir;
  return {
    // The pid file records the supervisor; `stopRecorded` stops it (and its worker) first.
    pid: path.join(stateDir, 'workers', `${entry}.pid`),
    childPid: path.join(stateDir, 'workers', `${entry}.worker.pid`),
    log: path.join(stateDir, 'logs', `worker-${entry}.log`),
    script: path.join(projectRoot(), 'dist', 'workers', `${entry}.js`),
  };
}

/** Options of {@link startSupervisedProcess}. */
export interface SupervisedProcessOptions {
  /** Name in the supervisor's log lines. */
  readonly name: string;
  /** Node script to run and keep running. */
  readonly script: string;
  readonly pidFile: string;
  readonly childPidFile: string;
  readonly logFile: string;
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Starts `node <script>` in the background under a supervisor (dist/infra/supervisor.js) that
 * restarts it with backoff when it exits unexpectedly. `pidFile` records the supervisor (with the
 * child's pid file), so `stopRecorded(pidFile)` stops both and leaves nothing behind.
 */
export function startSupervisedProcess(options: SupervisedProcessOptions): { supervisorPid: number } {
  const supervisor = path.join(projectRoot(), 'dist', 'infra', 'supervisor.js');
  const started = startDetached({
    command: process.execPath,
    args: [
      supervisor,
      '--name',
      options.name,
      '--child-pid-file',
      options.childPidFile,
      '--',
      process.execPath,
      options.script,
    ],
    pidFile: options.pidFile,
    childPidFile: options.childPidFile,
    logFile: options.logFile,
    ...(options.env ? { env: options.env } : {}),
  });
  return { supervisorPid: started.pid };
}

/**
 * Starts the three compiled workers in the background (one per task queue), each under a
 * supervisor that restarts it with backoff when it crashes, unless already running;
 * `stopWorkers` (and `fti stack down`) stops supervisors and workers by pid file. Workers and
 * supervisors log JSON lines to the same file.
 */
export async function startWorkers(): Promise<WorkerProcess[]> {
  WORKERS.forEach(({ taskQueue, entry }) => {
    const p = paths(entry);
    if (readLiveProcess(p.pid)) return; // already supervised
    startSupervisedProcess({
      name: taskQueue,
      script: p.script,
      pidFile: p.pid,
      childPidFile: p.childPid,
      logFile: p.log,
    });
  });
  // The supervisors spawn their workers a moment later; report the workers' pids, not "unknown".
  const deadline = Date.now() + 5000;
  while (workerStatus().some((w) => !w.running) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 100));
  return workerStatus();
}

/** Stops the background workers gracefully (SIGTERM drains in-flight tasks). */
export async function stopWorkers(): Promise<string[]> {
  const stopped: string[] = [];
  for (const { taskQueue, entry } of WORKERS) {
    if (await stopRecorded(paths(entry).pid, 30_000)) stopped.push(`worker ${taskQueue}`);
  }
  return stopped;
}

/** Which background workers (and their supervisors) are alive. */
export function workerStatus(): WorkerProcess[] {
  return WORKERS.map(({ taskQueue, entry }) => {
    const p = paths(entry);
    const supervisor = readLiveProcess(p.pid);
    if (supervisor && !supervisor.childPidFile)
      // Started by an older version, without a supervisor: the pid file is the worker itself.
      return { taskQueue, running: true, pid: supervisor.pid, supervisorPid: undefined, logFile: p.log };
    const worker = supervisor ? readLiveProcess(p.childPid) : undefined;
    return {
      taskQueue,
      running: worker !== undefined,
      pid: worker?.pid,
      supervisorPid: supervisor?.pid,
      logFile: p.log,
    };
  });
}
