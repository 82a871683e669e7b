import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

// Workflow code changes must not break runs already in flight: histories recorded by earlier code
// replay with today's workflows (Temporal's replay test, against the built bundle the workers load).
// Each fixture is a real history recorded before the change it guards.
describe('workflow replay: histories recorded by earlier code still replay', () => {
  const dir = path.resolve(__dirname, '../fixtures/histories');
  const replay = (file: string) =>
    run(process.execPath, [path.resolve(__dirname, '../support/replay-history.js'), path.join(dir, file)], {
      timeout: 60_000,
    });

  it('a featurePipeline run recorded before its bookkeeping became local activities replays unchanged', async () => {
    // Exported with fetchHistory() from a run before the change (8 activities: startFeatureRun and
    // finishFeatureRun were ordinary activities then); see test/support/replay-history.js.
    const file = 'feature-pipeline-before-local-bookkeeping.history.bin';
    const { stdout } = await replay(file);
    expect(stdout).toContain(`replayed ${file}`);
  });

  it('a featurePipeline run recorded before extract, validate and commit became one step replays unchanged', async () => {
    // Recorded with the code before the fused ingestFeatures step: extractTransformFeatures,
    // validateFeatures (a suite of one expectation, so a report is stored) and commitFeatures, then
    // the online write and statistics side by side.
    const file = 'feature-pipeline-before-fused-ingest.history.bin';
    const { stdout } = await replay(file);
    expect(stdout).toContain(`replayed ${file}`);
  });
});
