/** What fired an alert. */
export type AlertKind =
  | 'drift'
  | 'data_quality'
  | 'performance'
  | 'estimated_performance'
  | 'freshness'
  | 'pipeline_failure'
  | 'validation_failure'
  | 'stale_feature_group'
  | 'test';

/** How urgent an alert is. */
export type AlertSeverity = 'info' | 'warning' | 'critical';

/** The object an alert is about. */
export interface AlertSubject {
  readonly type: 'deployment' | 'feature_group' | 'stream_pipeline' | 'pipeline';
  readonly name: string;
}

/**
 * One alert, as delivered to every sink. `id` is a UUID chosen when the alert fires and kept across
 * delivery retries: receivers deduplicate on it (it is also sent as `X-FTI-Event-Id`).
 */
export interface AlertEvent {
  /** UUID; the idempotency key a receiver deduplicates on. */
  readonly id: string;
  /** Name of the monitoring rule that fired. */
  readonly rule: string;
  readonly kind: AlertKind;
  readonly severity: AlertSeverity;
  readonly subject: AlertSubject;
  /** One line, for notification titles. */
  readonly title: string;
  /** A few sentences: what was observed and why it matters. */
  readonly summary: string;
  /** JSON-serializable evidence (statistic, value, threshold, window). Never secrets or feature values. */
  readonly details: Readonly<Record<string, unknown>>;
  /** When the rule fired, ISO-8601. */
  readonly firedAt: string;
}

/** The JSON document a `json` sink receives. `version` changes only on incompatible changes. */
export interface AlertPayload {
  readonly type: 'fti.alert';
  readonly version: 1;
  readonly alert: AlertEvent;
}

/**
 * The body a `json` sink receives: the event as it is, wrapped in a typed, versioned envelope so
 * receivers can route on `type` and reject versions they do not know.
 */
export function alertPayload(event: AlertEvent): AlertPayload {
  return { type: 'fti.alert', version: 1, alert: event };
}

/** A Block Kit text object. */
export interface SlackText {
  readonly type: 'plain_text' | 'mrkdwn';
  readonly text: string;
  readonly emoji?: boolean;
}

/** The Block Kit blocks {@link slackPayload} produces. */
export type SlackBlock =
  | { readonly type: 'header'; readonly text: SlackText }
  | { readonly type: 'section'; readonly text?: SlackText; readonly fields?: readonly SlackText[] }
  | { readonly type: 'context'; readonly elements: readonly SlackText[] };

/** A Slack incoming-webhook body: `text` is the notification fallback, `blocks` the message. */
export interface SlackPayload {
  readonly text: string;
  readonly blocks: readonly SlackBlock[];
}

/** Slack's documented limits (Block Kit reference), in characters. */
export const SLACK_LIMITS = {
  headerText: 150,
  sectionText: 3000,
  fieldText: 2000,
  fields: 10,
  contextElements: 10,
  fallbackText: 3000,
} as const;

const SEVERITY_EMOJI: Record<AlertSeverity, string> = {
  critical: ':rotating_light:',
  warning: ':warning:',
  info: ':information_source:',
};

const SUBJECT_LABEL: Record<AlertSubject['type'], string> = {
  deployment: 'deployment',
  feature_group: 'feature group',
  stream_pipeline: 'streaming pipeline',
  pipeline: 'pipeline',
};

/**
 * A Slack incoming-webhook body for an alert: a header with severity and title, the summary, the
 * subject/rule/kind, and the first {@link SLACK_LIMITS.fields} details as fields. Guarantees: every
 * text fits Slack's limits (cut at a character boundary, never inside an escape, marked with "…");
 * user-supplied text is escaped (`&`, `<`, `>`), so a title cannot mention `@channel` or forge links.
 */
export function slackPayload(event: AlertEvent): SlackPayload {
  const severity = event.severity.toUpperCase();
  const subject = `${SUBJECT_LABEL[event.subject.type] ?? event.subject.type} ${event.subject.name}`;
  const blocks: SlackBlock[] = [
    {
      type: 'header',
      text: {
        type: 'plain_text',
        text: truncate(
          oneLine(`${SEVERITY_EMOJI[event.severity] ?? ''} ${severity}: ${event.title}`),
          SLACK_LIMITS.headerText,
        ),
        emoji: true,
      },
    },
    { type: 'section', text: mrkdwn(event.summary || '(no summary)', SLACK_LIMITS.sectionText) },
    {
      type: 'section',
      fields: [
        mrkdwn(`*Severity*\n${severity}`, SLACK_LIMITS.fieldText),
        mrkdwn(`*Subject*\n${subject}`, SLACK_LIMITS.fieldText),
        mrkdwn(`*Rule*\n${event.rule}`, SLACK_LIMITS.fieldText),
        mrkdwn(`*Kind*\n${event.kind}`, SLACK_LIMITS.fieldText),
      ],
    },
  ];
  const details = Object.entries(event.details ?? {}).filter(([, value]) => value !== undefined);
  const shown = details.slice(0, SLACK_LIMITS.fields);
  if (shown.length > 0) {
    blocks.push({
      type: 'section',
      fields: shown.map(([key, value]) =>
        mrkdwn(`*${truncate(oneLine(key), 100)}*\n${formatValue(value)}`, SLACK_LIMITS.fieldText),
      ),
    });
  }
  const context = [`fired ${event.firedAt}`, `event ${event.id}`];
  if (details.length > shown.length) context.push(`${details.length - shown.length} more details not shown`);
  blocks.push({ type: 'context', elements: context.map((text) => mrkdwn(text, SLACK_LIMITS.fieldText)) });
  return {
    text: escapeAndTruncate(`[${severity}] ${event.title} (${subject})`, SLACK_LIMITS.fallbackText),
    blocks,
  };
}

function mrkdwn(text: string, limit: number): SlackText {
  return { type: 'mrkdwn', text: escapeAndTruncate(text, limit) };
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** Slack's required escapes; `*` and `\n` that this module adds stay formatting. */
function escapeSlack(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Escapes, then cuts to `limit` characters without splitting an `&…;` escape. */
function escapeAndTruncate(text: string, limit: number): string {
  const escaped = escapeSlack(text);
  if (escaped.length <= limit) return escaped;
  let cut = truncate(escaped, limit).slice(0, -1);
  // An escape is at most 5 characters (`&amp;`): drop a partial one left at the end.
  const amp = cut.lastIndexOf('&');
  if (amp >= 0 && amp >= cut.length - 4 && !cut.slice(amp).includes(';')) cut = cut.slice(0, amp);
  return `${cut}…`;
}

/** Cuts to at most `limit` UTF-16 units, ending in "…", never between the halves of a surrogate pair. */
function truncate(text: string, limit: number): string {
  if (text.length <= limit) return text;
  let end = limit - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}…`;
}

function formatValue(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  if (value === null) return 'null';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return '(not serializable)';
  }
}
