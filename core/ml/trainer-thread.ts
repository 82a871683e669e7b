// Entry of a training thread (node:worker_threads): runs one built-in trainer at a time on data
// posted by TrainerThreads, posting progress and the trained model back. Training here keeps the
// worker's event loop free for heartbeats, cancellation and other activities.
import { parentPort } from 'node:worker_threads';
import { ValidationError } from '../errors';
import { TrainerRegistry } from './trainers/registry';
import type { ThreadJob, ThreadMessage } from './trainer-threads';

const registry = new TrainerRegistry();
const port = parentPort!;
const send = (message: ThreadMessage) => port.postMessage(message);

port.on('message', (job: ThreadJob) => {
  void (async () => {
    try {
      const trainer = registry.get(job.trainer);
      const model = await trainer.train(job.input, job.params as never, {
        seed: job.seed,
        onProgress: (done, total, metrics) =>
          send({ type: 'progress', done, total, ...(metrics ? { metrics: { ...metrics } } : {}) }),
      });
      // Predictions on the check rows: the caller compares them with the ONNX export's.
      const check = model.predict(job.check.X, job.check.rows);
      send({
        type: 'done',
        onnx: model.onnx,
        params: { ...model.params },
        history: [...model.history],
        info: { ...model.info },
        check: {
          rows: check.rows,
          ...(check.prediction ? { prediction: check.prediction } : {}),
          ...(check.probabilities ? { probabilities: check.probabilities } : {}),
          ...(check.classes !== undefined ? { classes: check.classes } : {}),
        },
      });
    } catch (error) {
      send({
        type: 'error',
        message: error instanceof Error ? error.message : String(error),
        validation: error instanceof ValidationError,
      });
    }
  })();
});
