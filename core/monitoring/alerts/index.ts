/**
 * Webhook alert sink: alert payloads (`json`, `slack`), Stripe-style HMAC signing and verification,
 * and one classified delivery attempt. Retries and cooldown belong to the caller.
 */
export { alertPayload, SLACK_LIMITS, slackPayload } from './payload';
export type {
  AlertEvent,
  AlertKind,
  AlertPayload,
  AlertSeverity,
  AlertSubject,
  SlackBlock,
  SlackPayload,
  SlackText,
} from './payload';
export {
  DEFAULT_SIGNATURE_TOLERANCE_SECONDS,
  signWebhook,
  verifyWebhookSignature,
  WEBHOOK_HEADERS,
} from './signature';
export type { VerifyWebhookSignatureOptions, WebhookRequestHeaders, WebhookVerification } from './signature';
export {
  DEFAULT_WEBHOOK_TIMEOUT_MS,
  deliverWebhook,
  isRetryableStatus,
  parseWebhookSink,
  redactUrl,
  WEBHOOK_USER_AGENT,
  webhookSinkSchema,
} from './webhook';
export type {
  DeliverWebhookOptions,
  NormalizedWebhookSink,
  WebhookDeliveryResult,
  WebhookSink,
} from './webhook';
