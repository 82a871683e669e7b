import { loadConfig } from '../../core/config';
import { objectStoreFromConfig, type S3ObjectStore, type S3ObjectStoreOptions } from '../../core/storage';
import { uniqueName } from './ids';

/** An S3 store on the test bucket, scoped under a fresh prefix so tests never see each other's keys. */
export function testObjectStore(overrides: Partial<S3ObjectStoreOptions> = {}): S3ObjectStore {
  return objectStoreFromConfig(loadConfig(), uniqueName('t'), overrides);
}
