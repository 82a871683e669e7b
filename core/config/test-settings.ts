import type { FtiConfig } from './config';

/**
 * The isolated resources the test suite uses beside a stack: database `<db>_test`, bucket
 * `<bucket>-test` and namespace `<namespace>-test`, so tests never touch the main job's data and
 * their workers never steal the main workers' tasks. `infra/stack.sh up` provisions both sets.
 */
export function testSettingsFor(config: Pick<FtiConfig, 'databaseUrl' | 's3Bucket' | 'temporalNamespace'>): {
  databaseUrl: string;
  s3Bucket: string;
  temporalNamespace: string;
} {
  const url = new URL(config.databaseUrl);
  const db = url.pathname.replace(/^\//, '') || 'postgres';
  url.pathname = `/${db.endsWith('_test') ? db : `${db}_test`}`;
  return {
    databaseUrl: url.toString(),
    s3Bucket: config.s3Bucket.endsWith('-test') ? config.s3Bucket : `${config.s3Bucket}-test`,
    temporalNamespace: config.temporalNamespace.endsWith('-test')
      ? config.temporalNamespace
      : `${config.temporalNamespace}-test`,
  };
}
