// Build step: bundles workflows/ once so production workers start without webpack.
import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { WORKFLOW_BUNDLE_PATH } from './worker-factory';

async function main(): Promise<void> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows'),
    logger: new DefaultLogger('WARN'),
  });
  fs.mkdirSync(path.dirname(WORKFLOW_BUNDLE_PATH), { recursive: true });
  fs.writeFileSync(WORKFLOW_BUNDLE_PATH, code);
  process.stdout.write(`workflow bundle: ${WORKFLOW_BUNDLE_PATH} (${(code.length / 1024).toFixed(0)} KiB)\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bundling failed: ${String(error)}\n`);
  process.exit(1);
});
