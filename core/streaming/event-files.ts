import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { ValidationError } from '../errors';
import type { FeatureGroupSpec, ResolvedFeature } from '../featurestore/feature-group';
import { validateFeatureEvent, type FeatureEvent } from './feature-events';
import type { SendResult } from './producer';

/** Formats an event file can have, chosen by its extension. */
export type EventFileFormat = 'csv' | 'jsonl';

/** One valid event read from a file, with the line it started on. */
export interface FileEvent {
  /** 1-based line of the file where the event's record starts. */
  readonly line: number;
  readonly event: FeatureEvent;
}

/** Options of {@link readEventFile}. */
export interface ReadEventFileOptions {
  /** Read only the first this many events. @default every event */
  readonly limit?: number;
}

/**
 * The format of an event file from its extension: `.csv` → CSV, `.jsonl` / `.ndjson` → one JSON
 * object per line. Anything else is a {@link ValidationError} saying which extensions are known.
 */
export function eventFileFormat(file: string): EventFileFormat {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  throw new ValidationError(
    `event file ${file}: unknown format "${ext || '(no extension)'}"; name it .csv (header row, one event per line) or .jsonl (one JSON object per line).`,
    { location: file },
  );
}

/**
 * Reads an event file (CSV with a header row, or JSONL) in file order and yields every event
 * checked against the feature group with {@link validateFeatureEvent}, in constant memory. CSV
 * values are converted by the group's schema: an unquoted empty value is null, numbers and
 * booleans (`true`/`false`/`1`/`0`) are parsed, times without a zone are UTC, `float_array` values
 * are JSON arrays. The first bad record stops the read with a {@link ValidationError} whose message
 * and `location` name `file:line` and the field (never its value). Blank lines are skipped.
 */
export async function* readEventFile(
  file: string,
  spec: FeatureGroupSpec,
  options: ReadEventFileOptions = {},
): AsyncGenerator<FileEvent> {
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  if (limit <= 0) return;
  const format = eventFileFormat(file);
  let stream: fs.ReadStream;
  try {
    await fs.promises.access(file, fs.constants.R_OK);
    stream = fs.createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 });
  } catch {
    throw new ValidationError(`event file ${file} cannot be read; check the path.`, { location: file });
  }
  let count = 0;
  try {
    const events = format === 'csv' ? csvEvents(stream, file, spec) : jsonlEvents(stream, file, spec);
    for await (const event of events) {
      yield event;
      if (++count >= limit) return;
    }
  } finally {
    stream.destroy();
  }
}

async function* jsonlEvents(
  stream: fs.ReadStream,
  file: string,
  spec: FeatureGroupSpec,
): AsyncGenerator<FileEvent> {
  let line = 0;
  for await (const raw of readline.createInterface({ input: stream, crlfDelay: Infinity })) {
    line += 1;
    const text = line === 1 ? raw.replace(/^\uFEFF/, '') : raw;
    if (text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new ValidationError(
        `${file}:${line}: not valid JSON; a JSONL event file holds one JSON object per line.`,
        { location: `${file}:${line}` },
      );
    }
    yield { line, event: validateFeatureEvent(spec, value, `${file}:${line}`) };
  }
}

async function* csvEvents(
  stream: fs.ReadStream,
  file: string,
  spec: FeatureGroupSpec,
): AsyncGenerator<FileEvent> {
  let columns: (ResolvedFeature | undefined)[] | undefined;
  for await (const record of csvRecords(stream, file)) {
    if (!columns) {
      columns = headerColumns(record.fields, file, spec);
      continue;
    }
    const where = `${file}:${record.line}`;
    if (record.fields.length !== columns.length) {
      throw new ValidationError(
        `${where}: ${record.fields.length} value(s) but the header has ${columns.length} column(s); every line needs one value per column (quote values that contain a comma, leave a value empty for null).`,
        { location: where },
      );
    }
    const event: Record<string, unknown> = {};
    columns.forEach((feature, i) => {
      const cell = record.fields[i]!;
      event[feature!.name] = csvValue(feature!, cell, where, spec);
    });
    yield { line: record.line, event: validateFeatureEvent(spec, event, where) };
  }
  if (!columns) {
    throw new ValidationError(
      `${file} is empty; a CSV event file starts with a header row naming the features.`,
      {
        location: file,
      },
    );
  }
}

/** Maps header names to features; every record-key and non-nullable feature must have a column. */
function headerColumns(names: readonly CsvField[], file: string, spec: FeatureGroupSpec): ResolvedFeature[] {
  const where = `${file}:1`;
  const byName = new Map(spec.features.map((f) => [f.name, f]));
  const seen = new Set<string>();
  const columns = names.map(({ text }) => {
    const name = text.trim();
    const feature = byName.get(name);
    if (!feature)
      throw new ValidationError(
        `${where}: header column "${name}" is not a feature of group ${spec.name} v${spec.version} (features: ${spec.features.map((f) => f.name).join(', ')}); rename or remove the column.`,
        { location: `${where}.${name}` },
      );
    if (seen.has(name))
      throw new ValidationError(`${where}: the header names column "${name}" twice; remove one.`, {
        location: `${where}.${name}`,
      });
    seen.add(name);
    return feature;
  });
  const keys = new Set([...spec.primaryKey, spec.eventTime]);
  const missing = spec.features.find((f) => !seen.has(f.name) && (keys.has(f.name) || !f.nullable));
  if (missing)
    throw new ValidationError(
      `${where}: the header has no column "${missing.name}" (${keys.has(missing.name) ? 'part of the record key' : 'a non-nullable feature'}); add it.`,
      { location: `${where}.${missing.name}` },
    );
  return columns;
}

const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
const NAIVE_TIME = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(:\d{2}(\.\d+)?)?)$/;
const BOOLEANS: Readonly<Record<string, boolean>> = { true: true, false: false, '1': true, '0': false };

/** A CSV value as the JSON value its feature's type expects; validation then checks ranges. */
function csvValue(feature: ResolvedFeature, cell: CsvField, where: string, spec: FeatureGroupSpec): unknown {
  const { text, quoted } = cell;
  if (text === '' && !quoted) return null;
  const fail = (expected: string): never => {
    throw new ValidationError(
      `${where} (feature group ${spec.name} v${spec.version}): field "${feature.name}" must be ${expected} (feature type ${feature.type}); the CSV value is not.`,
      { location: `${where}.${feature.name}` },
    );
  };
  const trimmed = text.trim();
  switch (feature.type) {
    case 'int':
    case 'bigint':
    case 'float':
    case 'double': {
      if (NUMBER.test(trimmed)) return Number(trimmed);
      const special = trimmed.toLowerCase().replace(/^\+/, '');
      if (special === 'nan') return Number.NaN;
      if (special === 'inf' || special === 'infinity') return Number.POSITIVE_INFINITY;
      if (special === '-inf' || special === '-infinity') return Number.NEGATIVE_INFINITY;
      return fail('a number');
    }
    case 'bool': {
      const value = BOOLEANS[trimmed.toLowerCase()];
      return value ?? fail('true, false, 1 or 0');
    }
    case 'timestamp': {
      // Zone-less times are UTC, as the offline store (DuckDB TIMESTAMP) reads them.
      const naive = NAIVE_TIME.exec(trimmed);
      return naive ? `${naive[1]}T${naive[2]}Z` : trimmed;
    }
    case 'float_array':
      try {
        return JSON.parse(trimmed) as unknown;
      } catch {
        return fail('a JSON array of numbers such as [0.1, 2]');
      }
    case 'date':
      return trimmed;
    case 'string':
      return text;
  }
}

/** One CSV field: its text and whether it was quoted (a quoted empty value is an empty string). */
interface CsvField {
  readonly text: string;
  readonly quoted: boolean;
}

const QUOTE = '"';

/**
 * RFC 4180 records with the line each starts on, streamed: quoted fields may hold commas, quotes
 * (`""`) and line breaks; CRLF and LF line ends; a leading byte-order mark is dropped; blank lines
 * are skipped. Misplaced or unclosed quotes are errors naming the line.
 */
async function* csvRecords(
  stream: fs.ReadStream,
  file: string,
): AsyncGenerator<{ line: number; fields: CsvField[] }> {
  let line = 1;
  let recordLine = 1;
  let fields: CsvField[] = [];
  let text = '';
  let quoted = false;
  let inQuotes = false;
  let quotePending = false; // saw `"` inside quotes: an escaped quote or the closing one
  let afterClose = false;
  let quoteLine = 1;
  let first = true;
  const fail = (message: string, at: number): never => {
    throw new ValidationError(`${file}:${at}: ${message}`, { location: `${file}:${at}` });
  };
  const endField = () => {
    fields.push({ text, quoted });
    text = '';
    quoted = false;
    afterClose = false;
  };
  for await (const piece of stream) {
    let chunk = piece as string;
    if (first) {
      first = false;
      if (chunk.startsWith('\uFEFF')) chunk = chunk.slice(1);
    }
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i]!;
      if (inQuotes) {
        if (quotePending) {
          quotePending = false;
          if (c === QUOTE) {
            text += QUOTE;
            continue;
          }
          inQuotes = false;
          afterClose = true;
          // falls through: c is the character after the closing quote
        } else {
          if (c === QUOTE) quotePending = true;
          else {
            if (c === '\n') line += 1;
            text += c;
          }
          continue;
        }
      }
      if (c === ',') endField();
      else if (c === '\n') {
        const blank = fields.length === 0 && text === '' && !quoted;
        if (!blank) {
          endField();
          yield { line: recordLine, fields };
        }
        fields = [];
        line += 1;
        recordLine = line;
      } else if (c === '\r') {
        // part of a CRLF line end
      } else if (afterClose) {
        fail(
          'text after a closing quote; a quoted value ends at its quote (write a quote inside it as "").',
          line,
        );
      } else if (c === QUOTE) {
        if (text !== '')
          fail(
            'a quote inside an unquoted value; quote the whole value and double the quotes inside it.',
            line,
          );
        inQuotes = true;
        quoted = true;
        quoteLine = line;
      } else text += c;
    }
  }
  if (inQuotes && !quotePending) fail('a quote opened here is never closed.', quoteLine);
  if (fields.length > 0 || text !== '' || quoted) {
    endField();
    yield { line: recordLine, fields };
  }
}

/** How {@link replayEventFile} treats event times. */
export type TimeShift = 'none' | 'now';

/** Progress of {@link replayEventFile}, reported at most about once a second and at the end. */
export interface ReplayProgress {
  readonly published: number;
  readonly total: number;
  readonly elapsedMs: number;
}

/** Options of {@link replayEventFile}. */
export interface ReplayEventFileOptions {
  readonly file: string;
  readonly spec: FeatureGroupSpec;
  /** Where validated events go (a {@link FeatureEventProducer} of the same group version). */
  readonly producer: { sendValidated(events: readonly FeatureEvent[]): Promise<SendResult> };
  /** Events per second. @default as fast as the stream acknowledges */
  readonly rate?: number;
  /**
   * `now` shifts every event time by one offset so the file's latest event happens when publishing
   * starts, keeping the gaps between events (history replayed as live traffic). @default 'none'
   */
  readonly timeShift?: TimeShift;
  /** Publish only the first this many events. @default every event */
  readonly limit?: number;
  readonly onProgress?: (progress: ReplayProgress) => void;
}

/** What {@link replayEventFile} published. */
export interface ReplaySummary {
  readonly events: number;
  /** Events the stream already held (the same file replayed within its duplicate window). */
  readonly duplicates: number;
  /** From the first publish to the last acknowledgement (validation not included). */
  readonly elapsedMs: number;
  readonly eventsPerSecond: number;
  readonly firstSequence: number;
  readonly lastSequence: number;
  /** Added to every event time (0 without a time shift). */
  readonly timeShiftMs: number;
}

/**
 * Replays an event file into a stream: reads and validates the whole file first (nothing is
 * published when any record is bad — the error names `file:line` and the field), then reads it
 * again and publishes in file order, in chunks paced to `rate`. Constant memory, so files larger
 * than memory replay too. A replay interrupted by a broker outage can be run again: events already
 * stored are recognised by their content (within the stream's duplicate window) — unless the time
 * shift moved them.
 */
export async function replayEventFile(options: ReplayEventFileOptions): Promise<ReplaySummary> {
  const { file, spec, rate, limit } = options;
  if (rate !== undefined && !(rate > 0 && Number.isFinite(rate)))
    throw new ValidationError(`rate must be a positive number of events per second, got ${rate}.`);
  let total = 0;
  let latest = Number.NEGATIVE_INFINITY;
  for await (const { event } of readEventFile(file, spec, { limit })) {
    total += 1;
    latest = Math.max(latest, Date.parse(event[spec.eventTime] as string));
  }
  if (total === 0)
    throw new ValidationError(`event file ${file} holds no events; nothing to publish.`, { location: file });

  const started = Date.now();
  const shiftMs = options.timeShift === 'now' ? started - latest : 0;
  // Small chunks at low rates keep the pace smooth; large ones keep the ack window full.
  const chunkSize = rate === undefined ? 5000 : Math.min(5000, Math.max(1, Math.round(rate / 20)));
  let published = 0;
  let duplicates = 0;
  let firstSequence = 0;
  let lastSequence = 0;
  let lastReport = started;
  let chunk: FeatureEvent[] = [];
  const flush = async () => {
    if (chunk.length === 0) return;
    if (rate !== undefined) {
      const wait = started + (published / rate) * 1000 - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
    const sent = await options.producer.sendValidated(chunk);
    const { sequences } = sent;
    duplicates += sent.duplicates;
    if (published === 0) firstSequence = sequences[0]!;
    lastSequence = sequences.at(-1)!;
    published += chunk.length;
    chunk = [];
    if (Date.now() - lastReport >= 1000) {
      lastReport = Date.now();
      options.onProgress?.({ published, total, elapsedMs: lastReport - started });
    }
  };
  for await (const { event } of readEventFile(file, spec, { limit })) {
    chunk.push(shiftMs === 0 ? event : shiftTime(event, spec.eventTime, shiftMs));
    if (chunk.length >= chunkSize) await flush();
  }
  await flush();
  const elapsedMs = Math.max(1, Date.now() - started);
  options.onProgress?.({ published, total, elapsedMs });
  return {
    events: published,
    duplicates,
    elapsedMs,
    eventsPerSecond: (published * 1000) / elapsedMs,
    firstSequence,
    lastSequence,
    timeShiftMs: shiftMs,
  };
}

function shiftTime(event: FeatureEvent, field: string, shiftMs: number): FeatureEvent {
  return { ...event, [field]: new Date(Date.parse(event[field] as string) + shiftMs).toISOString() };
}
