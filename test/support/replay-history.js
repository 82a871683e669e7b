// Replays a workflow history (binary temporal.api.history.v1.History, as fetchHistory() returns it,
// encoded) with the built workflow bundle (dist/workflow-bundle.js). Binary rather than the CLI's
// JSON: the SDK's JSON conversion needs one protobufjs copy, and npm installs several.
// Usage: node test/support/replay-history.js HISTORY.history.bin
// Exits 0 when the history replays, 1 (printing the error) when it does not.
const fs = require('node:fs');
const path = require('node:path');
const { temporal } = require('@temporalio/proto');
const { Worker } = require('@temporalio/worker');

const file = process.argv[2];
const history = temporal.api.history.v1.History.decode(fs.readFileSync(file));
Worker.runReplayHistory(
  { workflowBundle: { codePath: path.resolve(__dirname, '../../dist/workflow-bundle.js') } },
  history,
  path.basename(file),
).then(
  () => console.log(`replayed ${path.basename(file)}`),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
