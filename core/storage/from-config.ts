import type { FtiConfig } from '../config';
import { S3ObjectStore, type S3ObjectStoreOptions } from './s3/s3-object-store';

/**
 * The S3 store the configuration points at, under the configured `S3_PREFIX` and optionally a
 * further key prefix; `overrides`
 * adjust single options (tests use them for wrong credentials, small parts, short retries).
 */
export function objectStoreFromConfig(
  config: FtiConfig,
  prefix = '',
  overrides: Partial<S3ObjectStoreOptions> = {},
): S3ObjectStore {
  return new S3ObjectStore({
    endpoint: config.s3Endpoint,
    region: config.s3Region,
    accessKeyId: config.s3AccessKeyId,
    secretAccessKey: config.s3SecretAccessKey,
    bucket: config.s3Bucket,
    forcePathStyle: config.s3ForcePathStyle,
    prefix: [config.s3Prefix, prefix].filter(Boolean).join('/'),
    ...overrides,
  });
}
