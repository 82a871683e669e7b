export { loadConfig, processTunables, redactConfig, redactUrl, CONFIG_DEFAULTS } from './config';
export type { FtiConfig, ConfigOverrides, ProcessTunables } from './config';
export { ENV } from './env-names';
export { testSettingsFor } from './test-settings';
export type { EnvName } from './env-names';
export { describeTemporalTarget, temporalConnectionOptions, temporalTlsHint } from './temporal-connection';
export type { TemporalConnectionOptions } from './temporal-connection';
