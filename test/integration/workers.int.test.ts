import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { projectRoot } from '../../core/project-root';
import { runCli } from '../support/cli';

interface RunningWorker {
  readonly child: ChildProcess;
  output: string;
  readonly exited: Promise<number | null>;
}

/** Starts a compiled worker main (dist/workers/<name>.js) on the test namespace. */
function startWorker(name: string, env: NodeJS.ProcessEnv = {}): RunningWorker {
  const child = spawn(process.execPath, [path.join(projectRoot(), 'dist', 'workers', `${name}.js`)], {
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const worker: RunningWorker = {
    child,
    output: '',
    exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
  };
  child.stdout!.on('data', (d: Buffer) => (worker.output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (worker.output += d.toString()));
  return worker;
}

async function waitFor(worker: RunningWorker, text: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!worker.output.includes(text)) {
    if (Date.now() > deadline)
      throw new Error(`worker never printed "${text}":\n${worker.output.slice(-2000)}`);
    if (worker.child.exitCode !== null)
      throw new Error(`worker exited early:\n${worker.output.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('worker processes (compiled, pre-bundled workflows)', () => {
  it('serve their queues for `fti check`, then drain and exit 0 on SIGTERM', async () => {
    const workers = ['features', 'training', 'inference'].map((name) => startWorker(name));
    try {
      await Promise.all(workers.map((w) => waitFor(w, 'worker polling')));
      // The inference worker also runs the online service.
      expect(workers[2]!.output).toContain('inference service listening');
      const check = runCli(['check', '--json']);
      expect(check.stderr).toBe('');
      expect(check.code).toBe(0);
      const report = JSON.parse(check.stdout) as {
        ok: boolean;
        queues: { taskQueue: string }[];
        url: string;
      };
      expect(report.ok).toBe(true);
      expect(report.queues.map((q) => q.taskQueue).sort()).toEqual([
        'fti-features',
        'fti-inference',
        'fti-training',
      ]);
      expect(report.url).toMatch(/\/namespaces\/fti-test\/workflows\/platform-check-/);
    } finally {
      for (const w of workers) w.child.kill('SIGTERM');
    }
    const codes = await Promise.all(workers.map((w) => w.exited));
    expect(codes).toEqual([0, 0, 0]);
    for (const w of workers) {
      expect(w.output).toContain('worker stopped');
      // Structured logs: every line is JSON.
      for (const line of w.output.trim().split('\n')) expect(() => JSON.parse(line)).not.toThrow();
    }
  });

  it('exits 1 with a one-line cause when PostgreSQL is unreachable', async () => {
    const worker = startWorker('training', { DATABASE_URL: 'postgres://u:secretpw@127.0.0.1:9/fti' });
    expect(await worker.exited).toBe(1);
    expect(worker.output).toContain('PostgreSQL at postgres://u:***@127.0.0.1:9/fti is not usable');
    expect(worker.output).not.toContain('secretpw');
  });
});
