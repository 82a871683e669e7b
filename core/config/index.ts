export { loadConfig, redactConfig, redactUrl, CONFIG_DEFAULTS } from './config';
export type { FtiConfig, ConfigOverrides } from './config';
export { ENV } from './env-names';
export { testSettingsFor } from './test-settings';
export type { EnvName } from './env-names';
