// Runs the longest test files first, so that with --maxWorkers they do not start last and stretch
// the run (longest-processing-time-first scheduling). Jest orders by the durations in its cache, but
// a fresh clone (CI) has no cache and falls back to file size, which says little about run time.
// The list holds the files measured above 60 s in a CI run (2 cores, 4 workers); the rest keep
// Jest's order.
const Sequencer = require('@jest/test-sequencer').default;

const LONGEST_FIRST = [
  'test/examples/fraud-drift.int.test.ts',
  'test/chaos/kill-training-pipeline.int.test.ts',
  'test/cli/inference.int.test.ts',
  'test/chaos/kill-batch-inference.int.test.ts',
  'test/chaos/kill-streaming-pipeline.int.test.ts',
  'test/integration/rollout-under-load.int.test.ts',
  'test/chaos/kill-feature-pipeline.int.test.ts',
  'test/chaos/s3-outage.int.test.ts',
  'test/examples/fraud.int.test.ts',
  'test/cli/stream.int.test.ts',
  'test/streaming/streaming-pipeline.int.test.ts',
  'test/monitoring/closed-loop.int.test.ts',
];

class LongestFirstSequencer extends Sequencer {
  sort(tests) {
    const rank = (test) => {
      const i = LONGEST_FIRST.findIndex((suffix) => test.path.endsWith(suffix));
      return i === -1 ? LONGEST_FIRST.length : i;
    };
    const byJest = new Map(super.sort(tests).map((test, i) => [test, i]));
    return [...tests].sort((a, b) => rank(a) - rank(b) || byJest.get(a) - byJest.get(b));
  }
}

module.exports = LongestFirstSequencer;
