import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { ValidationError } from '../errors';
import { projectRoot } from '../project-root';
import type { Predictions } from './task';
import type { StepMetric, TrainInput } from './trainers/trainer';

/** A job posted to a training thread. */
export interface ThreadJob {
  readonly trainer: string;
  readonly input: TrainInput;
  readonly params: Readonly<Record<string, unknown>>;
  readonly seed: number;
  /** Rows whose predictions come back with the model (to check the ONNX export). */
  readonly check: { readonly X: Float64Array; readonly rows: number };
}

/** What a training thread posts back. */
export type ThreadMessage =
  | {
      readonly type: 'progress';
      readonly done: number;
      readonly total: number;
      readonly metrics?: Readonly<Record<string, number>>;
    }
  | {
      readonly type: 'done';
      readonly onnx: Uint8Array;
      readonly params: Readonly<Record<string, unknown>>;
      readonly history: readonly StepMetric[];
      readonly info: Readonly<Record<string, number | string>>;
      readonly check: Predictions;
    }
  | { readonly type: 'error'; readonly message: string; readonly validation: boolean };

/** A model trained on a thread. */
export type ThreadResult = Extract<ThreadMessage, { type: 'done' }>;

/** The compiled thread entry: beside this file when running compiled, else the build's copy. */
function threadEntry(): string {
  const sibling = path.join(__dirname, 'trainer-thread.js');
  if (fs.existsSync(sibling)) return sibling;
  return path.join(projectRoot(), 'dist', 'core', 'ml', 'trainer-thread.js');
}

/**
 * A pool of training threads, one per core by default: built-in trainers run there, so a long
 * GBDT or MLP never blocks the worker's event loop (heartbeats keep flowing; a cancelled run stops
 * within a heartbeat, because its thread is terminated at once). Threads are reused between jobs
 * and never keep the process alive.
 */
export class TrainerThreads {
  private readonly idle: Worker[] = [];
  private busy = 0;
  private readonly queue: (() => void)[] = [];

  constructor(readonly size = Math.max(1, os.availableParallelism())) {}

  /** Jobs training right now. */
  get running(): number {
    return this.busy;
  }

  /** Whether the thread entry exists (it is compiled by `npm run build`). */
  static available(): boolean {
    return fs.existsSync(threadEntry());
  }

  /**
   * Trains `job` on a free thread (waiting for one when all are busy). `signal` aborts: the thread
   * is terminated and the promise rejects with the signal's reason.
   */
  async run(
    job: ThreadJob,
    options: {
      readonly onProgress?: (done: number, total: number, metrics?: Readonly<Record<string, number>>) => void;
      readonly signal?: AbortSignal;
    } = {},
  ): Promise<ThreadResult> {
    if (this.busy >= this.size) await new Promise<void>((resolve) => this.queue.push(resolve));
    this.busy += 1;
    const worker = this.idle.pop() ?? new Worker(threadEntry());
    worker.unref();
    let reusable = false;
    try {
      const result = await new Promise<ThreadResult>((resolve, reject) => {
        const onAbort = () => {
          void worker.terminate();
          reject(
            options.signal!.reason instanceof Error
              ? options.signal!.reason
              : new Error('training cancelled'),
          );
        };
        if (options.signal?.aborted) return onAbort();
        options.signal?.addEventListener('abort', onAbort, { once: true });
        const cleanup = () => {
          options.signal?.removeEventListener('abort', onAbort);
          worker.off('message', onMessage);
          worker.off('error', onError);
          worker.off('exit', onExit);
        };
        const onMessage = (message: ThreadMessage) => {
          if (message.type === 'progress') options.onProgress?.(message.done, message.total, message.metrics);
          else if (message.type === 'done') {
            cleanup();
            reusable = true;
            resolve(message);
          } else {
            cleanup();
            reusable = true;
            reject(message.validation ? new ValidationError(message.message) : new Error(message.message));
          }
        };
        const onError = (error: Error) => {
          cleanup();
          reject(error);
        };
        const onExit = (code: number) => {
          cleanup();
          reject(new Error(`training thread exited with code ${code}`));
        };
        worker.on('message', onMessage);
        worker.on('error', onError);
        worker.on('exit', onExit);
        worker.postMessage(job);
      });
      return result;
    } finally {
      if (reusable) this.idle.push(worker);
      else void worker.terminate();
      this.busy -= 1;
      this.queue.shift()?.();
    }
  }

  /** Stops every idle thread (busy ones stop when their job ends). */
  async close(): Promise<void> {
    await Promise.all(this.idle.splice(0).map((w) => w.terminate()));
  }
}
