// Entry of a GBDT helper thread (started by GbdtTeam): maps the run's shared buffers, then waits on
// the operation counter and runs its share of each operation until told to stop. It never returns
// to its event loop while the run lasts; the coordinator terminates it afterwards.
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { runOp } from './gbdt-kernels';
import { CTRL, GBDT_STATE_VERSION, OP, viewState, type GbdtBuffers } from './gbdt-state';
import type { HelperReady, PoolChunk } from './gbdt-team';

const { buffers, thread } = workerData as { buffers: GbdtBuffers; thread: number };
const port = parentPort!;

if (buffers.version !== GBDT_STATE_VERSION) {
  // Built from other sources than the coordinator (a stale build): refuse, it falls back to one thread.
  port.postMessage({ ready: false, reason: `state version ${buffers.version}` } satisfies HelperReady);
} else {
  const state = viewState(buffers);
  const { ctrl } = state;
  let seen = Atomics.load(ctrl, CTRL.seq);
  port.postMessage({ ready: true } satisfies HelperReady);
  for (;;) {
    Atomics.wait(ctrl, CTRL.seq, seen);
    const seq = Atomics.load(ctrl, CTRL.seq);
    if (seq === seen) continue;
    seen = seq;
    if (Atomics.load(ctrl, CTRL.op) === OP.stop) break;
    try {
      // Histogram pool chunks posted before this operation (queued as soon as posted).
      while (state.pool.length < Atomics.load(ctrl, CTRL.poolChunks)) {
        const m = receiveMessageOnPort(port) as { message: PoolChunk } | undefined;
        if (m) state.pool.push(new Float64Array(m.message.poolChunk));
      }
      runOp(state, thread);
    } catch {
      Atomics.store(ctrl, CTRL.error, 1);
    }
    Atomics.add(ctrl, CTRL.done, 1);
    Atomics.notify(ctrl, CTRL.done);
  }
}
