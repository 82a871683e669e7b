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

/** A background worker process started by `fti stack up --workers`. */
export interface WorkerProcess {
  readonly taskQueue: string;
  readonly running: boolean;
  readonly pid: number | undefined;
  readonly logFile: string;
}

function paths(entry: string) {
  const stateDir = loadConfig().stateDir;
  return {
    pid: path.join(stateDir, 'workers', `${entry}.pid`),
    log: path.join(stateDir, 'logs', `worker-${entry}.log`),
    script: path.join(projectRoot(), 'dist', 'workers', `${entry}.js`),
  };
}

/**
 * Starts the three compiled workers as background processes (one per task queue) unless already
 * running; `stopWorkers` (and `fti stack down`) stops them by pid file. Workers log JSON lines.
 */
export async function startWorkers(): Promise<WorkerProcess[]> {
  return WORKERS.map(({ taskQueue, entry }) => {
    const p = paths(entry);
    const live = readLiveProcess(p.pid);
    if (live) return { taskQueue, running: true, pid: live.pid, logFile: p.log };
    const started = startDetached({
      command: process.execPath,
      args: [p.script],
      pidFile: p.pid,
      logFile: p.log,
    });
    return { taskQueue, running: true, pid: started.pid, logFile: p.log };
  });
}

/** Stops the background workers gracefully (SIGTERM drains in-flight tasks). */
export async function stopWorkers(): Promise<string[]> {
  const stopped: string[] = [];
  for (const { taskQueue, entry } of WORKERS) {
    if (await stopRecorded(paths(entry).pid, 30_000)) stopped.push(`worker ${taskQueue}`);
  }
  return stopped;
}

/** Which background workers are alive. */
export function workerStatus(): WorkerProcess[] {
  return WORKERS.map(({ taskQueue, entry }) => {
    const p = paths(entry);
    const live = readLiveProcess(p.pid);
    return { taskQueue, running: live !== undefined, pid: live?.pid, logFile: p.log };
  });
}
