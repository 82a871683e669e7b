import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { loadConfig } from '../../core/config';
import { openDatabase, type DatabaseHandle } from '../../core/db';
import type { FeatureGroupRecord } from '../../core/featurestore';
import { connectJetStream, eventStreamNames } from '../../core/streaming';
import { runCli } from '../support/cli';
import { createCardGroup } from '../support/featurestore';

// `fti stream publish` through the built CLI, into the real JetStream, for a real feature group.
describe('fti stream publish', () => {
  let database: DatabaseHandle;
  let nc: NatsConnection;
  const streams: string[] = [];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-stream-publish-'));

  const groupWithStream = async (): Promise<{ group: FeatureGroupRecord; stream: string }> => {
    const group = await createCardGroup(database.db);
    const { stream } = eventStreamNames(group.spec.name, group.spec.version);
    streams.push(stream);
    return { group, stream };
  };
  const stored = async (stream: string): Promise<number> =>
    (await jetstreamManager(nc)).streams.info(stream).then(
      (info) => info.state.messages,
      () => 0, // never created: nothing stored
    );
  /** Every event of the stream in stream order, read with an ordered JetStream consumer. */
  const readStream = async (stream: string): Promise<Record<string, unknown>[]> => {
    const expected = await stored(stream);
    const consumer = await jetstream(nc).consumers.get(stream);
    const out: Record<string, unknown>[] = [];
    for await (const m of await consumer.fetch({ max_messages: expected, expires: 5000 })) {
      out.push(m.json());
      if (out.length === expected) break;
    }
    await consumer.delete().catch(() => undefined);
    return out;
  };
  const write = (name: string, text: string) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
  };
  const rows = (n: number) =>
    Array.from({ length: n }, (_, i) => ({
      card_id: `card ${i % 13}`,
      event_time: new Date(Date.UTC(2026, 10, 1) + i * 1000).toISOString(),
      amount: i % 10 === 0 ? null : Math.round(i * 7.3) / 100,
      category: i % 4 === 0 ? 'food, "fresh"' : 'fuel',
    }));
  const csv = (events: readonly Record<string, unknown>[]) =>
    'card_id,event_time,amount,category\n' +
    events
      .map(
        (e) =>
          `${e.card_id},${(e.event_time as string).replace('T', ' ').replace('.000Z', '')},${e.amount ?? ''},"${(e.category as string).replace(/"/g, '""')}"`,
      )
      .join('\n') +
    '\n';

  beforeAll(async () => {
    database = await openDatabase({ url: loadConfig().databaseUrl });
    nc = await connectJetStream({ url: loadConfig().natsUrl, name: 'fti-test' });
  });
  afterAll(async () => {
    const jsm = await jetstreamManager(nc);
    for (const stream of streams) await jsm.streams.delete(stream).catch(() => undefined);
    await nc.close();
    await database.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('publishes every CSV row, converted by the group schema, in file order, and a replay of the same file stores nothing twice', async () => {
    const { group, stream } = await groupWithStream();
    const events = rows(2000);
    const file = write('events.csv', csv(events));
    const result = runCli(['stream', 'publish', file, '--group', group.spec.name, '--json']);
    expect(result.stderr).not.toContain('error');
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(summary).toMatchObject({
      featureGroup: group.spec.name,
      version: 1,
      stream,
      events: 2000,
      firstSequence: 1,
      lastSequence: 2000,
      duplicates: 0,
      timeShiftMs: 0,
    });
    expect(summary.eventsPerSecond).toEqual(expect.any(Number));
    expect(await readStream(stream)).toEqual(events);

    // Replaying the same file again (an interrupted run restarted) stores nothing twice.
    const again = runCli(['stream', 'publish', file, '--group', group.spec.name]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(
      `stored nothing new: all 2000 events of ${file} were already in stream ${stream}`,
    );
    expect(await stored(stream)).toBe(2000);
  });

  it('replays JSONL at a rate with --time-shift now: the latest event happens at publish time, gaps kept, --limit honoured', async () => {
    const { group, stream } = await groupWithStream();
    const events = rows(400);
    const file = write('events.jsonl', events.map((e) => JSON.stringify(e)).join('\n'));
    const before = Date.now();
    const result = runCli([
      'stream',
      'publish',
      file,
      '--group',
      group.spec.name,
      '--version',
      '1',
      '--rate',
      '1000',
      '--time-shift',
      'now',
      '--limit',
      '300',
    ]);
    const after = Date.now();
    expect(result.stderr).not.toContain('error'); // progress lines only
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`published 300 new events of 300 from ${file} to stream ${stream}`);
    expect(result.stdout).toMatch(/elapsed \d+\.\d\d s, \d+ events\/s, event times shifted by \d+ s/);

    const published = await readStream(stream);
    expect(published.map(({ event_time: _, ...rest }) => rest)).toEqual(
      events.slice(0, 300).map(({ event_time: _, ...rest }) => rest),
    );
    const times = published.map((e) => Date.parse(e.event_time as string));
    expect(times.at(-1)).toBeGreaterThanOrEqual(before);
    expect(times.at(-1)).toBeLessThanOrEqual(after);
    const gaps = (ts: readonly number[]) => ts.slice(1).map((t, i) => t - ts[i]!);
    expect(gaps(times)).toEqual(gaps(events.slice(0, 300).map((e) => Date.parse(e.event_time))));
  });

  it('refuses a file with one bad line naming file:line and the field, publishing nothing', async () => {
    const { group, stream } = await groupWithStream();
    const lines = csv(rows(100)).split('\n');
    lines[57 - 1] = 'card 1,2026-11-01 00:00:00,twelve,fuel';
    const file = write('bad.csv', lines.join('\n'));
    const result = runCli(['stream', 'publish', file, '--group', group.spec.name]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `error: ${file}:57 (feature group ${group.spec.name} v1): field "amount"`,
    );
    expect(result.stdout).toBe('');
    expect(await stored(stream)).toBe(0);

    const unknown = runCli(['stream', 'publish', file, '--group', `${group.spec.name}_nope`]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('does not exist; create it first (fti fg create)');
    const badRate = runCli(['stream', 'publish', file, '--group', group.spec.name, '--rate', 'fast']);
    expect(badRate.stderr).toContain('--rate must be a positive number');
  });
});
