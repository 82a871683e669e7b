import { createHmac, timingSafeEqual } from 'node:crypto';
import { ValidationError } from '../../errors';

/** Header names of a signed webhook delivery (HTTP header names are case-insensitive). */
export const WEBHOOK_HEADERS = {
  eventId: 'X-FTI-Event-Id',
  timestamp: 'X-FTI-Timestamp',
  signature: 'X-FTI-Signature',
} as const;

/** Default largest age (and future skew) of a signed delivery's timestamp that verification accepts. */
export const DEFAULT_SIGNATURE_TOLERANCE_SECONDS = 300;

const SIGNATURE_PREFIX = 'sha256=';

/**
 * The `X-FTI-Signature` value for a delivery: `sha256=` followed by the lowercase hex
 * HMAC-SHA256, keyed by `secret`, of `"<timestampSeconds>.<body>"` (the body's UTF-8 bytes when a
 * string). Signing the timestamp with the body is what lets a receiver reject replays.
 * Throws {@link ValidationError} for an empty secret or a timestamp that is not a non-negative integer.
 */
export function signWebhook(secret: string, timestampSeconds: number, body: string | Uint8Array): string {
  if (typeof secret !== 'string' || secret.length === 0) {
    throw new ValidationError('webhook signing: the secret is empty; configure the sink secret.', {
      location: 'secret',
    });
  }
  if (!Number.isSafeInteger(timestampSeconds) || timestampSeconds < 0) {
    throw new ValidationError(
      'webhook signing: timestampSeconds must be a non-negative integer (unix seconds, not milliseconds).',
      { location: 'timestampSeconds' },
    );
  }
  return SIGNATURE_PREFIX + hmacHex(secret, String(timestampSeconds), body);
}

/** Request headers as a receiver has them: a Fetch `Headers` or Node's `IncomingHttpHeaders`. */
export type WebhookRequestHeaders =
  { get(name: string): string | null } | Readonly<Record<string, string | readonly string[] | undefined>>;

/** Input of {@link verifyWebhookSignature}. */
export interface VerifyWebhookSignatureOptions {
  /** The sink's secret; during a rotation pass the old and the new one (either may match). */
  readonly secret: string | readonly string[];
  /** The request's headers. */
  readonly headers: WebhookRequestHeaders;
  /** The raw request body, byte for byte as received: a re-serialized JSON document will not verify. */
  readonly body: string | Uint8Array;
  /** Largest accepted distance between the signed timestamp and now. @default 300 */
  readonly toleranceSeconds?: number;
  /** The current time in unix seconds (tests). @default Math.floor(Date.now() / 1000) */
  readonly nowSeconds?: number;
}

/** Outcome of {@link verifyWebhookSignature}; `reason` says what was wrong and never holds a secret. */
export type WebhookVerification = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/**
 * Checks that a webhook request was signed with `secret` (see {@link signWebhook}) and is fresh:
 * `ok` only when `X-FTI-Timestamp` is within `toleranceSeconds` of now (either way, which rejects
 * replays of captured requests) and one `sha256=` entry of `X-FTI-Signature` equals the HMAC of
 * `"<timestamp>.<body>"`. Comparison is constant-time (`crypto.timingSafeEqual`). Never throws for
 * bad input; a receiver answers 401 when `ok` is false and deduplicates accepted events on their id.
 */
export function verifyWebhookSignature(options: VerifyWebhookSignatureOptions): WebhookVerification {
  const secrets = (typeof options.secret === 'string' ? [options.secret] : options.secret).filter(
    (secret) => typeof secret === 'string' && secret.length > 0,
  );
  if (secrets.length === 0) return fail('no secret configured on the receiver');

  const timestamp = headerValue(options.headers, WEBHOOK_HEADERS.timestamp);
  if (timestamp === undefined) return fail(`missing (or repeated) ${WEBHOOK_HEADERS.timestamp} header`);
  if (!/^\d{1,12}$/.test(timestamp)) return fail(`${WEBHOOK_HEADERS.timestamp} is not unix seconds`);
  const signature = headerValue(options.headers, WEBHOOK_HEADERS.signature);
  if (signature === undefined) return fail(`missing (or repeated) ${WEBHOOK_HEADERS.signature} header`);

  const tolerance = options.toleranceSeconds ?? DEFAULT_SIGNATURE_TOLERANCE_SECONDS;
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  const age = now - Number(timestamp);
  if (!(Math.abs(age) <= tolerance)) {
    return fail(
      age > 0
        ? `timestamp is ${age} s old, more than the ${tolerance} s tolerance (replayed or delayed request)`
        : `timestamp is ${-age} s in the future, more than the ${tolerance} s tolerance (clock skew)`,
    );
  }

  // Several space- or comma-separated entries are allowed so a sender can sign with two keys while rotating.
  const candidates = signature
    .split(/[\s,]+/)
    .filter((entry) => entry.startsWith(SIGNATURE_PREFIX))
    .map((entry) => entry.slice(SIGNATURE_PREFIX.length))
    .filter((hex) => /^[0-9a-fA-F]{64}$/.test(hex))
    .map((hex) => Buffer.from(hex, 'hex'));
  if (candidates.length === 0)
    return fail(`${WEBHOOK_HEADERS.signature} has no sha256=<64 hex digits> entry`);

  let matched = false;
  for (const secret of secrets) {
    const expected = Buffer.from(hmacHex(secret, timestamp, options.body), 'hex');
    // No early exit: the time taken does not reveal which entry or secret matched.
    for (const candidate of candidates) matched = timingSafeEqual(expected, candidate) || matched;
  }
  return matched ? { ok: true } : fail('signature does not match the body (wrong secret or modified body)');
}

function hmacHex(secret: string, timestamp: string, body: string | Uint8Array): string {
  return createHmac('sha256', secret).update(`${timestamp}.`, 'utf8').update(body).digest('hex');
}

function fail(reason: string): WebhookVerification {
  return { ok: false, reason };
}

/** One header's value, case-insensitively; undefined when absent or sent more than once. */
function headerValue(headers: WebhookRequestHeaders, name: string): string | undefined {
  if (typeof headers.get === 'function') {
    const value = (headers as { get(name: string): string | null }).get(name);
    return value === null ? undefined : value.trim();
  }
  const record = headers as Readonly<Record<string, string | readonly string[] | undefined>>;
  const wanted = name.toLowerCase();
  const values = Object.keys(record)
    .filter((key) => key.toLowerCase() === wanted)
    .flatMap((key) => {
      const value = record[key];
      return value === undefined ? [] : typeof value === 'string' ? [value] : [...value];
    });
  return values.length === 1 ? values[0]?.trim() : undefined;
}
