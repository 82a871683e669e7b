import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ValidationError } from '../errors';
import { defineFeatureGroup } from '../featurestore/feature-group';
import { eventFileFormat, readEventFile, replayEventFile, type FileEvent } from './event-files';
import type { FeatureEvent } from './feature-events';

const spec = defineFeatureGroup({
  name: 'card_txn',
  primaryKey: ['card_id'],
  eventTime: 'event_time',
  features: [
    { name: 'card_id', type: 'string' },
    { name: 'event_time', type: 'timestamp' },
    { name: 'amount', type: 'double' },
    { name: 'n', type: 'int' },
    { name: 'fraud', type: 'bool' },
    { name: 'note', type: 'string' },
    { name: 'embedding', type: 'float_array' },
  ],
});

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fti-event-files-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

async function readAll(file: string, limit?: number): Promise<FileEvent[]> {
  const out: FileEvent[] = [];
  for await (const e of readEventFile(file, spec, { limit })) out.push(e);
  return out;
}

async function readError(file: string): Promise<ValidationError> {
  const error = await readAll(file).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ValidationError);
  return error as ValidationError;
}

describe('readEventFile', () => {
  it('converts CSV values by the feature types, with RFC 4180 quoting and the line each record starts on', async () => {
    const file = write(
      'events.csv',
      '\uFEFFcard_id,event_time,amount,n,fraud,note,embedding\r\n' +
        'c1,2026-11-30 12:00:00,12.5,3,true,"a, ""quoted""\nnote","[0.5, 1]"\r\n' +
        '\r\n' +
        'c2,2026-11-30T13:00:00+01:00,-1e2,0,0,"",\n' +
        'c3,2026-11-30T14:00:00Z,,,false,,',
    );
    expect(await readAll(file)).toEqual([
      {
        line: 2,
        event: {
          card_id: 'c1',
          event_time: '2026-11-30T12:00:00.000Z',
          amount: 12.5,
          n: 3,
          fraud: true,
          note: 'a, "quoted"\nnote',
          embedding: [0.5, 1],
        },
      },
      {
        line: 5,
        event: {
          card_id: 'c2',
          event_time: '2026-11-30T12:00:00.000Z',
          amount: -100,
          n: 0,
          fraud: false,
          note: '',
          embedding: null,
        },
      },
      {
        line: 6,
        event: {
          card_id: 'c3',
          event_time: '2026-11-30T14:00:00.000Z',
          amount: null,
          n: null,
          fraud: false,
          note: null,
          embedding: null,
        },
      },
    ]);
  });

  it('reads JSONL line by line, skipping blank lines, and stops after the limit', async () => {
    const file = write(
      'events.jsonl',
      '{"card_id":"c1","event_time":"2026-11-30T12:00:00Z","amount":1}\n\n' +
        '{"card_id":"c2","event_time":"2026-11-30T12:01:00Z","amount":2}\n' +
        'not json\n',
    );
    const events = await readAll(file, 2);
    expect(events.map((e) => [e.line, e.event.card_id, e.event.amount])).toEqual([
      [1, 'c1', 1],
      [3, 'c2', 2],
    ]);
    expect((await readError(file)).message).toContain(`${file}:4: not valid JSON`);
  });

  it.each([
    [
      'header',
      'card_id,event_time,merchant\nc1,2026-11-30T12:00:00Z,m\n',
      ':1',
      'header column "merchant" is not a feature',
    ],
    ['key column', 'card_id,amount\nc1,1\n', ':1', 'no column "event_time" (part of the record key)'],
    [
      'value count',
      'card_id,event_time,amount\nc1,2026-11-30T12:00:00Z,1\nc2,2026-11-30T12:00:00Z,12,5\n',
      ':3',
      '4 value(s) but the header has 3 column(s)',
    ],
    [
      'type',
      'card_id,event_time,amount\nc1,2026-11-30T12:00:00Z,1\nc2,2026-11-30T12:00:00Z,abc\n',
      ':3',
      'field "amount" must be a number',
    ],
    [
      'range',
      'card_id,event_time,n\nc1,2026-11-30T12:00:00Z,3000000000\n',
      ':2',
      'field "n" must be a 32-bit integer',
    ],
    ['time', 'card_id,event_time\nc1,yesterday\n', ':2', 'field "event_time" must be an ISO-8601 time'],
    ['missing key', 'card_id,event_time\n,2026-11-30T12:00:00Z\n', ':2', 'field "card_id" is missing'],
    ['quote', 'card_id,event_time\nc1,"2026-11-30\n', ':2', 'never closed'],
  ])('refuses a bad CSV %s naming file:line and the field', async (_what, text, line, message) => {
    const file = write('bad.csv', text);
    const error = await readError(file);
    expect(error.message).toContain(`${file}${line}`);
    expect(error.message).toContain(message);
    expect(error.message).not.toContain('abc'); // values stay out of messages
  });

  it('knows formats by extension and says which ones exist', async () => {
    expect(eventFileFormat('a/b.CSV')).toBe('csv');
    expect(eventFileFormat('b.ndjson')).toBe('jsonl');
    expect(() => eventFileFormat('b.parquet')).toThrow('name it .csv');
    expect((await readError(path.join(dir, 'absent.csv'))).message).toContain('cannot be read');
  });
});

describe('replayEventFile', () => {
  const jsonl = (times: readonly string[]) =>
    write(
      'replay.jsonl',
      times.map((t, i) => JSON.stringify({ card_id: `c${i}`, event_time: t, amount: i })).join('\n'),
    );
  const collect = () => {
    const sent: FeatureEvent[] = [];
    return {
      sent,
      producer: {
        sendValidated: async (events: readonly FeatureEvent[]) => {
          const first = sent.length + 1;
          sent.push(...events);
          return { sequences: events.map((_, i) => first + i), duplicates: 0 };
        },
      },
    };
  };

  it('publishes every event in file order and, with --time-shift now, moves the latest event to now keeping the gaps', async () => {
    const file = jsonl(['2026-01-01T00:00:00Z', '2026-01-01T00:00:30Z', '2026-01-01T00:00:10Z']);
    const { sent, producer } = collect();
    const before = Date.now();
    const summary = await replayEventFile({ file, spec, producer, timeShift: 'now' });
    const after = Date.now();
    expect(summary).toMatchObject({ events: 3, firstSequence: 1, lastSequence: 3 });
    expect(sent.map((e) => e.card_id)).toEqual(['c0', 'c1', 'c2']);
    const times = sent.map((e) => Date.parse(e.event_time as string));
    expect(times[1]).toBeGreaterThanOrEqual(before);
    expect(times[1]).toBeLessThanOrEqual(after);
    expect([times[1]! - times[0]!, times[1]! - times[2]!]).toEqual([30_000, 20_000]);
    expect(summary.timeShiftMs).toBe(times[1]! - Date.parse('2026-01-01T00:00:30Z'));
  });

  it('keeps times as they are by default and publishes only the first --limit events', async () => {
    const file = jsonl(['2026-01-01T00:00:00Z', '2026-01-01T00:00:30Z', 'not a time']);
    const { sent, producer } = collect();
    const summary = await replayEventFile({ file, spec, producer, limit: 2 });
    expect(summary).toMatchObject({ events: 2, timeShiftMs: 0 });
    expect(sent.map((e) => e.event_time)).toEqual(['2026-01-01T00:00:00.000Z', '2026-01-01T00:00:30.000Z']);
  });

  it('publishes nothing when any record is bad, even the last one', async () => {
    const file = jsonl(['2026-01-01T00:00:00Z', '2026-01-01T00:00:30Z', 'not a time']);
    const { sent, producer } = collect();
    const error = await replayEventFile({ file, spec, producer }).catch((e: unknown) => e);
    expect((error as Error).message).toContain(`${file}:3 (feature group card_txn v1): field "event_time"`);
    expect(sent).toEqual([]);
  });
});
