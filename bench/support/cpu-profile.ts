// CPU profiles of a benchmark's measured phase only (not its setup), written as V8 `.cpuprofile`
// files for bench/support/flamegraph.ts. `node --cpu-prof` profiles the whole process, and async
// continuations lose their caller, so a phase cannot be cut out of it afterwards.
import fs from 'node:fs';
import { Session } from 'node:inspector/promises';

/** The `--cpu-prof=FILE` argument of a benchmark's command line, if given. */
export function cpuProfileArgument(argv: readonly string[] = process.argv): string | undefined {
  return argv.find((a) => a.startsWith('--cpu-prof='))?.slice('--cpu-prof='.length) || undefined;
}

/**
 * Runs `phase`; when `file` is set, samples this thread's CPU while it runs (every `intervalUs`)
 * and writes the profile to `file`. The phase's result and errors pass through unchanged.
 */
export async function profiled<T>(
  file: string | undefined,
  phase: () => Promise<T>,
  intervalUs = 500,
): Promise<T> {
  if (!file) return phase();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: intervalUs });
  await session.post('Profiler.start');
  try {
    return await phase();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    fs.writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
  }
}
