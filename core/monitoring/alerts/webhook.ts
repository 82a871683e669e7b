import { z } from 'zod';
import { ValidationError } from '../../errors';
import { alertPayload, slackPayload } from './payload';
import type { AlertEvent } from './payload';
import { signWebhook, WEBHOOK_HEADERS } from './signature';

/** `User-Agent` of every delivery. */
export const WEBHOOK_USER_AGENT = 'fti-alerts/1';
/** Default time one delivery attempt may take, response body included. */
export const DEFAULT_WEBHOOK_TIMEOUT_MS = 5000;

/** Headers the sink sets itself; configuring them would break signing or framing. */
const RESERVED_HEADERS = new Set([
  'content-type',
  'content-length',
  'transfer-encoding',
  'connection',
  'host',
  'user-agent',
  ...Object.values(WEBHOOK_HEADERS).map((name) => name.toLowerCase()),
]);
/** RFC 9110 `token`: what an HTTP header name may contain. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const SINK_NAME = /^[a-z][a-z0-9_-]{0,62}$/;
/** What an event id may hold to be sent as a header (a UUID always qualifies). */
const EVENT_ID = /^[A-Za-z0-9._:-]{1,200}$/;

/**
 * Validates a webhook sink. Messages say which field is wrong and how to fix it, and never repeat
 * the URL, the secret or a header value (any of which may hold a credential).
 */
export const webhookSinkSchema = z
  .object({
    name: z.string().regex(SINK_NAME, {
      message: 'must be lowercase letters, digits, _ or - starting with a letter (max 63), e.g. "ops-slack"',
    }),
    url: z.string({ error: 'must be a string' }).superRefine((value, ctx) => {
      const problem = urlProblem(value);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
    }),
    format: z.enum(['json', 'slack'], {
      error: 'must be "json" (the fti.alert document) or "slack" (a Slack incoming-webhook message)',
    }),
    secret: z
      .string({ error: 'must be a string' })
      .min(16, { message: 'must be at least 16 characters; generate one with `openssl rand -hex 32`' })
      .max(1024, { message: 'must be at most 1024 characters' })
      .optional(),
    headers: z
      .record(z.string(), z.string({ error: 'header values must be strings' }))
      .superRefine((headers, ctx) => {
        for (const [name, value] of Object.entries(headers)) {
          const problem = headerProblem(name, value);
          if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem, path: [name] });
        }
      })
      .optional(),
    timeoutMs: z
      .number({ error: 'must be a number of milliseconds' })
      .int({ message: 'must be a whole number of milliseconds' })
      .min(100, { message: 'must be at least 100 ms' })
      .max(120_000, {
        message: 'must be at most 120000 ms; a slow receiver should answer first and work later',
      })
      .default(DEFAULT_WEBHOOK_TIMEOUT_MS),
  })
  .strict();

/** An HTTP endpoint that receives alerts. */
export interface WebhookSink {
  /** Sink name, shown in errors and logs: lowercase letters, digits, `_`, `-`. */
  readonly name: string;
  /**
   * Absolute `http://` or `https://` URL receiving a POST per alert. Treated as a credential in
   * errors (see {@link redactUrl}); `user:pass@` in it is sent as Basic authorization.
   */
  readonly url: string;
  /** `json`: the {@link alertPayload} document; `slack`: a Slack incoming-webhook message. */
  readonly format: 'json' | 'slack';
  /** HMAC key (≥ 16 characters); when set every delivery carries `X-FTI-Signature`. */
  readonly secret?: string;
  /** Extra request headers (e.g. `Authorization`); values are never written to errors. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Longest time one attempt may take, response included. @default 5000 */
  readonly timeoutMs?: number;
}

/** A validated sink with defaults applied. */
export type NormalizedWebhookSink = z.output<typeof webhookSinkSchema>;

// The hand-written interface documents the fields; these lines keep it in step with the schema.
type Assert<T extends true> = T;
type _SinkInputMatches = Assert<WebhookSink extends z.input<typeof webhookSinkSchema> ? true : false>;
type _SinkOutputMatches = Assert<NormalizedWebhookSink extends WebhookSink ? true : false>;

/**
 * Validates a sink definition and applies defaults. Throws {@link ValidationError} naming every bad
 * field (`location`: `where`, e.g. the config file) with the fix; the message holds no URL, secret or
 * header value.
 */
export function parseWebhookSink(input: unknown, where = 'webhook sink'): NormalizedWebhookSink {
  const parsed = webhookSinkSchema.safeParse(input);
  if (!parsed.success)
    throw new ValidationError(describeIssues(parsed.error.issues, input), { location: where });
  return parsed.data;
}

/**
 * A URL safe to log: scheme, host, port and path, without userinfo (`user:pass@`), query string
 * (replaced by `?[redacted]`) or fragment; path segments that look like tokens (20+ characters
 * mixing digits and letters, or 32+ characters, as in Slack or Discord webhook URLs) become
 * `[redacted]`. An unparsable input yields `(invalid URL)`, never the input.
 */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return '(invalid URL)';
  }
  const path = parsed.pathname
    .split('/')
    .map((segment) => (looksLikeToken(segment) ? '[redacted]' : segment))
    .join('/');
  return `${parsed.protocol}//${parsed.host}${path}${parsed.search ? '?[redacted]' : ''}`;
}

/** Options of {@link deliverWebhook}. */
export interface DeliverWebhookOptions {
  /** The `fetch` used (tests). @default globalThis.fetch */
  readonly fetchImpl?: typeof fetch;
  /** Clock for `X-FTI-Timestamp`, in epoch milliseconds. @default Date.now */
  readonly now?: () => number;
  /** Aborts the attempt (e.g. a Temporal activity's cancellation signal); the result is retryable. */
  readonly signal?: AbortSignal;
}

/** How one delivery attempt ended. */
export interface WebhookDeliveryResult {
  /** The receiver answered 2xx. */
  readonly ok: boolean;
  /** The HTTP status, when a response arrived. */
  readonly status?: number;
  /** Whether trying again may succeed (408, 425, 429, 5xx, network error, timeout, cancellation). */
  readonly retryable: boolean;
  /** What went wrong and how to fix it; holds no secret, no header value and only a redacted URL. */
  readonly error?: string;
  /** The receiver's `Retry-After` in milliseconds, when a retryable answer carried one. */
  readonly retryAfterMs?: number;
  /** Time the attempt took. */
  readonly durationMs: number;
}

/** Whether an HTTP status means "try again later" rather than "this request will never succeed". */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || (status >= 500 && status <= 599);
}

/**
 * Makes exactly one attempt to deliver `event` to `sink` and classifies the outcome; retries,
 * backoff and cooldown belong to the caller, which retries when `retryable` is true. Sends one POST
 * with `content-type: application/json`, `user-agent: fti-alerts/1`, `X-FTI-Event-Id` (receivers
 * deduplicate on it), `X-FTI-Timestamp` and, with a secret, `X-FTI-Signature`
 * (see {@link signWebhook}). Redirects are not followed (they would resend headers to another
 * address). The whole attempt, response body included, is bounded by `timeoutMs`.
 * Never rejects: an invalid sink or an event that cannot be serialized is a non-retryable result.
 */
export async function deliverWebhook(
  sink: WebhookSink,
  event: AlertEvent,
  options: DeliverWebhookOptions = {},
): Promise<WebhookDeliveryResult> {
  const started = performance.now();
  const elapsed = (): number => Math.round(performance.now() - started);
  const fail = (
    error: string,
    retryable: boolean,
    extra: { status?: number; retryAfterMs?: number } = {},
  ) => ({
    ok: false,
    retryable,
    error,
    ...extra,
    durationMs: elapsed(),
  });

  const parsed = webhookSinkSchema.safeParse(sink);
  if (!parsed.success) return fail(describeIssues(parsed.error.issues, sink), false);
  const config = parsed.data;
  const label = `webhook sink "${config.name}"`;
  const target = `POST ${redactUrl(config.url)}`;
  const scrub = scrubber(config);

  if (typeof event?.id !== 'string' || !EVENT_ID.test(event.id)) {
    return fail(
      `${label}: the alert id must be a UUID (letters, digits, . _ : -); fix the alert source.`,
      false,
    );
  }
  let body: string;
  try {
    body = JSON.stringify(config.format === 'slack' ? slackPayload(event) : alertPayload(event));
  } catch (error) {
    return fail(
      scrub(
        `${label}: alert ${event.id} cannot be serialized to JSON (${firstLine(error)}); ` +
          'alert details must be plain JSON values (no BigInt, no cycles).',
      ),
      false,
    );
  }

  const timestamp = Math.floor((options.now ?? Date.now)() / 1000);
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    return fail(`${label}: the clock passed as options.now returned no valid epoch milliseconds.`, false);
  }
  const { url, authorization } = splitCredentials(config.url);
  const hasAuthorization = Object.keys(config.headers ?? {}).some(
    (name) => name.toLowerCase() === 'authorization',
  );
  const headers: Record<string, string> = {
    ...(authorization === undefined || hasAuthorization ? {} : { authorization }),
    ...config.headers,
    'content-type': 'application/json',
    'user-agent': WEBHOOK_USER_AGENT,
    [WEBHOOK_HEADERS.eventId]: event.id,
    [WEBHOOK_HEADERS.timestamp]: String(timestamp),
  };
  if (config.secret !== undefined)
    headers[WEBHOOK_HEADERS.signature] = signWebhook(config.secret, timestamp, body);

  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error('webhook delivery timed out'));
  }, config.timeoutMs);
  const cancel = (): void => controller.abort(new Error('webhook delivery cancelled'));
  options.signal?.addEventListener('abort', cancel, { once: true });
  try {
    if (options.signal?.aborted) return fail(`${label}: ${target} was cancelled before it was sent.`, true);
    const response = await (options.fetchImpl ?? fetch)(url, {
      method: 'POST',
      headers,
      body,
      signal: controller.signal,
      redirect: 'manual',
    });
    const status = response.status;
    if (status >= 200 && status <= 299) {
      // The answer's body is not needed: release the connection instead of reading it.
      await response.body?.cancel().catch(() => undefined);
      return { ok: true, status, retryable: false, durationMs: elapsed() };
    }
    if (status >= 300 && status <= 399) {
      await response.body?.cancel().catch(() => undefined);
      const location = resolveLocation(response.headers.get('location'), config.url);
      return fail(
        scrub(
          `${label}: ${target} answered ${status}, a redirect${location ? ` to ${redactUrl(location)}` : ''}; ` +
            'redirects are not followed (they would resend the headers elsewhere) — set the sink url to the final address.',
        ),
        false,
        { status },
      );
    }
    // Scrub before cutting, so a credential the receiver echoes cannot survive half-redacted.
    const text = scrub(oneLine(await readPrefix(response, 4096)));
    const answer = `${label}: ${target} answered ${status}${text ? `: "${cut(text, 200)}"` : ' with an empty body'}`;
    if (isRetryableStatus(status)) {
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), options.now ?? Date.now);
      return fail(`${answer}; the receiver is unavailable or rate-limiting, a retry may succeed.`, true, {
        status,
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      });
    }
    return fail(`${answer}; not retried — ${statusHint(status)}`, false, { status });
  } catch (error) {
    if (timedOut) {
      return fail(
        `${label}: ${target} did not answer within ${config.timeoutMs} ms; a retry may succeed ` +
          '(if the receiver is just slow, have it answer before processing, or raise timeoutMs).',
        true,
      );
    }
    if (options.signal?.aborted) return fail(`${label}: ${target} was cancelled.`, true);
    return fail(
      scrub(`${label}: ${target} failed before an answer (${networkCause(error)}); a retry may succeed.`),
      true,
    );
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', cancel);
  }
}

function statusHint(status: number): string {
  if (status === 401 || status === 403) return 'check the sink secret and its authorization headers.';
  if (status === 404 || status === 410) return 'check the sink url; the endpoint does not exist (any more).';
  if (status === 400 || status === 413 || status === 415 || status === 422) {
    return 'the receiver rejected the body; check the sink format ("json" or "slack") against what it expects.';
  }
  return 'fix the receiver or the sink configuration, then send a test alert.';
}

function urlProblem(value: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    return 'must be an absolute URL such as https://hooks.example.com/alerts';
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return `must use http:// or https:// (got "${parsed.protocol}"); alerts are delivered by HTTP POST`;
  }
  return undefined;
}

function headerProblem(name: string, value: string): string | undefined {
  if (!HEADER_NAME.test(name)) {
    return 'is not a valid HTTP header name (letters, digits and !#$%&\'*+-.^_`|~ only, no spaces or ":")';
  }
  if (RESERVED_HEADERS.has(name.toLowerCase())) return 'is set by the sink itself; remove it from headers';
  if (/[\r\n\0]/.test(value)) return 'value must not contain line breaks or NUL characters';
  if (value.length > 8192) return 'value must be at most 8192 characters';
  return undefined;
}

/** One line naming each bad field; never the value (it may be a URL with a token or a secret). */
function describeIssues(issues: z.ZodError['issues'], input: unknown): string {
  const name =
    typeof input === 'object' && input !== null && typeof (input as { name?: unknown }).name === 'string'
      ? (input as { name: string }).name
      : '';
  const label = SINK_NAME.test(name) ? `webhook sink "${name}"` : 'webhook sink';
  const problems = issues.map((issue) => `${issue.path.map(String).join('.') || '(root)'} ${issue.message}`);
  return `${label}: ${problems.join('; ')}.`;
}

function looksLikeToken(segment: string): boolean {
  if (!/^[A-Za-z0-9._~%-]+$/.test(segment)) return false;
  if (segment.length >= 32) return true;
  return segment.length >= 20 && /[0-9]/.test(segment) && /[A-Za-z]/.test(segment);
}

/** Replaces the URL and every credential-like string of the sink's configuration in `text`. */
function scrubber(sink: NormalizedWebhookSink): (text: string) => string {
  const url = new URL(sink.url);
  const stripped = splitCredentials(sink.url);
  const candidates = [
    sink.secret,
    url.username,
    url.password,
    safeDecode(url.username),
    safeDecode(url.password),
    url.search.slice(1),
    ...url.searchParams.values(),
    ...url.pathname.split('/').filter(looksLikeToken),
    ...Object.values(sink.headers ?? {}).flatMap((value) => [value, ...value.split(/\s+/)]),
    stripped.authorization?.slice('Basic '.length),
  ];
  const secrets = [...new Set(candidates)]
    .filter((value): value is string => typeof value === 'string' && value.length >= 6)
    .sort((a, b) => b.length - a.length);
  const redacted = redactUrl(sink.url);
  return (text) => {
    let out = text.split(sink.url).join(redacted).split(url.href).join(redacted);
    out = out.split(stripped.url).join(redacted);
    for (const secret of secrets) out = out.split(secret).join('[redacted]');
    return out;
  };
}

/** Fetch refuses URLs with `user:pass@`: send them as Basic authorization instead, as curl does. */
function splitCredentials(raw: string): { url: string; authorization?: string } {
  const url = new URL(raw);
  if (url.username === '' && url.password === '') return { url: raw };
  const credentials = `${safeDecode(url.username)}:${safeDecode(url.password)}`;
  url.username = '';
  url.password = '';
  return { url: url.href, authorization: `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}` };
}

function resolveLocation(location: string | null, base: string): string | undefined {
  if (location === null) return undefined;
  try {
    return new URL(location, base).href;
  } catch {
    return undefined;
  }
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** Up to `maxBytes` of a response body, decoded as UTF-8; whatever arrived if reading fails. */
async function readPrefix(response: Response, maxBytes: number): Promise<string> {
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    while (total < maxBytes) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      total += value.byteLength;
    }
  } catch {
    // Timed out or reset mid-body: the status already classifies the outcome.
  } finally {
    reader.cancel().catch(() => undefined);
  }
  return new TextDecoder().decode(Buffer.concat(chunks).subarray(0, maxBytes));
}

function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f\s]+/g, ' ').trim();
}

/** First `limit` characters, not splitting a surrogate pair. */
function cut(text: string, limit: number): string {
  if (text.length <= limit) return text;
  const code = text.charCodeAt(limit - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? limit - 1 : limit);
}

function parseRetryAfter(value: string | null, now: () => number): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now());
}

function firstLine(error: unknown): string {
  // Duck-typed: errors from fetch may come from another realm (jest, vm), where `instanceof Error` fails.
  const message =
    typeof error === 'object' &&
    error !== null &&
    typeof (error as { message?: unknown }).message === 'string'
      ? (error as { message: string }).message
      : String(error);
  return message.split('\n')[0] ?? '';
}

/** The error and its causes, with system error codes (ECONNREFUSED, UND_ERR_SOCKET, …). */
function networkCause(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth += 1) {
    const { code, cause } = current as { code?: unknown; cause?: unknown };
    const message = firstLine(current);
    parts.push(typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message);
    current = cause;
  }
  return parts.filter((part) => part.length > 0).join(' <- ') || firstLine(error) || 'unknown error';
}
