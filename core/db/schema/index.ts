export * from './runs';
export * from './feature-store';
export * from './feature-views';
export * from './registry';
export * from './deployments';
export * from './streams';
export * from './monitoring';
