import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { projectRoot } from '../../core/project-root';

/** Result of running the compiled `fti` binary. */
export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `bin/fti.js` as a user would (requires `npm run build`), with extra environment variables. */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 120_000): CliResult {
  const root = projectRoot();
  const result = spawnSync(process.execPath, [path.join(root, 'bin', 'fti.js'), ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: timeoutMs,
  });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/**
 * Like {@link runCli} but without blocking the event loop, for tests whose in-process workers must
 * keep running while the command waits on them.
 */
export function runCliAsync(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 120_000,
): Promise<CliResult> {
  const root = projectRoot();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(root, 'bin', 'fti.js'), ...args], {
      cwd: root,
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}
