// The threads of one GBDT training run: the calling thread (thread 0) plus `threads - 1` helpers
// (gbdt-worker.ts) over shared memory. An operation is started by bumping a shared counter; every
// thread runs its share; the caller blocks on Atomics until the helpers are done. No message is
// posted per operation, so a tree's dozen operations cost microseconds of coordination.
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { projectRoot } from '../../project-root';
import { runOp } from './gbdt-kernels';
import { CTRL, OP, viewState, type GbdtBuffers, type GbdtState } from './gbdt-state';

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

/** What a helper posts once it has mapped the buffers (or why it cannot). */
export type HelperReady = { readonly ready: true } | { readonly ready: false; readonly reason: string };

/**
 * Runs operations on every thread of a training run. Built with {@link GbdtTeam.start}; a team whose
 * helpers could not start runs everything on the calling thread (same results, one core).
 */
export class GbdtTeam {
  private constructor(
    readonly state: GbdtState,
    private readonly helpers: readonly Worker[],
  ) {}

  /**
   * Starts `buffers.shape.threads - 1` helpers and resolves once they have mapped the buffers.
   * Falls back to the calling thread alone when the helper entry is not built or a helper fails to
   * start (its state then says `threads: 1`, and so do the shares).
   */
  static async start(buffers: GbdtBuffers): Promise<GbdtTeam> {
    const entry = buffers.shape.threads > 1 ? workerEntry() : undefined;
    if (!entry) return new GbdtTeam(viewState(single(buffers)), []);
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
    if (ready.every(Boolean)) return new GbdtTeam(viewState(buffers), helpers);
    await Promise.all(helpers.map((w) => w.terminate()));
    return new GbdtTeam(viewState(single(buffers)), []);
  }

  /** Runs operation `op` (arguments already in the state) on every thread; returns when all are done. */
  run(op: number): void {
    const { ctrl } = this.state;
    Atomics.store(ctrl, CTRL.op, op);
    Atomics.store(ctrl, CTRL.done, 0);
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
