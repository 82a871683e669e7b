import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { sqlPath, withDuck } from '../duckdb';
import { ValidationError } from '../errors';
import type { Dataset, Task } from './task';

/**
 * An external trainer as the worker registers it (never from workflow input): argv (`{job}` becomes
 * the job file's path), a timeout, environment variables to set, and the names of the worker's own
 * variables to pass through (nothing else of the worker's environment reaches the child).
 */
export const externalTrainerDefinitionSchema = z
  .object({
    command: z.array(z.string().min(1)).min(1),
    timeoutSeconds: z
      .number()
      .int()
      .min(1)
      .max(7 * 86_400)
      .default(3600),
    env: z.record(z.string().regex(/^[A-Z_][A-Z0-9_]*$/), z.string()).default({}),
    passEnv: z.array(z.string().regex(/^[A-Z_][A-Z0-9_]*$/)).default([]),
    description: z.string().max(500).default(''),
  })
  .strict();
/** A registered external trainer. */
export type ExternalTrainerDefinition = z.output<typeof externalTrainerDefinitionSchema>;

/** What a training pipeline's input may say about an external trainer: its registered name and params. */
export const externalTrainerRequestSchema = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/, 'a registered external trainer name'),
    params: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();
/** An external trainer request. */
export type ExternalTrainerRequest = z.output<typeof externalTrainerRequestSchema>;

/** The worker's variables every external trainer gets (locale, time zone, search path). */
const BASE_ENV = ['PATH', 'LANG', 'LC_ALL', 'TZ', 'SYSTEMROOT'];
/** Variables a registration may not pass through: the platform's own credentials. */
const NEVER_PASSED = /^(DATABASE_URL|FTI_SOURCE_DATABASE_URL|S3_.*|AWS_.*|NATS_URL|TEMPORAL_.*|PG.*)$/;

/**
 * The child's environment: the base allowlist, the registration's `passEnv` (never credentials),
 * its `env`, then the job's own: `FTI_JOB_FILE`, `HOME` and `TMPDIR` inside the job's folder, and
 * `CUDA_VISIBLE_DEVICES` when the job has a device.
 */
export function externalTrainerEnv(
  definition: ExternalTrainerDefinition,
  job: { readonly jobFile: string; readonly workDir: string; readonly device?: string },
  from: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of [...BASE_ENV, ...definition.passEnv])
    if (!NEVER_PASSED.test(name) && from[name] !== undefined) env[name] = from[name]!;
  Object.assign(env, definition.env);
  env.FTI_JOB_FILE = job.jobFile;
  env.HOME = job.workDir;
  env.TMPDIR = path.join(job.workDir, 'tmp');
  if (job.device !== undefined) env.CUDA_VISIBLE_DEVICES = job.device;
  return env;
}

/**
 * The job file an external trainer reads (`job.json`). Data files are Parquet with one DOUBLE
 * column per model input (named as in `featureNames`, NaN = missing) and a `label` column (class
 * index or value). The trainer must write `model.onnx` (input `features` float [N, D]; outputs
 * `label` + `probabilities` for classification or `prediction` for regression) and may write
 * `metrics.json` (`{ "name": number }`) into `outputDir`. Lines `progress <done>/<total>` on stdout
 * become heartbeats.
 */
export interface ExternalJob {
  readonly task: Task;
  readonly numClasses: number;
  readonly classes: readonly string[] | null;
  readonly featureNames: readonly string[];
  readonly files: { readonly train: string; readonly validation: string | null };
  readonly outputDir: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly seed: number;
}

async function writeDataset(data: Dataset, featureNames: readonly string[], file: string): Promise<void> {
  // One DOUBLE column per model input, then the label, appended straight from the typed arrays.
  const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;
  const cols = data.cols + 1;
  const values = new Float64Array(data.rows * cols);
  for (let r = 0; r < data.rows; r++) {
    values.set(data.X.subarray(r * data.cols, (r + 1) * data.cols), r * cols);
    values[r * cols + data.cols] = data.y[r]!;
  }
  await withDuck(async (duck) => {
    await duck.run(
      `CREATE TABLE job_rows (${[...featureNames, 'label'].map((n) => `${quote(n)} DOUBLE`).join(', ')})`,
    );
    await duck.appendMatrix('job_rows', values, data.rows, cols);
    await duck.run(`COPY job_rows TO ${sqlPath(file)} (FORMAT parquet)`);
  });
}

/**
 * Runs an external trainer under the file contract of {@link ExternalJob}: writes the data and the
 * job file into `workDir`, runs the command with a timeout (SIGTERM, then SIGKILL), streams its
 * output to `onLog`, and returns the ONNX bytes and metrics it wrote. A non-zero exit, a timeout or
 * a missing `model.onnx` is an error quoting the last lines of its output.
 */
export async function runExternalTrainer(
  spec: ExternalTrainerDefinition & {
    readonly name: string;
    readonly params: Readonly<Record<string, unknown>>;
  },
  job: Omit<ExternalJob, 'files' | 'outputDir' | 'params'> & {
    readonly train: Dataset;
    readonly validation?: Dataset;
  },
  context: {
    readonly workDir: string;
    /** The device the job runs on (`CUDA_VISIBLE_DEVICES`), when its worker owns devices. */
    readonly device?: string;
    readonly onLog?: (line: string) => void;
    readonly onProgress?: (done: number, total: number) => void;
    readonly signal?: AbortSignal;
  },
): Promise<{ onnx: Uint8Array; metrics: Record<string, number> }> {
  const outputDir = path.join(context.workDir, 'output');
  await fs.promises.mkdir(outputDir, { recursive: true });
  await fs.promises.mkdir(path.join(context.workDir, 'tmp'), { recursive: true });
  const files = {
    train: path.join(context.workDir, 'train.parquet'),
    validation: job.validation ? path.join(context.workDir, 'validation.parquet') : null,
  };
  await writeDataset(job.train, job.featureNames, files.train);
  if (job.validation) await writeDataset(job.validation, job.featureNames, files.validation!);
  const jobFile = path.join(context.workDir, 'job.json');
  const jobBody: ExternalJob = {
    task: job.task,
    numClasses: job.numClasses,
    classes: job.classes,
    featureNames: job.featureNames,
    files,
    outputDir,
    params: spec.params,
    seed: job.seed,
  };
  await fs.promises.writeFile(jobFile, JSON.stringify(jobBody, null, 2));
  const argv = spec.command.map((a) => a.replaceAll('{job}', jobFile));
  const tail: string[] = [];
  const exit = await new Promise<{ code: number | null; timedOut: boolean; error?: Error }>((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd: context.workDir,
      env: externalTrainerEnv(spec, {
        jobFile,
        workDir: context.workDir,
        ...(context.device !== undefined ? { device: context.device } : {}),
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5000).unref();
    }, spec.timeoutSeconds * 1000);
    const onAbort = () => child.kill('SIGTERM');
    context.signal?.addEventListener('abort', onAbort);
    const consume = (stream: NodeJS.ReadableStream) => {
      let buffer = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        buffer += chunk;
        const lines = buffer.split('\n');
        buffer = lines.pop() ?? '';
        for (const line of lines) {
          tail.push(line);
          if (tail.length > 30) tail.shift();
          context.onLog?.(line);
          const progress = /^progress (\d+)\/(\d+)/.exec(line);
          if (progress) context.onProgress?.(Number(progress[1]), Number(progress[2]));
        }
      });
    };
    consume(child.stdout);
    consume(child.stderr);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ code: null, timedOut, error });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      context.signal?.removeEventListener('abort', onAbort);
      resolve({ code, timedOut });
    });
  });
  const last = tail.slice(-10).join('\n');
  if (exit.error)
    throw new ValidationError(
      `external trainer ${spec.name} (${JSON.stringify(argv[0])}) could not start: ${exit.error.message}; check its registration.`,
    );
  if (exit.timedOut)
    throw new ValidationError(
      `external trainer ${spec.name} timed out after ${spec.timeoutSeconds} s. Last output:\n${last}`,
    );
  if (exit.code !== 0)
    throw new ValidationError(
      `external trainer ${spec.name} exited with code ${exit.code}. Last output:\n${last}`,
    );
  const modelFile = path.join(outputDir, 'model.onnx');
  if (!fs.existsSync(modelFile))
    throw new ValidationError(
      `external trainer finished without writing ${modelFile} (the contract's output). Last output:\n${last}`,
    );
  const onnx = new Uint8Array(await fs.promises.readFile(modelFile));
  let metrics: Record<string, number> = {};
  const metricsFile = path.join(outputDir, 'metrics.json');
  if (fs.existsSync(metricsFile)) {
    try {
      const parsed = JSON.parse(await fs.promises.readFile(metricsFile, 'utf8')) as unknown;
      metrics = Object.fromEntries(
        Object.entries(parsed as Record<string, unknown>).filter(
          (e): e is [string, number] => typeof e[1] === 'number' && Number.isFinite(e[1]),
        ),
      );
    } catch {
      throw new ValidationError(
        `external trainer wrote ${metricsFile}, which is not a JSON object of numbers.`,
      );
    }
  }
  return { onnx, metrics };
}
