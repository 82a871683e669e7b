import { spawnSync } from 'node:child_process';
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
