// Runs before every integration test file: points the whole process at the test database, bucket
// and namespace that `infra/stack.sh up` provisions beside the main ones, so tests never touch the
// main job's data and their workers never take the main workers' tasks. The original values stay
// available as FTI_MAIN_* for the tests that drive the CLI against the main configuration.
import { ENV, loadConfig, testSettingsFor } from '../../core/config';

for (const name of [ENV.databaseUrl, ENV.s3Endpoint, ENV.temporalAddress]) {
  process.env[`FTI_MAIN_${name}`] ??= process.env[name] ?? '';
}
const test = testSettingsFor(loadConfig());
process.env[ENV.databaseUrl] = test.databaseUrl;
process.env[ENV.s3Bucket] = test.s3Bucket;
process.env[ENV.temporalNamespace] = test.temporalNamespace;
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.LOG_LEVEL ??= 'warn';
// Worker processes started by tests serve the inference API on a free port, never the main one.
process.env[ENV.servicePort] = '0';
