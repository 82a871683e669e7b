import fs from 'node:fs';
import { ValidationError } from '../../../errors';

/** Options for {@link checkCsvStructure}. */
export interface CsvStructureOptions {
  /** Field delimiter (one character). @default ',' */
  readonly delimiter?: string;
  /** How the file is named in messages (e.g. its `s3://` URL rather than a scratch copy). */
  readonly displayPath: string;
  /** Longest record accepted, in characters. @default 8 MiB */
  readonly maxRecordChars?: number;
}

/** What a structurally sound CSV file holds. */
export interface CsvStructure {
  /** Column names from the header line, in order. */
  readonly header: readonly string[];
  /** Data records (blank lines are not records). */
  readonly records: number;
}

/** Longest record, in characters, accepted by default (DuckDB is given a larger byte limit). */
export const DEFAULT_MAX_RECORD_CHARS = 8 * 1024 * 1024;

const QUOTE = 34; // "
const LF = 10;
const CR = 13;

/**
 * Reads a CSV file once (streaming, constant memory) and checks what DuckDB's sniffer would
 * otherwise guess around: a header line with non-empty, unique, non-numeric names; every record
 * with exactly the header's number of fields; quotes that open only at a field's start, close
 * before the next delimiter or line end, and never stay open at the end of the file; no record
 * longer than the limit; at least one data record. RFC 4180 quoting (`""` inside quotes) is
 * accepted; blank lines are skipped, as DuckDB skips them. Every problem raises a
 * {@link ValidationError} naming the file, the 1-based line and how to fix it.
 */
export async function checkCsvStructure(file: string, options: CsvStructureOptions): Promise<CsvStructure> {
  const delimiter = (options.delimiter ?? ',').charCodeAt(0);
  const maxChars = options.maxRecordChars ?? DEFAULT_MAX_RECORD_CHARS;
  const where = `csv file ${options.displayPath}`;
  const fail = (message: string, line: number): never => {
    throw new ValidationError(`${where}, line ${line}: ${message}`, {
      location: `${options.displayPath}, line ${line}`,
    });
  };

  let header: string[] | null = null;
  let records = 0;
  let line = 1;
  let recordStartLine = 1;
  let quoteOpenLine = 0;
  let fields = 0; // delimiters seen in the current record
  let recordChars = 0;
  let inQuotes = false;
  let quoteMaybeClosed = false; // saw `"` inside quotes: either `""` or the closing quote
  let closedQuote = false; // the current field was quoted and its quote closed
  let fieldHasText = false;
  let headerField = '';
  const headerFields: string[] = [];

  const endRecord = () => {
    if (header === null) {
      headerFields.push(headerField);
      header = headerFields.slice();
      checkHeader(header, fail);
    } else {
      const count = fields + 1;
      if (count !== header.length) {
        fail(
          `has ${count} field(s) but the header has ${header.length}. Every line needs exactly one value per header column (quote values that contain "${String.fromCharCode(delimiter)}"; leave a value empty for null).`,
          recordStartLine,
        );
      }
      records += 1;
    }
    fields = 0;
    recordChars = 0;
    closedQuote = false;
    fieldHasText = false;
    headerField = '';
  };

  const stream = fs.createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 });
  let first = true;
  for await (const piece of stream) {
    let chunk = piece as string;
    if (first) {
      first = false;
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1); // UTF-8 byte-order mark
    }
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (++recordChars > maxChars) {
        fail(
          `the record starting here is longer than ${maxChars} characters; split the value or check for an unbalanced quote.`,
          recordStartLine,
        );
      }
      if (inQuotes) {
        if (quoteMaybeClosed) {
          quoteMaybeClosed = false;
          if (c === QUOTE) {
            if (header === null) headerField += '"';
            continue; // `""` is an escaped quote
          }
          inQuotes = false;
          closedQuote = true;
          // falls through: c is the character after the closing quote
        } else {
          if (c === QUOTE) quoteMaybeClosed = true;
          else {
            if (c === LF) line += 1;
            if (header === null) headerField += String.fromCharCode(c);
          }
          continue;
        }
      }
      if (c === delimiter) {
        fields += 1;
        closedQuote = false;
        fieldHasText = false;
        if (header === null) {
          headerFields.push(headerField);
          headerField = '';
        }
      } else if (c === LF) {
        const blank = fields === 0 && !fieldHasText && !closedQuote;
        if (!blank) endRecord();
        else recordChars = 0;
        line += 1;
        recordStartLine = line;
      } else if (c === CR) {
        // part of a CRLF line end; a lone CR inside a field is not meaningful data
      } else if (closedQuote) {
        fail(
          `unexpected text after a closing quote. A quoted value must end at the quote; write a quote inside a quoted value as "".`,
          line,
        );
      } else if (c === QUOTE) {
        if (fieldHasText) {
          fail(
            `a quote inside an unquoted value. Quote the whole value and double the quotes inside it, e.g. "5"" screen".`,
            line,
          );
        }
        inQuotes = true;
        quoteOpenLine = line;
        fieldHasText = true;
      } else {
        fieldHasText = true;
        if (header === null) headerField += String.fromCharCode(c);
      }
    }
  }
  if (inQuotes && !quoteMaybeClosed) {
    fail(
      `a quote opened here is never closed (the file ends inside it). Close the quote, or double a quote that is part of the value ("").`,
      quoteOpenLine,
    );
  }
  if (fields > 0 || fieldHasText || closedQuote || quoteMaybeClosed) endRecord();
  if (header === null) {
    throw new ValidationError(
      `${where} is empty. A CSV source needs a header line naming its columns, then one line per row.`,
      { location: options.displayPath },
    );
  }
  if (records === 0) {
    throw new ValidationError(
      `${where} has a header line but no data rows; nothing to ingest. Check that the file was written completely.`,
      { location: options.displayPath },
    );
  }
  return { header: header as string[], records };
}

function checkHeader(names: readonly string[], fail: (message: string, line: number) => never): void {
  const seen = new Set<string>();
  names.forEach((raw, i) => {
    const name = raw.trim();
    if (name === '')
      fail(`column ${i + 1} of the header has no name. Every column needs a name in the first line.`, 1);
    if (seen.has(name))
      fail(`the header names column "${name}" twice. Column names must be unique; rename one.`, 1);
    seen.add(name);
  });
  if (names.every((n) => /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(n.trim()))) {
    fail(
      'the first line looks like data, not a header (every name is a number). Add a header line naming the columns.',
      1,
    );
  }
}
