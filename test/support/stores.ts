import { loadConfig } from '../../core/config';
import { S3ObjectStore, type S3ObjectStoreOptions } from '../../core/storage';
import { uniqueName } from './ids';

/** An S3 store on the test bucket, scoped under a fresh prefix so tests never see each other's keys. */
export function testObjectStore(overrides: Partial<S3ObjectStoreOptions> = {}): S3ObjectStore {
  const config = loadConfig();
  return new S3ObjectStore({
    endpoint: config.s3Endpoint,
    region: config.s3Region,
    accessKeyId: config.s3AccessKeyId,
    secretAccessKey: config.s3SecretAccessKey,
    bucket: config.s3Bucket,
    forcePathStyle: config.s3ForcePathStyle,
    prefix: uniqueName('t'),
    ...overrides,
  });
}
