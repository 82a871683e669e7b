export * from './config';
export * from './errors';
export * from './pipelines';
export * from './storage';
export * from './db';
export { createLogger } from './log';
export type { Logger } from './log';
export { projectRoot } from './project-root';
