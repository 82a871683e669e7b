// The workflow bundle's entry: every workflow type the platform's workers run.
export { platformCheck } from './platform-check';
export type { PlatformCheckInput, PlatformCheckReport } from './platform-check';
