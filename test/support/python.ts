import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * The project venv's Python, checked to import `modules`. The test command installs the pinned
 * packages (infra/python-ml.sh); a test run without them fails here saying how to install them.
 */
export function projectPython(modules: readonly string[]): string {
  const python = path.resolve(__dirname, '../../.venv/bin/python');
  const missing = () =>
    new Error(
      `${python} cannot import ${modules.join(', ')}; install the pinned Python ML packages with infra/python-ml.sh (the test command runs it).`,
    );
  if (!fs.existsSync(python)) throw missing();
  try {
    execFileSync(python, ['-c', `import ${modules.join(', ')}`], { stdio: 'ignore' });
  } catch {
    throw missing();
  }
  return python;
}
