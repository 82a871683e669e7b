import { execFileSync } from 'node:child_process';
import { ValidationError } from '../../errors';
import {
  alertPayload,
  deliverWebhook,
  isRetryableStatus,
  parseWebhookSink,
  redactUrl,
  SLACK_LIMITS,
  signWebhook,
  slackPayload,
  verifyWebhookSignature,
  webhookSinkSchema,
} from './index';
import type { AlertEvent, SlackPayload, WebhookSink } from './index';

const SECRET = 'whsec_test_0123456789abcdef';
const TOKEN = 'Bearer tok_live_9f8e7d6c5b4a';

const event: AlertEvent = {
  id: '3f1c2b9e-8d4a-4c6e-9b7a-1e2f3a4b5c6d',
  rule: 'fraud-amount-drift',
  kind: 'drift',
  severity: 'critical',
  subject: { type: 'deployment', name: 'fraud-model' },
  title: 'Drift on feature amount',
  summary: 'The KS test rejects equality of the reference and the last hour of amount (p < 0.01).',
  details: { statistic: 'ks', value: 0.0004, threshold: 0.01, window: '1h', feature: 'amount' },
  firedAt: '2024-05-01T12:00:00.000Z',
};

/** openssl's HMAC of `input`, as an implementation independent of node:crypto. */
function opensslHmac(secret: string, input: string): string {
  const out = execFileSync('openssl', ['dgst', '-sha256', '-hmac', secret], {
    input: Buffer.from(input, 'utf8'),
  });
  const hex = out.toString('utf8').trim().split(/\s+/).pop();
  if (hex === undefined || !/^[0-9a-f]{64}$/.test(hex)) throw new Error(`unexpected openssl output: ${out}`);
  return hex;
}

describe('signWebhook', () => {
  const body = '{"type":"fti.alert","version":1,"alert":{"id":"3f1c2b9e-8d4a-4c6e-9b7a-1e2f3a4b5c6d"}}';

  it('matches a vector computed with openssl', () => {
    // Computed with: printf '%s' '1700000000.<body>' | openssl dgst -sha256 -hmac 'whsec_test_0123456789abcdef'
    expect(signWebhook(SECRET, 1_700_000_000, body)).toBe(
      'sha256=036e6780bdea0397376ad741ac5e3bc6d6856b50fb2aca5dc57b226573d7e60f',
    );
  });

  it('matches openssl run now on a non-ASCII body, given as a string or as bytes', () => {
    const unicode = JSON.stringify(
      alertPayload({ ...event, title: 'Dérive ≥ 3σ 🚨', summary: 'naïve "quotes"\n' }),
    );
    const expected = `sha256=${opensslHmac(SECRET, `1712345678.${unicode}`)}`;
    expect(signWebhook(SECRET, 1_712_345_678, unicode)).toBe(expected);
    expect(signWebhook(SECRET, 1_712_345_678, Buffer.from(unicode, 'utf8'))).toBe(expected);
  });

  it('rejects an empty secret and a non-integer timestamp', () => {
    expect(() => signWebhook('', 1, body)).toThrow(ValidationError);
    expect(() => signWebhook(SECRET, 1.5, body)).toThrow(/unix seconds/);
    expect(() => signWebhook(SECRET, -1, body)).toThrow(ValidationError);
  });
});

describe('verifyWebhookSignature', () => {
  const body = JSON.stringify(alertPayload(event));
  const ts = 1_700_000_000;
  const headers = {
    'x-fti-event-id': event.id,
    'x-fti-timestamp': String(ts),
    'x-fti-signature': signWebhook(SECRET, ts, body),
  };
  const verify = (overrides: Partial<Parameters<typeof verifyWebhookSignature>[0]> = {}) =>
    verifyWebhookSignature({ secret: SECRET, headers, body, nowSeconds: ts + 10, ...overrides });

  it('accepts a good signature from Node headers, Fetch Headers, raw bytes and mixed-case names', () => {
    expect(verify()).toEqual({ ok: true });
    expect(verify({ headers: new Headers(headers) })).toEqual({ ok: true });
    expect(verify({ body: Buffer.from(body) })).toEqual({ ok: true });
    expect(
      verify({ headers: { 'X-FTI-Timestamp': String(ts), 'X-Fti-Signature': headers['x-fti-signature'] } }),
    ).toEqual({ ok: true });
  });

  it('accepts either secret during a rotation and any listed signature', () => {
    expect(verify({ secret: ['an-older-secret-000000', SECRET] })).toEqual({ ok: true });
    const both = `sha256=${'0'.repeat(64)} ${headers['x-fti-signature']}`;
    expect(verify({ headers: { ...headers, 'x-fti-signature': both } })).toEqual({ ok: true });
  });

  it('rejects a changed body', () => {
    const result = verify({ body: body.replace('critical', 'info') });
    expect(result).toEqual({ ok: false, reason: expect.stringMatching(/does not match/) });
  });

  it('rejects a wrong secret', () => {
    expect(verify({ secret: 'another-secret-0123456789' }).ok).toBe(false);
  });

  it('rejects a timestamp older than the tolerance (replay) and one too far in the future', () => {
    expect(verify({ nowSeconds: ts + 301 })).toEqual({
      ok: false,
      reason: expect.stringMatching(/301 s old/),
    });
    expect(verify({ nowSeconds: ts + 301, toleranceSeconds: 600 })).toEqual({ ok: true });
    expect(verify({ nowSeconds: ts - 301 })).toEqual({ ok: false, reason: expect.stringMatching(/future/) });
  });

  it('rejects a re-signed old timestamp: the timestamp is part of what is signed', () => {
    const fresh = { ...headers, 'x-fti-timestamp': String(ts + 1000) };
    expect(verify({ headers: fresh, nowSeconds: ts + 1000 })).toEqual({
      ok: false,
      reason: expect.stringMatching(/does not match/),
    });
  });

  it('rejects missing, repeated or malformed headers', () => {
    const { 'x-fti-signature': _signature, ...noSignature } = headers;
    const { 'x-fti-timestamp': _timestamp, ...noTimestamp } = headers;
    expect(verify({ headers: noSignature })).toEqual({
      ok: false,
      reason: expect.stringMatching(/X-FTI-Signature/),
    });
    expect(verify({ headers: noTimestamp })).toEqual({
      ok: false,
      reason: expect.stringMatching(/X-FTI-Timestamp/),
    });
    expect(verify({ headers: { ...headers, 'x-fti-timestamp': [String(ts), String(ts)] } }).ok).toBe(false);
    expect(verify({ headers: { ...headers, 'x-fti-timestamp': '1700000000.5' } }).ok).toBe(false);
    expect(verify({ headers: { ...headers, 'x-fti-signature': 'sha256=abc' } }).ok).toBe(false);
    expect(
      verify({ headers: { ...headers, 'x-fti-signature': headers['x-fti-signature'].slice(7) } }).ok,
    ).toBe(false);
    expect(verify({ secret: '' }).ok).toBe(false);
  });

  it('never names the secret in a reason', () => {
    for (const result of [
      verify({ secret: `${SECRET}x` }),
      verify({ nowSeconds: 0 }),
      verify({ headers: {} }),
    ]) {
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.reason).not.toContain(SECRET);
    }
  });
});

describe('webhookSinkSchema', () => {
  const valid = { name: 'ops', url: 'https://hooks.example.com/alerts', format: 'json' } as const;
  const problems = (input: unknown): string => {
    try {
      parseWebhookSink(input, 'monitoring.yaml');
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).location).toBe('monitoring.yaml');
      return (error as Error).message;
    }
    throw new Error('expected a ValidationError');
  };

  it('accepts a minimal sink and applies the default timeout', () => {
    expect(parseWebhookSink(valid)).toEqual({ ...valid, timeoutMs: 5000 });
    expect(
      webhookSinkSchema.parse({
        ...valid,
        secret: SECRET,
        headers: { Authorization: TOKEN },
        timeoutMs: 250,
      }),
    ).toMatchObject({ timeoutMs: 250, headers: { Authorization: TOKEN } });
  });

  it('explains a bad url without repeating it', () => {
    const message = problems({ ...valid, url: 'ftp://user:hunter2secret@files.example.com/x?token=abc' });
    expect(message).toMatch(/webhook sink "ops": url must use http:\/\/ or https:\/\/ \(got "ftp:"\)/);
    expect(message).not.toMatch(/hunter2|token=|files\.example/);
    expect(problems({ ...valid, url: 'hooks.example.com/alerts' })).toMatch(/url must be an absolute URL/);
  });

  it('explains a bad format, header name, reserved header, header value and short secret', () => {
    expect(problems({ ...valid, format: 'teams' })).toMatch(/format must be "json" .* or "slack"/);
    expect(problems({ ...valid, headers: { 'X Team': 'a' } })).toMatch(
      /headers\.X Team is not a valid HTTP header name/,
    );
    expect(problems({ ...valid, headers: { 'X-FTI-Signature': 'x' } })).toMatch(/is set by the sink itself/);
    const injected = problems({ ...valid, headers: { 'X-Token': 'secretvalue\r\nX-Evil: 1' } });
    expect(injected).toMatch(/headers\.X-Token value must not contain line breaks/);
    expect(injected).not.toContain('secretvalue');
    const short = problems({ ...valid, secret: 'short-secret' });
    expect(short).toMatch(/secret must be at least 16 characters; generate one with `openssl rand -hex 32`/);
    expect(short).not.toContain('short-secret');
  });

  it('rejects unknown fields and bad timeouts, naming each problem', () => {
    const message = problems({ ...valid, secretKey: SECRET, timeoutMs: 10 });
    expect(message).toMatch(/Unrecognized key: "secretKey"/);
    expect(message).toMatch(/timeoutMs must be at least 100 ms/);
    expect(message).not.toContain(SECRET);
  });
});

describe('redactUrl', () => {
  it('strips userinfo, the query string and the fragment', () => {
    expect(redactUrl('https://user:pass@hooks.example.com:8443/alerts?token=abc123&x=1#frag')).toBe(
      'https://hooks.example.com:8443/alerts?[redacted]',
    );
    expect(redactUrl('http://127.0.0.1:9999/hook')).toBe('http://127.0.0.1:9999/hook');
  });

  it('redacts token-like path segments such as a Slack webhook key', () => {
    expect(redactUrl('https://hooks.slack.com/services/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')).toBe(
      'https://hooks.slack.com/services/T0123ABCD/B0456EFGH/[redacted]',
    );
    expect(redactUrl('https://x.example.com/api/prometheus-webhook-receiver')).toBe(
      'https://x.example.com/api/prometheus-webhook-receiver',
    );
  });

  it('never returns an unparsable input', () => {
    expect(redactUrl('not a url with secret hunter2')).toBe('(invalid URL)');
  });
});

describe('payloads', () => {
  it('wraps the event in a typed, versioned envelope', () => {
    expect(alertPayload(event)).toEqual({ type: 'fti.alert', version: 1, alert: event });
  });

  it('slack: has text and blocks naming severity, subject, title and summary', () => {
    const payload = slackPayload(event);
    expect(payload.text).toBe('[CRITICAL] Drift on feature amount (deployment fraud-model)');
    const json = JSON.stringify(payload.blocks);
    for (const expected of [
      'CRITICAL',
      'fraud-model',
      'Drift on feature amount',
      'KS test',
      'fraud-amount-drift',
    ]) {
      expect(json).toContain(expected);
    }
    expect(payload.blocks[0]).toMatchObject({ type: 'header', text: { type: 'plain_text' } });
    expect(json).toContain('*threshold*\\n0.01');
    expect(json).toContain(event.id);
  });

  it('slack: truncates a long summary to the section limit without breaking escapes or emoji', () => {
    for (const summary of ['x'.repeat(10_000), '&'.repeat(5000), '🚨'.repeat(4000)]) {
      const section = slackPayload({ ...event, summary }).blocks[1];
      if (section?.type !== 'section' || section.text === undefined)
        throw new Error('expected a summary section');
      const text = section.text.text;
      expect(text.length).toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
      expect(text.length).toBeGreaterThan(SLACK_LIMITS.sectionText - 6);
      expect(text.endsWith('…')).toBe(true);
      expect(text.slice(0, -1).replace(/&amp;/g, '')).not.toContain('&');
      expect(text).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/);
    }
  });

  it('slack: escapes mentions and links, and respects header, field and field-count limits', () => {
    const details = Object.fromEntries(
      Array.from({ length: 14 }, (_, i) => [`k${i}`, i === 0 ? 'v'.repeat(5000) : i]),
    );
    const payload: SlackPayload = slackPayload({
      ...event,
      title: `<!channel> <https://evil.example|click> ${'t'.repeat(300)}`,
      details: { ...details, skipped: undefined },
    });
    // mrkdwn is parsed for mentions and links, so it is escaped; the header is plain_text, never parsed.
    const json = JSON.stringify([payload.text, payload.blocks.slice(1)]);
    expect(json).not.toMatch(/<!channel>|<https/);
    expect(payload.text).toContain('&lt;!channel&gt;');
    const header = payload.blocks[0];
    expect(header?.type === 'header' && header.text.text.length).toBeLessThanOrEqual(SLACK_LIMITS.headerText);
    const detailBlock = payload.blocks[3];
    if (detailBlock?.type !== 'section' || detailBlock.fields === undefined)
      throw new Error('expected detail fields');
    expect(detailBlock.fields).toHaveLength(SLACK_LIMITS.fields);
    for (const field of detailBlock.fields)
      expect(field.text.length).toBeLessThanOrEqual(SLACK_LIMITS.fieldText);
    expect(json).toContain('4 more details not shown');
  });

  it('never contains a sink secret (payloads are built from the event alone)', () => {
    const sink: WebhookSink = { name: 'ops', url: 'https://h.example.com', format: 'slack', secret: SECRET };
    expect(JSON.stringify([alertPayload(event), slackPayload(event), sink.name])).not.toContain(SECRET);
  });
});

type Call = { url: string; init: RequestInit };

/** A fetch double answering `status`/`body`, recording each call. */
function fakeFetch(answer: (call: Call) => Response | Promise<Response>): {
  fetchImpl: typeof fetch;
  calls: Call[];
} {
  const calls: Call[] = [];
  const fetchImpl = (async (url: string | URL | Request, init?: RequestInit) => {
    const call = { url: String(url), init: init ?? {} };
    calls.push(call);
    return answer(call);
  }) as typeof fetch;
  return { fetchImpl, calls };
}

describe('deliverWebhook (fetch double)', () => {
  const sink: WebhookSink = {
    name: 'ops',
    url: 'https://hooks.example.com/alerts?token=querytoken123',
    format: 'json',
    secret: SECRET,
    headers: { Authorization: TOKEN },
    timeoutMs: 200,
  };
  const now = () => 1_700_000_000_500;

  it('sends one signed POST with the documented headers', async () => {
    const { fetchImpl, calls } = fakeFetch(() => new Response('ok', { status: 200 }));
    const result = await deliverWebhook(sink, event, { fetchImpl, now });
    expect(result).toEqual({ ok: true, status: 200, retryable: false, durationMs: expect.any(Number) });
    expect(calls).toHaveLength(1);
    const { url, init } = calls[0]!;
    expect(url).toBe(sink.url);
    expect(init.method).toBe('POST');
    expect(init.redirect).toBe('manual');
    const headers = new Headers(init.headers);
    expect(headers.get('content-type')).toBe('application/json');
    expect(headers.get('user-agent')).toBe('fti-alerts/1');
    expect(headers.get('authorization')).toBe(TOKEN);
    expect(headers.get('x-fti-event-id')).toBe(event.id);
    expect(headers.get('x-fti-timestamp')).toBe('1700000000');
    expect(JSON.parse(String(init.body))).toEqual(alertPayload(event));
    expect(
      verifyWebhookSignature({ secret: SECRET, headers, body: String(init.body), nowSeconds: 1_700_000_000 }),
    ).toEqual({ ok: true });
  });

  it('sends no signature without a secret, and a Slack body for format slack', async () => {
    const { fetchImpl, calls } = fakeFetch(() => new Response(null, { status: 204 }));
    const { secret: _secret, ...unsigned } = sink;
    expect((await deliverWebhook({ ...unsigned, format: 'slack' }, event, { fetchImpl })).ok).toBe(true);
    const init = calls[0]!.init;
    expect(new Headers(init.headers).has('x-fti-signature')).toBe(false);
    expect(JSON.parse(String(init.body))).toEqual(slackPayload(event));
  });

  it('sends user:pass@ as Basic authorization (fetch refuses URLs with credentials)', async () => {
    const { fetchImpl, calls } = fakeFetch(() => new Response(null, { status: 204 }));
    await deliverWebhook(
      { name: 'ops', url: 'https://al%40ice:p%3Ass@h.example.com/x', format: 'json' },
      event,
      {
        fetchImpl,
      },
    );
    expect(calls[0]!.url).toBe('https://h.example.com/x');
    const authorization = new Headers(calls[0]!.init.headers).get('authorization');
    expect(Buffer.from(authorization!.replace('Basic ', ''), 'base64').toString()).toBe('al@ice:p:ss');
  });

  it.each([
    [200, true, false],
    [202, true, false],
    [408, false, true],
    [425, false, true],
    [429, false, true],
    [500, false, true],
    [502, false, true],
    [503, false, true],
    [400, false, false],
    [401, false, false],
    [403, false, false],
    [404, false, false],
    [410, false, false],
    [422, false, false],
  ])('classifies %i: ok=%s retryable=%s', async (status, ok, retryable) => {
    const { fetchImpl } = fakeFetch(() => new Response(`answer ${status}`, { status }));
    const result = await deliverWebhook(sink, event, { fetchImpl });
    expect(result).toMatchObject({ ok, retryable, status });
    expect(isRetryableStatus(status)).toBe(retryable);
    if (!ok) expect(result.error).toContain(`answered ${status}: "answer ${status}"`);
  });

  it('names the status and the first 200 characters of the body in a non-retryable error', async () => {
    const body = `{"error":"bad payload",\n"detail":"${'d'.repeat(500)}"}`;
    const { fetchImpl } = fakeFetch(() => new Response(body, { status: 400 }));
    const result = await deliverWebhook(sink, event, { fetchImpl });
    const first200 = body.replace(/\s+/g, ' ').slice(0, 200);
    expect(result.error).toContain(
      'webhook sink "ops": POST https://hooks.example.com/alerts?[redacted] answered 400',
    );
    expect(result.error).toContain(`answered 400: "${first200}"; not retried`);
    expect(result.error).not.toContain(first200 + 'd');
    expect(result.error).toMatch(/check the sink format/);
  });

  it('does not follow redirects', async () => {
    const { fetchImpl } = fakeFetch(
      () => new Response(null, { status: 308, headers: { location: '/moved?token=newtoken999' } }),
    );
    const result = await deliverWebhook(sink, event, { fetchImpl });
    expect(result).toMatchObject({ ok: false, retryable: false, status: 308 });
    expect(result.error).toContain('redirect to https://hooks.example.com/moved?[redacted]');
    expect(result.error).not.toContain('newtoken999');
  });

  it('reports Retry-After on a retryable answer', async () => {
    const { fetchImpl } = fakeFetch(
      () => new Response('slow down', { status: 429, headers: { 'retry-after': '7' } }),
    );
    expect(await deliverWebhook(sink, event, { fetchImpl })).toMatchObject({
      retryable: true,
      retryAfterMs: 7000,
    });
  });

  it('classifies a thrown network error as retryable and redacts the URL it names', async () => {
    const { fetchImpl } = fakeFetch(() => {
      const cause = Object.assign(new Error(`connect ECONNREFUSED for ${sink.url}`), {
        code: 'ECONNREFUSED',
      });
      throw new TypeError('fetch failed', { cause });
    });
    const result = await deliverWebhook(sink, event, { fetchImpl });
    expect(result).toMatchObject({ ok: false, retryable: true });
    expect(result.status).toBeUndefined();
    expect(result.error).toContain('ECONNREFUSED');
    expect(result.error).not.toContain('querytoken123');
  });

  it('times out a fetch that never answers, as a retryable failure', async () => {
    const { fetchImpl } = fakeFetch(
      (call) =>
        new Promise<Response>((_resolve, reject) => {
          call.init.signal?.addEventListener('abort', () => reject(call.init.signal?.reason));
        }),
    );
    const result = await deliverWebhook(sink, event, { fetchImpl });
    expect(result).toMatchObject({ ok: false, retryable: true });
    expect(result.error).toMatch(/did not answer within 200 ms/);
    expect(result.durationMs).toBeGreaterThanOrEqual(150);
  });

  it('stops when the caller cancels', async () => {
    const controller = new AbortController();
    const { fetchImpl } = fakeFetch(
      (call) =>
        new Promise<Response>((_resolve, reject) => {
          call.init.signal?.addEventListener('abort', () => reject(call.init.signal?.reason));
          controller.abort();
        }),
    );
    const result = await deliverWebhook({ ...sink, timeoutMs: 60_000 }, event, {
      fetchImpl,
      signal: controller.signal,
    });
    expect(result).toMatchObject({ ok: false, retryable: true, error: expect.stringMatching(/cancelled/) });
  });

  it('scrubs a secret or header value that the receiver echoes back', async () => {
    const echo = `denied: secret=${SECRET} auth=${TOKEN} token=${TOKEN.slice(7)} url=${sink.url}`;
    const { fetchImpl } = fakeFetch(() => new Response(echo, { status: 401 }));
    const result = await deliverWebhook(sink, event, { fetchImpl });
    expect(result.error).toMatch(
      /answered 401: "denied: secret=\[redacted\] auth=\[redacted\] token=\[redacted\]/,
    );
    for (const leaked of [SECRET, TOKEN, TOKEN.slice(7), 'querytoken123'])
      expect(result.error).not.toContain(leaked);
  });

  it('returns, never throws, a non-retryable failure for an invalid sink or an unserializable event', async () => {
    const { fetchImpl, calls } = fakeFetch(() => new Response(null, { status: 204 }));
    const bad = await deliverWebhook({ ...sink, url: 'file:///etc/passwd', secret: 'short' }, event, {
      fetchImpl,
    });
    expect(bad).toMatchObject({ ok: false, retryable: false });
    expect(bad.error).toMatch(/url must use http/);
    expect(bad.error).toMatch(/secret must be at least 16/);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const details of [{ n: 10n ** 20n }, cyclic]) {
      const result = await deliverWebhook(sink, { ...event, details }, { fetchImpl });
      expect(result).toMatchObject({
        ok: false,
        retryable: false,
        error: expect.stringMatching(/cannot be serialized/),
      });
    }
    const badId = await deliverWebhook(sink, { ...event, id: 'x\r\nEvil: 1' }, { fetchImpl });
    expect(badId).toMatchObject({ ok: false, retryable: false });
    expect(calls).toHaveLength(0);
  });
});
