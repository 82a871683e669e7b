export type { ObjectStore, ObjectInfo, ObjectBody, PutOptions } from './object-store';
export { S3ObjectStore } from './s3/s3-object-store';
export type { S3ObjectStoreOptions } from './s3/s3-object-store';
export { ObjectCache } from './object-cache';
export type { ObjectCacheOptions } from './object-cache';
export { assertObjectKey, joinKey } from './keys';
export {
  ObjectNotFoundError,
  ObjectAccessDeniedError,
  ObjectStoreUnavailableError,
  ImmutableObjectConflictError,
} from './errors';
export { objectStoreFromConfig } from './from-config';
