import { execFileSync } from 'node:child_process';
import os from 'node:os';

/** What a training worker can compute on. */
export interface DeviceReport {
  readonly host: string;
  readonly cpus: number;
  readonly memoryGiB: number;
  /** NVIDIA GPUs seen by `nvidia-smi` (empty when there is none or no driver). */
  readonly gpus: readonly { readonly index: number; readonly name: string; readonly memoryMiB: number }[];
}

/** Lists CPUs, memory and NVIDIA GPUs (via `nvidia-smi`, when present). Never throws. */
export function describeDevices(): DeviceReport {
  let gpus: DeviceReport['gpus'];
  try {
    const out = execFileSync(
      'nvidia-smi',
      ['--query-gpu=index,name,memory.total', '--format=csv,noheader,nounits'],
      {
        encoding: 'utf8',
        timeout: 5000,
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    );
    gpus = out
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [index, name, memory] = line.split(',').map((s) => s.trim());
        return { index: Number(index), name: name ?? 'gpu', memoryMiB: Number(memory) };
      });
  } catch {
    gpus = [];
  }
  return {
    host: os.hostname(),
    cpus: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    gpus,
  };
}
