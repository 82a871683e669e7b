import v8 from 'node:v8';
import { FtiError, ValidationError } from '../errors';
import {
  resolveWindowSpec,
  type ResolvedWindowSpec,
  type WindowAggregationSpec,
  type WindowFeature,
} from '../featurestore/transformations';

/** Options of a {@link WindowOperator}. */
export interface WindowOperatorOptions {
  /**
   * How far behind the newest event time seen an event may be and still count. The watermark is
   * (newest event time − allowedLatenessMs); an older event is late: reported, never applied.
   */
  readonly allowedLatenessMs: number;
}

/** A value of an output row. */
export type OperatorScalar = string | number | boolean | null;

/** One output row: partition keys, the (offset) time as an ISO-8601 string, `keep` columns, features. */
export type OperatorRow = Record<string, OperatorScalar>;

/**
 * What {@link WindowOperator.add} did with an event: the rows whose values it may have changed, or
 * that the event was late (older than the watermark) and left the state untouched.
 */
export type AddResult =
  | { readonly late: false; readonly rows: readonly OperatorRow[] }
  | { readonly late: true; readonly watermarkMs: number };

/** Why a snapshot cannot be restored: the caller rebuilds the state by replaying the stream instead. */
export class WindowSnapshotError extends FtiError {
  /** `format`: not a window-operator snapshot; `version`: another format version; `spec`/`options`: taken with other settings. */
  readonly reason: 'format' | 'version' | 'spec' | 'options';
  constructor(reason: WindowSnapshotError['reason'], message: string, options: { cause?: unknown } = {}) {
    super(message, { retryable: false, ...options });
    this.reason = reason;
  }
}

const SNAPSHOT_FORMAT = 'fti.window-operator';
const SNAPSHOT_VERSION = 1;
/** ISO-8601 with an explicit zone and at most millisecond precision (what the door normalises to). */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:\d{2})$/;
const NUMERIC: ReadonlySet<WindowFeature['fn']> = new Set(['sum', 'mean', 'min', 'max', 'stddev']);

/**
 * The retained events of one key, column-wise (a few arrays per key rather than objects per event:
 * less for the garbage collector to trace), sorted by time and, among peers, by arrival — so the
 * last of a run of peers is the last to arrive.
 */
interface KeyState {
  readonly id: KeyId;
  readonly key: readonly OperatorScalar[];
  readonly times: number[];
  /** The operator's input columns, `width` values per event. */
  readonly values: OperatorScalar[];
  /** Time of this key's live entry in the eviction heap; never later than its oldest event. */
  queuedAt: number;
}

interface SnapshotBody {
  format: string;
  version: number;
  spec: string;
  allowedLatenessMs: number;
  maxTimeMs: number | null;
  ids: KeyId[];
  counts: Uint32Array;
  times: Float64Array;
  values: OperatorScalar[];
}

/**
 * The incremental form of `windowAggregation`: fed the events of a stream one at a time, it
 * returns the rows the batch transformation would produce for them, deduplicated the way the offline
 * table keeps them (one row per key and time: the values over all peers at that time, `keep` columns
 * of the last to arrive). Rows of a (key, time) may be returned again when a later event changes
 * them — a peer at the same time, or an out-of-order event within the lateness — and the latest
 * return wins (the online store's upsert and the offline dedup both keep it).
 *
 * State is the events of each key not older than (watermark − longest window): exactly what any
 * future output can still read, so eviction never changes a result. Work per event is proportional
 * to the key's events in the longest window (times the rows an out-of-order event reopens).
 * Deterministic: the same events in the same order give the same rows, also across
 * {@link snapshot}/{@link restore}.
 *
 * `sum`, `mean`, `min`, `max` and `stddev` take finite numbers (or null); `count` and `last` take
 * any scalar. Doubles may differ from DuckDB's in the last bits (summation order).
 */
export class WindowOperator {
  private readonly resolved: ResolvedWindowSpec;
  private readonly canonical: string;
  private readonly lateness: number;
  /** Input columns retained per event: feature columns then `keep` columns, deduplicated. */
  private readonly columns: readonly string[];
  private readonly numericColumns: ReadonlySet<string>;
  private readonly featureIndex: readonly number[];
  private readonly keepIndex: readonly number[];
  private readonly keys = new Map<KeyId, KeyState>();
  private readonly isoTimes = new IsoTimes();
  private maxTimeMs: number | undefined;
  private retained = 0;
  // Min-heap of (time, key id): the keys whose oldest event may fall out of retention next.
  private heapTimes: number[] = [];
  private heapIds: KeyId[] = [];

  constructor(spec: WindowAggregationSpec, options: WindowOperatorOptions) {
    this.resolved = resolveWindowSpec(spec);
    this.canonical = canonicalSpec(this.resolved);
    const lateness = options.allowedLatenessMs;
    if (!Number.isSafeInteger(lateness) || lateness < 0)
      throw new ValidationError(
        'window operator: allowedLatenessMs must be a whole number of milliseconds ≥ 0.',
        { location: 'allowedLatenessMs' },
      );
    this.lateness = lateness;
    const columns: string[] = [];
    const indexOf = (c: string) => {
      let i = columns.indexOf(c);
      if (i < 0) i = columns.push(c) - 1;
      return i;
    };
    this.featureIndex = this.resolved.features.map((f) => (f.column === undefined ? -1 : indexOf(f.column)));
    this.keepIndex = this.resolved.keep.map(indexOf);
    this.columns = columns;
    this.numericColumns = new Set(
      this.resolved.features.filter((f) => NUMERIC.has(f.fn)).map((f) => f.column!),
    );
  }

  /**
   * Applies one event (partition keys, the time column as an ISO-8601 string with a zone and at
   * most millisecond precision, the input columns; a missing column is null). Returns the rows it
   * may have changed, in time order, or `late` when its time is before the watermark. Throws
   * {@link ValidationError} (naming the column, not the value) for a malformed event, before
   * changing anything.
   */
  add(event: Readonly<Record<string, unknown>>): AddResult {
    const r = this.resolved;
    const t = this.isoTimes.parse(event[r.timeColumn], r.timeColumn);
    const key: OperatorScalar[] = [];
    for (const c of r.partitionBy) key.push(scalar(event[c], c, false));
    const values: OperatorScalar[] = [];
    for (const c of this.columns) values.push(scalar(event[c], c, this.numericColumns.has(c)));
    const watermark = this.watermarkMs();
    if (watermark !== undefined && t < watermark) return { late: true, watermarkMs: watermark };

    const id = keyId(key, r.partitionBy.length);
    let state = this.keys.get(id);
    if (state === undefined) {
      state = { id, key, times: [], values: [], queuedAt: t };
      this.keys.set(id, state);
      this.heapPush(t, id);
    } else if (t < state.queuedAt) {
      state.queuedAt = t;
      this.heapPush(t, id);
    }
    const times = state.times;
    // The newest arrival goes after every peer at its time.
    const at = upperBound(times, t);
    if (at === times.length) {
      times.push(t);
      for (const value of values) state.values.push(value);
    } else {
      times.splice(at, 0, t);
      state.values.splice(at * values.length, 0, ...values);
    }
    this.retained += 1;

    const rows = [this.rowAt(state, t)];
    // An event older than the key's newest reopens the later rows whose windows reach back to it.
    const until = t + r.longestWindowMs;
    for (let i = upperBound(times, t); i < times.length && times[i]! <= until;) {
      const s = times[i]!;
      rows.push(this.rowAt(state, s));
      i = upperBound(times, s);
    }

    if (this.maxTimeMs === undefined || t > this.maxTimeMs) {
      this.maxTimeMs = t;
      this.evict(t - this.lateness - r.longestWindowMs);
    }
    return { late: false, rows };
  }

  /** Newest event time seen minus the allowed lateness; undefined before the first event. */
  watermarkMs(): number | undefined {
    return this.maxTimeMs === undefined ? undefined : this.maxTimeMs - this.lateness;
  }

  /** Keys holding state and events retained across them. */
  stats(): { keys: number; retainedEvents: number } {
    return { keys: this.keys.size, retainedEvents: this.retained };
  }

  /**
   * The whole state as bytes (V8 serialization, tagged with a format version and the spec), to be
   * stored with the stream position it corresponds to.
   */
  snapshot(): Uint8Array {
    const ids: KeyId[] = [];
    const counts = new Uint32Array(this.keys.size);
    const times = new Float64Array(this.retained);
    const values: OperatorScalar[] = [];
    let k = 0;
    let e = 0;
    for (const state of this.keys.values()) {
      ids.push(state.id);
      counts[k++] = state.times.length;
      times.set(state.times, e);
      e += state.times.length;
      for (const value of state.values) values.push(value);
    }
    const body: SnapshotBody = {
      format: SNAPSHOT_FORMAT,
      version: SNAPSHOT_VERSION,
      spec: this.canonical,
      allowedLatenessMs: this.lateness,
      maxTimeMs: this.maxTimeMs ?? null,
      ids,
      counts,
      times,
      values,
    };
    return v8.serialize(body);
  }

  /**
   * An operator continuing from a {@link snapshot}. Refuses (with {@link WindowSnapshotError}) bytes
   * that are not a snapshot of this format version, or that were taken with another spec or
   * lateness — their state would not give the rows this spec defines.
   */
  static restore(
    spec: WindowAggregationSpec,
    options: WindowOperatorOptions,
    bytes: Uint8Array,
  ): WindowOperator {
    const operator = new WindowOperator(spec, options);
    let body: SnapshotBody;
    try {
      body = v8.deserialize(bytes) as SnapshotBody;
    } catch (error) {
      throw new WindowSnapshotError(
        'format',
        'window operator: the bytes are not a window-operator snapshot.',
        {
          cause: error,
        },
      );
    }
    if (typeof body !== 'object' || body === null || body.format !== SNAPSHOT_FORMAT)
      throw new WindowSnapshotError(
        'format',
        'window operator: the bytes are not a window-operator snapshot.',
      );
    if (body.version !== SNAPSHOT_VERSION)
      throw new WindowSnapshotError(
        'version',
        `window operator: snapshot format version ${String(body.version)} cannot be read by this version (${SNAPSHOT_VERSION}); rebuild the state by replaying the stream.`,
      );
    if (body.spec !== operator.canonical) {
      const differing = specDifferences(body.spec, operator.canonical);
      throw new WindowSnapshotError(
        'spec',
        `window operator: the snapshot was taken with a different window spec (${differing.join(', ')} differ); restore it with the spec it was taken with, or rebuild the state by replaying the stream.`,
      );
    }
    if (body.allowedLatenessMs !== operator.lateness)
      throw new WindowSnapshotError(
        'options',
        `window operator: the snapshot was taken with allowedLatenessMs ${body.allowedLatenessMs}, not ${operator.lateness}; its state holds only what that lateness needs, so restore it with the same lateness or rebuild the state by replaying the stream.`,
      );
    operator.maxTimeMs = body.maxTimeMs ?? undefined;
    const width = operator.columns.length;
    const { ids, counts, times, values } = body;
    const arity = operator.resolved.partitionBy.length;
    let e = 0;
    for (let k = 0; k < ids.length; k += 1) {
      const n = counts[k]!;
      const id = ids[k]!;
      const state: KeyState = {
        id,
        key: keyOf(id, arity),
        times: plainArray(times, e, n),
        values: values.slice(e * width, (e + n) * width),
        queuedAt: times[e]!,
      };
      operator.keys.set(id, state);
      // Keys are visited in no time order, so entries are appended and the heap built once below.
      operator.heapTimes.push(state.queuedAt);
      operator.heapIds.push(id);
      e += n;
    }
    operator.heapify();
    operator.retained = e;
    return operator;
  }

  /** The output row of `state`'s key at time `s` (an event time of the key). */
  private rowAt(state: KeyState, s: number): OperatorRow {
    const r = this.resolved;
    const width = this.columns.length;
    const end = upperBound(state.times, s);
    const last = (end - 1) * width; // the last to arrive among the peers at s
    const row: OperatorRow = {};
    for (let i = 0; i < r.partitionBy.length; i += 1) row[r.partitionBy[i]!] = state.key[i]!;
    row[r.timeColumn] = this.isoTimes.format(s + r.timeOffsetMs);
    for (let i = 0; i < r.keep.length; i += 1) row[r.keep[i]!] = state.values[last + this.keepIndex[i]!]!;
    for (let i = 0; i < r.features.length; i += 1) {
      const f = r.features[i]!;
      const start = lowerBound(state.times, s - f.windowMs);
      row[f.name] = aggregate(f.fn, state.values, width, this.featureIndex[i]!, start, end);
    }
    return row;
  }

  /** Drops events older than `threshold` (and keys left empty), visiting only keys that hold some. */
  private evict(threshold: number): void {
    while (this.heapTimes.length > 0 && this.heapTimes[0]! < threshold) {
      const queuedAt = this.heapTimes[0]!;
      const id = this.heapIds[0]!;
      this.heapPop();
      const state = this.keys.get(id);
      if (state === undefined || state.queuedAt !== queuedAt) continue; // superseded entry
      const drop = lowerBound(state.times, threshold);
      this.retained -= drop;
      if (drop === state.times.length) {
        this.keys.delete(id);
      } else {
        state.times.splice(0, drop);
        state.values.splice(0, drop * this.columns.length);
        state.queuedAt = state.times[0]!;
        this.heapPush(state.queuedAt, id);
      }
    }
  }

  /** Restores the heap order over entries appended unordered (Floyd's bottom-up build, O(n)). */
  private heapify(): void {
    for (let i = (this.heapTimes.length >> 1) - 1; i >= 0; i -= 1) this.siftDown(i);
  }

  private heapPush(time: number, id: KeyId): void {
    const times = this.heapTimes;
    const ids = this.heapIds;
    let i = times.push(time) - 1;
    ids.push(id);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (times[parent]! <= time) break;
      times[i] = times[parent]!;
      ids[i] = ids[parent]!;
      i = parent;
    }
    times[i] = time;
    ids[i] = id;
  }

  private heapPop(): void {
    const time = this.heapTimes.pop()!;
    const id = this.heapIds.pop()!;
    if (this.heapTimes.length === 0) return;
    this.heapTimes[0] = time;
    this.heapIds[0] = id;
    this.siftDown(0);
  }

  private siftDown(from: number): void {
    const times = this.heapTimes;
    const ids = this.heapIds;
    const n = times.length;
    const time = times[from]!;
    const id = ids[from]!;
    let i = from;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && times[child + 1]! < times[child]!) child += 1;
      if (times[child]! >= time) break;
      times[i] = times[child]!;
      ids[i] = ids[child]!;
      i = child;
    }
    times[i] = time;
    ids[i] = id;
  }
}

/**
 * Aggregates input column `col` of events [start, end) (`values` holds `width` columns per event)
 * the way DuckDB's window aggregate does; `col` is -1 for a count of rows.
 */
function aggregate(
  fn: WindowFeature['fn'],
  values: readonly OperatorScalar[],
  width: number,
  col: number,
  start: number,
  end: number,
): OperatorScalar {
  if (fn === 'count' && col < 0) return end - start;
  if (fn === 'last') {
    for (let i = end - 1; i >= start; i -= 1) {
      const value = values[i * width + col]!;
      if (value !== null) return value;
    }
    return null;
  }
  let n = 0;
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = start; i < end; i += 1) {
    const value = values[i * width + col]!;
    if (value === null) continue;
    n += 1;
    if (fn === 'count') continue;
    const x = value as number;
    sum += x;
    if (x < min) min = x;
    if (x > max) max = x;
  }
  switch (fn) {
    case 'count':
      return n;
    case 'sum':
      return n === 0 ? null : sum;
    case 'mean':
      return n === 0 ? null : sum / n;
    case 'min':
      return n === 0 ? null : min;
    case 'max':
      return n === 0 ? null : max;
    case 'stddev': {
      if (n < 2) return null;
      // Two passes: the deviations from the mean keep precision where sum-of-squares would not.
      const mean = sum / n;
      let squares = 0;
      for (let i = start; i < end; i += 1) {
        const value = values[i * width + col]!;
        if (value === null) continue;
        const d = (value as number) - mean;
        squares += d * d;
      }
      return Math.sqrt(squares / (n - 1));
    }
  }
}

/** n numbers of a typed array from `at`, as a plain array (Array.from iterates: much slower). */
function plainArray(source: Float64Array, at: number, n: number): number[] {
  const out: number[] = [];
  for (let i = at; i < at + n; i += 1) out.push(source[i]!);
  return out;
}

/** First index whose time is ≥ t. */
function lowerBound(times: readonly number[], t: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index whose time is > t. */
function upperBound(times: readonly number[], t: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid]! <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * ISO-8601 times to epoch ms and back, exactly like `Date.parse` and `toISOString`, but fast on a
 * stream: the canonical form (`YYYY-MM-DDTHH:MM:SS.sssZ`) is read digit by digit against a cached
 * day, and output rows reuse the formatted day. Anything else takes the general path.
 */
class IsoTimes {
  private parseDay = '\u0000'; // matches no time: the first parse fills the cache
  private parseDayMs = Number.NaN;
  private formatDay = Number.NaN;
  private formatPrefix = '';

  parse(value: unknown, column: string): number {
    const ms = typeof value === 'string' ? this.fastParse(value) : Number.NaN;
    if (!Number.isNaN(ms)) return ms;
    const general = typeof value === 'string' && ISO_TIME.test(value) ? Date.parse(value) : Number.NaN;
    if (Number.isNaN(general))
      throw new ValidationError(
        `window operator: event time "${column}" must be an ISO-8601 string with a zone and at most millisecond precision (e.g. 2026-01-01T10:00:00.000Z).`,
        { location: column },
      );
    return general;
  }

  format(ms: number): string {
    const day = Math.floor(ms / DAY_MS);
    if (day !== this.formatDay) {
      const iso = new Date(day * DAY_MS).toISOString();
      if (iso.length !== 24) return new Date(ms).toISOString(); // years outside 0000–9999
      this.formatDay = day;
      this.formatPrefix = iso.slice(0, 11);
    }
    let rest = ms - day * DAY_MS;
    const h = Math.floor(rest / 3_600_000);
    rest -= h * 3_600_000;
    const m = Math.floor(rest / 60_000);
    rest -= m * 60_000;
    const sec = Math.floor(rest / 1000);
    const milli = rest - sec * 1000;
    return `${this.formatPrefix}${TWO[h]}:${TWO[m]}:${TWO[sec]}.${THREE[milli]}Z`;
  }

  /** NaN unless `text` is in the canonical form. */
  private fastParse(text: string): number {
    if (text.length !== 24 || text.charCodeAt(23) !== 90 /* Z */ || text.charCodeAt(10) !== 84 /* T */)
      return Number.NaN;
    if (!text.startsWith(this.parseDay)) {
      const day = text.slice(0, 11);
      const dayMs = /^\d{4}-\d{2}-\d{2}T$/.test(day) ? Date.parse(`${day}00:00:00.000Z`) : Number.NaN;
      if (Number.isNaN(dayMs)) return Number.NaN;
      this.parseDay = day;
      this.parseDayMs = dayMs;
    }
    const h = digits(text, 11, 2);
    const m = digits(text, 14, 2);
    const sec = digits(text, 17, 2);
    const milli = digits(text, 20, 3);
    if (
      text[13] !== ':' ||
      text[16] !== ':' ||
      text[19] !== '.' ||
      !(h < 24 && m < 60 && sec < 60 && milli >= 0)
    )
      return Number.NaN;
    return this.parseDayMs + h * 3_600_000 + m * 60_000 + sec * 1000 + milli;
  }
}

const DAY_MS = 86_400_000;
const TWO = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));
const THREE = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

/** The decimal number in text[at, at + n), or NaN when a character is not a digit. */
function digits(text: string, at: number, n: number): number {
  let value = 0;
  for (let i = at; i < at + n; i += 1) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return Number.NaN;
    value = value * 10 + d;
  }
  return value;
}

/**
 * A key's map id: the value itself for a one-column key (no string to build per event), JSON for a
 * composite key. Every key of one operator has the same arity, so the two forms never meet.
 */
type KeyId = OperatorScalar;

function keyId(key: readonly OperatorScalar[], arity: number): KeyId {
  return arity === 1 ? key[0]! : JSON.stringify(key);
}

/** The key values of an id made by {@link keyId}. */
function keyOf(id: KeyId, arity: number): OperatorScalar[] {
  return arity === 1 ? [id] : (JSON.parse(id as string) as OperatorScalar[]);
}

function scalar(value: unknown, column: string, numeric: boolean): OperatorScalar {
  if (value === undefined || value === null) return null;
  if (numeric) {
    if (typeof value === 'number' && Number.isFinite(value)) return value;
    throw new ValidationError(
      `window operator: column "${column}" feeds a numeric window feature and must be a finite number or null.`,
      { location: column },
    );
  }
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  throw new ValidationError(
    `window operator: column "${column}" must be a string, finite number, boolean or null.`,
    {
      location: column,
    },
  );
}

/** The spec as the operator understands it (durations in ms), for comparing snapshots with specs. */
function canonicalSpec(r: ResolvedWindowSpec): string {
  return JSON.stringify({
    partitionBy: r.partitionBy,
    timeColumn: r.timeColumn,
    keep: r.keep,
    features: r.features.map((f) => ({
      name: f.name,
      fn: f.fn,
      column: f.column ?? null,
      windowMs: f.windowMs,
    })),
    timeOffsetMs: r.timeOffsetMs,
  });
}

function specDifferences(a: string, b: string): string[] {
  let left: Record<string, unknown>;
  try {
    left = JSON.parse(a) as Record<string, unknown>;
  } catch {
    return ['all fields'];
  }
  const right = JSON.parse(b) as Record<string, unknown>;
  const fields = Object.keys(right).filter((k) => JSON.stringify(left[k]) !== JSON.stringify(right[k]));
  return fields.length > 0 ? fields : ['field order'];
}
