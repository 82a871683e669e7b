import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  CreateBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { joinKey, assertObjectKey } from '../keys';
import { OutageRetryStrategy } from './retry';
import type { ObjectBody, ObjectInfo, ObjectStore, PutOptions } from '../object-store';
import {
  ImmutableObjectConflictError,
  ObjectAccessDeniedError,
  ObjectNotFoundError,
  ObjectStoreUnavailableError,
} from '../errors';

/** Options for {@link S3ObjectStore}. */
export interface S3ObjectStoreOptions {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  bucket: string;
  /** Key prefix under which this store reads and writes (e.g. a test run's namespace). @default '' */
  prefix?: string;
  /** Path-style addressing, needed by SeaweedFS and MinIO. @default true */
  forcePathStyle?: boolean;
  /**
   * Attempts per request, with capped, jittered exponential backoff between them (200 ms doubling
   * to 5 s: 7.6–15 s in all), so a short S3 outage is ridden out inside one request. @default 8
   */
  maxAttempts?: number;
  /** Multipart part size in bytes; bodies above it are uploaded in parts. @default 8 MiB */
  partSize?: number;
  /** Parallel part uploads. @default 4 */
  uploadConcurrency?: number;
  /** Per-request socket timeout. @default 30000 */
  requestTimeoutMs?: number;
  /** Keys per list request (S3 caps it at 1000). @default 1000 */
  listPageSize?: number;
}

// The platform targets Node 20 (the machines' runtime); the SDK's notice about future Node 22
// releases is noise in every CLI and worker output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const DEFAULT_PART_SIZE = 8 * 1024 * 1024;

/**
 * {@link ObjectStore} over any S3-compatible API (AWS S3, SeaweedFS, MinIO) with the AWS SDK v3.
 * Outages (refused/reset connections, timeouts, 5xx) are retried with capped, jittered exponential
 * backoff ({@link OutageRetryStrategy}); what still fails is mapped once, here, to the typed errors
 * of `../errors` — an outage to the retryable {@link ObjectStoreUnavailableError}.
 */
export class S3ObjectStore implements ObjectStore {
  readonly location: string;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly partSize: number;
  private readonly uploadConcurrency: number;
  private readonly listPageSize: number;

  constructor(options: S3ObjectStoreOptions) {
    this.bucket = options.bucket;
    this.prefix = options.prefix ? joinKey(options.prefix) : '';
    this.partSize = Math.max(options.partSize ?? DEFAULT_PART_SIZE, 5 * 1024 * 1024);
    this.uploadConcurrency = options.uploadConcurrency ?? 4;
    this.listPageSize = Math.min(Math.max(options.listPageSize ?? 1000, 1), 1000);
    this.location = `s3://${joinKey(options.bucket, this.prefix)} at ${options.endpoint}`;
    this.client = new S3Client({
      endpoint: options.endpoint,
      region: options.region,
      forcePathStyle: options.forcePathStyle ?? true,
      credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey },
      maxAttempts: options.maxAttempts ?? 8,
      retryStrategy: new OutageRetryStrategy({ maxAttempts: options.maxAttempts ?? 8 }),
      requestHandler: { requestTimeout: options.requestTimeoutMs ?? 30_000, connectionTimeout: 5_000 },
    });
  }

  async ensureBucket(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      return;
    } catch (error) {
      if (!isNotFound(error)) throw this.wrap(error, '');
    }
    try {
      await this.client.send(new CreateBucketCommand({ Bucket: this.bucket }));
    } catch (error) {
      const code = errorCode(error);
      if (code !== 'BucketAlreadyOwnedByYou' && code !== 'BucketAlreadyExists') throw this.wrap(error, '');
    }
  }

  async put(key: string, body: ObjectBody, options: PutOptions = {}): Promise<ObjectInfo> {
    const fullKey = this.fullKey(key);
    if (typeof body === 'string' || body instanceof Uint8Array) {
      const bytes = typeof body === 'string' ? Buffer.from(body) : body;
      if (options.immutable && (await this.sameContentExists(key, bytes))) return (await this.head(key))!;
      if (bytes.byteLength <= this.partSize) {
        try {
          const out = await this.client.send(
            new PutObjectCommand({
              Bucket: this.bucket,
              Key: fullKey,
              Body: bytes,
              ContentType: options.contentType ?? 'application/octet-stream',
            }),
          );
          return { key, size: bytes.byteLength, etag: stripQuotes(out.ETag), lastModified: new Date() };
        } catch (error) {
          throw this.wrap(error, key);
        }
      }
      return this.upload(key, Readable.from([bytes]), options);
    }
    if (options.immutable && (await this.head(key))) {
      // A stream cannot be compared without buffering it; immutable stream writes must use putFile.
      throw new ImmutableObjectConflictError(key, this.location);
    }
    return this.upload(key, body, options);
  }

  async putFile(key: string, filePath: string, options: PutOptions = {}): Promise<ObjectInfo> {
    if (options.immutable) {
      const existing = await this.head(key);
      if (existing) {
        const size = (await fs.promises.stat(filePath)).size;
        // A multipart ETag is not a content hash; equal size is the best cheap evidence there.
        const sameContent =
          existing.size === size &&
          (existing.etag?.includes('-') || existing.etag === (await md5File(filePath)));
        if (sameContent) return existing;
        throw new ImmutableObjectConflictError(key, this.location);
      }
    }
    return this.upload(key, fs.createReadStream(filePath), options);
  }

  async get(key: string): Promise<Buffer> {
    const stream = await this.getStream(key);
    const chunks: Buffer[] = [];
    for await (const chunk of stream)
      chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array));
    return Buffer.concat(chunks);
  }

  async getStream(key: string): Promise<Readable> {
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) }),
      );
      if (!(out.Body instanceof Readable)) throw new Error('response body is not a Node stream');
      return out.Body;
    } catch (error) {
      throw this.wrap(error, key);
    }
  }

  async download(key: string, filePath: string): Promise<ObjectInfo> {
    await fs.promises.mkdir(path.dirname(filePath), { recursive: true });
    const temp = `${filePath}.${process.pid}.${Date.now()}.part`;
    try {
      const stream = await this.getStream(key);
      await pipeline(stream, fs.createWriteStream(temp));
      await fs.promises.rename(temp, filePath);
    } catch (error) {
      await fs.promises.rm(temp, { force: true });
      throw error instanceof ObjectNotFoundError || error instanceof ObjectAccessDeniedError
        ? error
        : this.wrap(error, key);
    }
    const size = (await fs.promises.stat(filePath)).size;
    return { key, size, etag: undefined, lastModified: undefined };
  }

  async presignGet(key: string, expiresInSeconds: number): Promise<string> {
    // SigV4 query signing allows 1 s to 7 days; anything else is a caller's bug, said plainly.
    if (!Number.isInteger(expiresInSeconds) || expiresInSeconds < 1 || expiresInSeconds > 604_800)
      throw new RangeError(`presigned URL expiry must be 1–604800 whole seconds, got ${expiresInSeconds}`);
    try {
      return await getSignedUrl(
        this.client,
        new GetObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) }),
        { expiresIn: expiresInSeconds },
      );
    } catch (error) {
      throw this.wrap(error, key);
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const out = await this.client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) }),
      );
      return {
        key,
        size: out.ContentLength ?? 0,
        etag: stripQuotes(out.ETag),
        lastModified: out.LastModified,
      };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw this.wrap(error, key);
    }
  }

  async exists(key: string): Promise<boolean> {
    return (await this.head(key)) !== undefined;
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const fullPrefix = prefix === '' ? (this.prefix ? `${this.prefix}/` : '') : this.fullKey(prefix);
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: fullPrefix,
            ContinuationToken: token,
            MaxKeys: this.listPageSize,
          }),
        );
      } catch (error) {
        throw this.wrap(error, prefix);
      }
      for (const item of page.Contents ?? []) {
        if (!item.Key) continue;
        yield {
          key: this.relativeKey(item.Key),
          size: item.Size ?? 0,
          etag: stripQuotes(item.ETag),
          lastModified: item.LastModified,
        };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async delete(keys: string | readonly string[]): Promise<void> {
    const all = typeof keys === 'string' ? [keys] : [...keys];
    for (let i = 0; i < all.length; i += 1000) {
      const batch = all.slice(i, i + 1000);
      try {
        const out = await this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: batch.map((key) => ({ Key: this.fullKey(key) })), Quiet: true },
          }),
        );
        const failed = (out.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
        if (failed.length > 0) {
          throw new ObjectStoreUnavailableError(
            this.relativeKey(failed[0]?.Key ?? ''),
            this.location,
            `delete failed for ${failed.length} object(s): ${failed[0]?.Code ?? 'unknown error'}`,
          );
        }
      } catch (error) {
        if (error instanceof ObjectStoreUnavailableError) throw error;
        throw this.wrap(error, batch[0] ?? '');
      }
    }
  }

  async deletePrefix(prefix: string): Promise<number> {
    if (prefix === '' && !this.prefix) {
      // Only a store scoped under a prefix may be emptied whole; a bucket never is by accident.
      throw new ImmutableObjectConflictError('(everything)', this.location);
    }
    const keys: string[] = [];
    for await (const item of this.list(prefix)) keys.push(item.key);
    await this.delete(keys);
    return keys.length;
  }

  /** Releases sockets; the store must not be used afterwards. */
  close(): void {
    this.client.destroy();
  }

  private async upload(key: string, body: Readable, options: PutOptions): Promise<ObjectInfo> {
    let size = 0;
    const counted = body.on('data', (chunk: Buffer) => {
      size += chunk.length;
    });
    try {
      const upload = new Upload({
        client: this.client,
        params: {
          Bucket: this.bucket,
          Key: this.fullKey(key),
          Body: counted,
          ContentType: options.contentType ?? 'application/octet-stream',
        },
        partSize: this.partSize,
        queueSize: this.uploadConcurrency,
        leavePartsOnError: false,
      });
      const out = await upload.done();
      return { key, size, etag: stripQuotes(out.ETag), lastModified: new Date() };
    } catch (error) {
      throw this.wrap(error, key);
    }
  }

  private async sameContentExists(key: string, bytes: Uint8Array): Promise<boolean> {
    const existing = await this.head(key);
    if (!existing) return false;
    const digest = createHash('md5').update(bytes).digest('hex');
    if (existing.size === bytes.byteLength && existing.etag === digest) return true;
    if (existing.size === bytes.byteLength && existing.etag?.includes('-')) {
      // Multipart ETags are not content hashes; compare the bytes themselves.
      return Buffer.from(bytes).equals(await this.get(key));
    }
    throw new ImmutableObjectConflictError(key, this.location);
  }

  private fullKey(key: string): string {
    assertObjectKey(key);
    return this.prefix ? `${this.prefix}/${key}` : key;
  }

  private relativeKey(fullKey: string): string {
    return this.prefix && fullKey.startsWith(`${this.prefix}/`)
      ? fullKey.slice(this.prefix.length + 1)
      : fullKey;
  }

  private wrap(error: unknown, key: string): Error {
    if (
      error instanceof ObjectNotFoundError ||
      error instanceof ObjectAccessDeniedError ||
      error instanceof ObjectStoreUnavailableError ||
      error instanceof ImmutableObjectConflictError
    ) {
      return error;
    }
    if (isNotFound(error)) return new ObjectNotFoundError(key, this.location, { cause: error });
    const code = errorCode(error);
    if (
      code === 'AccessDenied' ||
      code === 'InvalidAccessKeyId' ||
      code === 'SignatureDoesNotMatch' ||
      code === 'Forbidden' ||
      statusOf(error) === 403
    ) {
      return new ObjectAccessDeniedError(key, this.location, { cause: error });
    }
    const reason = code && code !== 'Error' ? code : outageReason(error);
    return new ObjectStoreUnavailableError(key, this.location, reason, { cause: error });
  }
}

/** A short cause for an outage: the socket error code (ECONNREFUSED…) when there is one, else the message. */
function outageReason(error: unknown): string {
  // The SDK wraps socket errors ("AWS SDK error wrapper for …"); the code sits on the cause.
  let e: unknown = error;
  for (let depth = 0; depth < 5 && e && typeof e === 'object'; depth++) {
    const inner = e instanceof AggregateError && e.errors.length > 0 ? (e.errors[0] as unknown) : e;
    const code = (inner as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'Error') return code;
    e = (inner as { cause?: unknown }).cause;
  }
  const message = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
  return message.replace(/^AWS SDK error wrapper for (Error: )?/, '') || 'connection failed';
}

function stripQuotes(etag: string | undefined): string | undefined {
  return etag?.replace(/^"|"$/g, '');
}

function errorCode(error: unknown): string | undefined {
  if (error instanceof S3ServiceException) return error.name;
  if (error && typeof error === 'object') {
    const candidate =
      (error as { code?: unknown; name?: unknown }).code ?? (error as { name?: unknown }).name;
    return typeof candidate === 'string' ? candidate : undefined;
  }
  return undefined;
}

function statusOf(error: unknown): number | undefined {
  if (error && typeof error === 'object' && '$metadata' in error) {
    return (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  }
  return undefined;
}

function isNotFound(error: unknown): boolean {
  const code = errorCode(error);
  return code === 'NoSuchKey' || code === 'NotFound' || code === 'NoSuchBucket' || statusOf(error) === 404;
}

async function md5File(filePath: string): Promise<string> {
  const hash = createHash('md5');
  await pipeline(fs.createReadStream(filePath), hash);
  return hash.digest('hex');
}
