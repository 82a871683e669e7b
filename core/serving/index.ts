export * from './deployments';
export * from './scorer';
export * from './runtime';
export * from './api-keys';
export * from './prediction-log';
export * from './metrics';
export * from './server';
export * from './batch';
export { chooseRollbackTarget, type VersionForRollback } from './rollback-target';
