// The threads of one GBDT training run: the calling thread (thread 0) plus `threads - 1` helpers
// (gbdt-worker.ts) over shared memory. An operation is started by bumping a shared counter; every
// thread claims work items until none are left; the caller blocks on Atomics until the helpers are done. No message is
// posted per operation, so a tree's dozen operations cost microseconds of coordination.
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { projectRoot } from '../../project-root';
import { runOp } from './gbdt-kernels';
import { CTRL, OP, POOL_CHUNK_SLOTS, viewState, type GbdtBuffers, type GbdtState } from './gbdt-state';

/** The compiled helper entry: beside this file when running compiled, else the build's copy. */
function workerEntry(): string | undefined {
  const sibling = path.join(__dirname, 'gbdt-worker.js');
  if (fs.existsSync(sibling)) return sibling;
  try {
    const built = path.join(projectRoot(), 'dist', 'core', 'ml', 'trainers', 'gbdt-worker.js');
    return fs.existsSync(built) ? built : undefined;
  } catch {
    return undefined;
  }
}

/** A new chunk of the histogram pool, posted to every helper. */
export interface PoolChunk {
  readonly poolChunk: SharedArrayBuffer;
}

/** What a helper posts once it has mapped the buffers (or why it cannot). */
export type HelperReady = { readonly ready: true } | { readonly ready: false; readonly reason: string };

/**
 * Runs operations on every thread of a training run. Built with {@link GbdtTeam.start}; a team whose
 * helpers could not start runs everything on the calling thread (same results, one core).
 */
export class GbdtTeam {
  private constructor(
    buffers: GbdtBuffers,
    private readonly helpers: readonly Worker[],
    readonly state: GbdtState = viewState(buffers),
  ) {}

  /**
   * Starts `buffers.shape.threads - 1` helpers and resolves once they have mapped the buffers.
   * Falls back to the calling thread alone when the helper entry is not built or a helper fails to
   * start (its state then says `threads: 1`, and so do the shares).
   */
  static async start(buffers: GbdtBuffers): Promise<GbdtTeam> {
    const entry = buffers.shape.threads > 1 ? workerEntry() : undefined;
    if (!entry) return new GbdtTeam(single(buffers), []);
    const helpers = Array.from(
      { length: buffers.shape.threads - 1 },
      (_, i) => new Worker(entry, { workerData: { buffers, thread: i + 1 } }),
    );
    const ready = await Promise.all(
      helpers.map(
        (w) =>
          new Promise<boolean>((resolve) => {
            w.once('message', (m: HelperReady) => resolve(m.ready));
            w.once('error', () => resolve(false));
            w.once('exit', () => resolve(false));
          }),
      ),
    );
    if (ready.every(Boolean)) return new GbdtTeam(buffers, helpers);
    await Promise.all(helpers.map((w) => w.terminate()));
    return new GbdtTeam(single(buffers), []);
  }

  /** Runs operation `op` (arguments already in the state) on every thread; returns when all are done. */
  run(op: number): void {
    const { ctrl } = this.state;
    Atomics.store(ctrl, CTRL.op, op);
    Atomics.store(ctrl, CTRL.done, 0);
    Atomics.store(ctrl, CTRL.next, 0);
    if (this.helpers.length > 0) {
      Atomics.add(ctrl, CTRL.seq, 1);
      Atomics.notify(ctrl, CTRL.seq);
    }
    runOp(this.state, 0);
    for (;;) {
      const done = Atomics.load(ctrl, CTRL.done);
      if (done >= this.helpers.length) break;
      Atomics.wait(ctrl, CTRL.done, done);
    }
    if (Atomics.load(ctrl, CTRL.error) !== 0) throw new Error('a gbdt helper thread failed');
  }

  /** Makes room for `slots` node histograms in the shared pool; helpers map new chunks before their next operation. */
  ensurePool(slots: number): void {
    const { pool, ctrl, histSize } = this.state;
    while (pool.length * POOL_CHUNK_SLOTS < slots) {
      const chunk = new SharedArrayBuffer(POOL_CHUNK_SLOTS * histSize * 8);
      pool.push(new Float64Array(chunk));
      for (const helper of this.helpers) helper.postMessage({ poolChunk: chunk } satisfies PoolChunk);
      Atomics.store(ctrl, CTRL.poolChunks, pool.length);
    }
  }

  /** Stops the helpers (also after a failed or cancelled run). */
  async close(): Promise<void> {
    if (this.helpers.length === 0) return;
    Atomics.store(this.state.ctrl, CTRL.op, OP.stop);
    Atomics.add(this.state.ctrl, CTRL.seq, 1);
    Atomics.notify(this.state.ctrl, CTRL.seq);
    await Promise.all(this.helpers.map((w) => w.terminate()));
  }
}

/** The same buffers, for the calling thread alone. */
function single(b: GbdtBuffers): GbdtBuffers {
  return { ...b, shape: { ...b.shape, threads: 1 }, partials: b.partials.slice(0, 1) };
}
