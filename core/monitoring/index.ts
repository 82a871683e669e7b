export {
  binCounts,
  chiSquare,
  gammaQ,
  jensenShannon,
  kolmogorovSf,
  ksTwoSample,
  normalizedWasserstein,
  psi,
  quantileEdges,
  std,
  wasserstein,
} from './statistics';
export { categoricalDrift, DEFAULT_P_VALUE, numericDrift, SMALL_SAMPLE } from './drift';
export type { DriftOptions, DriftResult } from './drift';
export {
  mergeWindowProfiles,
  numericProfileOf,
  PROFILE_BINS,
  PROFILE_CATEGORIES,
  profileRelation,
  profileWindow,
} from './profile';
export type {
  CategoricalProfile,
  CategoricalWindow,
  ColumnProfile,
  ColumnWindow,
  DataProfile,
  NumericProfile,
  NumericWindow,
  ProfileColumn,
  WindowProfile,
} from './profile';
export {
  categoricalDriftFromCounts,
  ksFromBins,
  numericDriftFromBins,
  psiFromBins,
  wassersteinFromBins,
} from './binned';
export { checkWindow, DEFAULT_QUALITY } from './checks';
export type { ColumnCheck, ColumnProblem, ColumnThresholds, WindowChecks } from './checks';
export { predictionColumns as predictionProfileColumns, predictionProfileOf } from './prediction-profile';
export type { ModelReferenceProfile } from './prediction-profile';
export { modelVersionReference, trainingDatasetReference } from './references';
export {
  deleteMonitor,
  getMonitor,
  listMonitors,
  monitorHistory,
  MonitorNotFoundError,
  parseMonitorSpec,
  saveMonitor,
} from './monitors';
export type { MonitorInfo, MonitorResultRow, MonitorRunInfo, MonitorSpec } from './monitors';
export { runDeploymentMonitor, VOLUME_BAND } from './deployment-monitor';
export type { MonitoredRole, MonitorDeps, MonitorRunSummary, SegmentChecks } from './deployment-monitor';
export { registerMonitorGauges } from './metrics';
export { CBPE_METRICS, estimatePerformance, fitCbpeReference, realizedPerformance } from './cbpe';
export type { CbpeMetric, CbpeReference, MetricEstimate, PerformanceEstimate } from './cbpe';
export { applyCalibrator, expectedCalibrationError, fitCalibrator } from './calibration';
export type { IsotonicCalibrator } from './calibration';
export {
  alertPayload,
  DEFAULT_SIGNATURE_TOLERANCE_SECONDS,
  DEFAULT_WEBHOOK_TIMEOUT_MS,
  deliverWebhook,
  isRetryableStatus,
  parseWebhookSink,
  redactUrl as redactWebhookUrl,
  signWebhook,
  SLACK_LIMITS,
  slackPayload,
  verifyWebhookSignature,
  WEBHOOK_HEADERS,
  WEBHOOK_USER_AGENT,
  webhookSinkSchema,
} from './alerts';
export type {
  AlertEvent,
  AlertKind,
  AlertPayload,
  AlertSeverity,
  AlertSubject,
  DeliverWebhookOptions,
  NormalizedWebhookSink,
  SlackPayload,
  VerifyWebhookSignatureOptions,
  WebhookDeliveryResult,
  WebhookSink,
} from './alerts';
export {
  alertConditionSchemas,
  AlertConfigNotFoundError,
  deleteAlertRule,
  deleteAlertSink,
  listAlertRules,
  listAlertSinks,
  MONITOR_RULE_KINDS,
  saveAlertRule,
  saveAlertSink,
} from './alerts/rules';
export type { AlertRuleInfo, AlertRuleKind, AlertRuleSpec, AlertSinkInfo } from './alerts/rules';
export {
  acknowledgeAlert,
  applyEvaluation,
  getAlert,
  listAlerts,
  notificationEventId,
} from './alerts/lifecycle';
export type { AlertInfo, AlertNotification, Firing } from './alerts/lifecycle';
export { evaluateMonitorRules, sweepAlertRules } from './alerts/evaluate';
export { alertEventOf, deliverAlertNotification, testAlertEvent } from './alerts/delivery';
