import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { loadConfig, temporalConnectionOptions } from '../../core/config';
import { projectRoot } from '../../core/project-root';
import { isAlive, readLiveProcess, stopRecorded } from '../../infra/stack/processes';
import { startSupervisedProcess } from '../../infra/workers';
import { WORKER_TASK_QUEUE_ENV } from '../../workers/run-worker';
import type { platformCheck } from '../../workflows/platform-check';
import { uniqueName } from '../support/ids';

// A compiled worker (`npm run build`) under the stack's supervisor, polling a queue of this test's
// own so no other worker can take its tasks and no other test's worker is killed.
describe('worker supervisor (fti stack up --workers)', () => {
  const taskQueue = uniqueName('fti-supervised');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-supervisor-'));
  const files = {
    pid: path.join(dir, 'worker.pid'),
    childPid: path.join(dir, 'worker.child.pid'),
    log: path.join(dir, 'worker.log'),
  };
  let connection: Connection;
  let client: Client;

  /** Runs platformCheck on the test queue; returns the pid of the worker process that did it. */
  const checkedBy = async (): Promise<number> => {
    const report = await client.workflow.execute<typeof platformCheck>('platformCheck', {
      taskQueue,
      workflowId: uniqueName('supervised-check'),
      args: [{ taskQueues: [taskQueue] }],
      workflowExecutionTimeout: '2 minutes',
    });
    expect(report.ok).toBe(true);
    return Number(report.queues[0]!.worker.split(':').pop());
  };
  const waitFor = async <T>(what: string, check: () => T | undefined, timeoutMs = 60_000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = check();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; log:\n${logText()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const logText = () => (fs.existsSync(files.log) ? fs.readFileSync(files.log, 'utf8') : '(no log)');

  beforeAll(async () => {
    const config = loadConfig();
    connection = await Connection.connect(temporalConnectionOptions(config));
    client = new Client({ connection, namespace: config.temporalNamespace });
  });
  afterAll(async () => {
    await stopRecorded(files.pid, 15_000);
    await connection?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('restarts a worker killed with SIGKILL (new pid, exit logged) and the new one takes work; stop leaves nothing behind', async () => {
    expect(fs.existsSync(path.join(projectRoot(), 'dist', 'infra', 'supervisor.js'))).toBe(true);
    const { supervisorPid } = startSupervisedProcess({
      name: taskQueue,
      script: path.join(projectRoot(), 'dist', 'workers', 'features.js'),
      pidFile: files.pid,
      childPidFile: files.childPid,
      logFile: files.log,
      env: { ...process.env, [WORKER_TASK_QUEUE_ENV]: taskQueue, LOG_LEVEL: 'info' },
    });
    const first = await waitFor('the worker to start', () => readLiveProcess(files.childPid)?.pid);
    expect(first).not.toBe(supervisorPid);
    expect(await checkedBy()).toBe(first);

    process.kill(first, 'SIGKILL');
    const second = await waitFor('the worker to be restarted', () => {
      const pid = readLiveProcess(files.childPid)?.pid;
      return pid !== undefined && pid !== first ? pid : undefined;
    });
    expect(isAlive(first)).toBe(false);
    expect(readLiveProcess(files.pid)?.pid).toBe(supervisorPid);
    // The restart is logged with the signal that ended the worker.
    expect(logText()).toMatch(/exited unexpectedly \(signal SIGKILL\); restarting in \d+ ms/);
    expect(await checkedBy()).toBe(second);

    // Stopping by pid file (what `fti stack down` does) ends supervisor and worker: no restart.
    expect(await stopRecorded(files.pid, 15_000)).toBe(true);
    expect(isAlive(supervisorPid)).toBe(false);
    expect(isAlive(second)).toBe(false);
    expect(fs.existsSync(files.pid) || fs.existsSync(files.childPid)).toBe(false);
  });
});
