import type { Readable } from 'node:stream';

/** Metadata of a stored object. */
export interface ObjectInfo {
  readonly key: string;
  readonly size: number;
  /** Entity tag as returned by the store (quotes removed). */
  readonly etag: string | undefined;
  readonly lastModified: Date | undefined;
}

/** Body accepted by {@link ObjectStore.put}. */
export type ObjectBody = Uint8Array | string | Readable;

/** Options for writes. */
export interface PutOptions {
  /** @default 'application/octet-stream' */
  contentType?: string;
  /**
   * Refuse to replace an existing object with different content (artifacts, commit files).
   * Rewriting identical content is allowed, so a retried step is harmless.
   * @default false
   */
  immutable?: boolean;
}

/**
 * The object-store port. Keys are relative to the store's bucket/prefix. Every implementation
 * raises the errors of `./errors` (not found, access denied, unavailable, immutable conflict)
 * with the key and location in the message, and retries transient failures itself.
 */
export interface ObjectStore {
  /** Human-readable location for messages, e.g. `s3://fti at http://127.0.0.1:8333`. */
  readonly location: string;
  /** Creates the bucket if missing; idempotent. */
  ensureBucket(): Promise<void>;
  /** Writes an object; streams and large bodies are uploaded in parts. */
  put(key: string, body: ObjectBody, options?: PutOptions): Promise<ObjectInfo>;
  /** Uploads a local file (multipart above the part size). */
  putFile(key: string, filePath: string, options?: PutOptions): Promise<ObjectInfo>;
  /** Reads a whole object into memory. */
  get(key: string): Promise<Buffer>;
  /** Reads an object as a stream. */
  getStream(key: string): Promise<Readable>;
  /** Streams an object to a local file, written atomically (temp file + rename). */
  download(key: string, filePath: string): Promise<ObjectInfo>;
  /** Metadata, or `undefined` when the object does not exist. */
  head(key: string): Promise<ObjectInfo | undefined>;
  exists(key: string): Promise<boolean>;
  /** Every object under a prefix, in key order, paging transparently. */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /** Deletes objects; missing keys are not an error. */
  delete(keys: string | readonly string[]): Promise<void>;
  /** Deletes every object under a prefix; returns how many were removed. */
  deletePrefix(prefix: string): Promise<number>;
  /**
   * A URL that downloads the object with a plain HTTP GET, without credentials, until it expires
   * `expiresInSeconds` (1 s – 7 days) from now: handed to clients (the REST API's training data) so
   * large files go from the store to them directly. Signing is local: nothing is checked against
   * the store, so a URL for a missing key answers 404 when used.
   */
  presignGet(key: string, expiresInSeconds: number): Promise<string>;
}
