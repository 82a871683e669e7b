export * from './model-registry';
export * from './training-runs';
