import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import type { S3Config } from '../config.js';
import { assertKey, BlobNotFoundError, type BlobStore } from './blob-store.js';
import { MultipartUpload, PART_SIZE, PartPool } from './s3-multipart.js';
import { s3Presigner, s3Sdk } from './s3-sdk.js';

export { PART_SIZE };

/**
 * Presigned GETs live 5 minutes: long enough to follow the redirect and start a slow download
 * (S3 checks expiry when the request starts, not while it streams), short enough that a URL
 * leaked through logs, Referer or browser history dies quickly. Our own 7-day link stays the
 * long-lived credential and is re-checked on every use.
 */
export const PRESIGN_SECONDS = 300;

/** A GET of a missing key; NoSuchBucket is a misconfiguration (502), not a missing blob (410). */
function isMissing(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NoSuchKey' || (e.$metadata?.httpStatusCode === 404 && e.name !== 'NoSuchBucket');
}

/**
 * Blobs as objects in an S3-compatible bucket (AWS S3, R2, Tigris, MinIO). Credentials come from
 * the standard AWS chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, profiles, instance roles);
 * `client` overrides it for tests.
 */
export class S3BlobStore implements BlobStore {
  readonly kind = 's3' as const;
  readonly client: S3Client;
  private readonly bucket: string;
  private readonly redirect: boolean;
  private readonly parts = new PartPool();

  constructor(config: S3Config, client: Partial<S3ClientConfig> = {}) {
    this.bucket = config.bucket;
    this.redirect = config.presignRedirect;
    this.client = new (s3Sdk().S3Client)({
      region: config.region,
      forcePathStyle: config.forcePathStyle,
      ...(config.endpoint ? { endpoint: config.endpoint } : {}),
      // An SMTP session waits on these calls: a dead or black-holed endpoint must become a 451
      // within seconds, not hang the sender. requestTimeout is per socket inactivity.
      requestHandler: { connectionTimeout: 5_000, requestTimeout: 30_000 },
      // Checksums only where S3 requires them: the flexible-checksum default (SDK ≥ 3.729) sends
      // aws-chunked trailers that several S3-compatible stores reject. Parts are sent as
      // buffers, so SigV4 still signs a SHA-256 of every byte.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      ...client,
    });
  }

  async put(key: string, body: Readable | Buffer): Promise<{ size: number }> {
    assertKey(key);
    if (Buffer.isBuffer(body) && body.length <= PART_SIZE) {
      await this.putObject(key, body);
      return { size: body.length };
    }
    const source = Buffer.isBuffer(body) ? Readable.from([body], { objectMode: false }) : body;
    try {
      return await this.putStream(key, source);
    } catch (err) {
      source.destroy();
      throw err;
    }
  }

  /** Resolves after PutObject succeeded: S3 has the bytes durably. */
  private async putObject(key: string, body: Buffer): Promise<void> {
    await this.client.send(new (s3Sdk().PutObjectCommand)({ Bucket: this.bucket, Key: key, Body: body, ContentLength: body.length }));
  }

  /**
   * Up to one part, the chunks are kept as they came and sent with one PutObject; past that,
   * a multipart upload copies them into its one part buffer and reads on once that part is sent.
   */
  private async putStream(key: string, source: Readable): Promise<{ size: number }> {
    const head: Buffer[] = [];
    let size = 0;
    let upload: MultipartUpload | null = null;
    let part: Buffer | null = null;
    let filled = 0;
    try {
      for await (const chunk of source as AsyncIterable<Buffer | Uint8Array>) {
        let buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        size += buf.length;
        if (!part) {
          if (size <= PART_SIZE) {
            head.push(buf);
            continue;
          }
          upload = new MultipartUpload(this.client, this.parts, this.bucket, key);
          part = upload.buffer();
          for (const h of head.splice(0)) filled += h.copy(part, filled);
        }
        while (buf.length > 0) {
          const n = buf.copy(part, filled);
          filled += n;
          buf = buf.subarray(n);
          if (filled === PART_SIZE) {
            await upload!.send(part);
            filled = 0;
          }
        }
      }
      if (!upload) {
        await this.putObject(key, head.length === 1 ? head[0]! : Buffer.concat(head, size));
        return { size };
      }
      if (filled > 0) await upload.send(part!, filled);
      await upload.complete();
      return { size };
    } catch (err) {
      await upload?.abort();
      throw err;
    }
  }

  async get(key: string): Promise<Readable> {
    assertKey(key);
    try {
      const res = await this.client.send(new (s3Sdk().GetObjectCommand)({ Bucket: this.bucket, Key: key }));
      if (!(res.Body instanceof Readable)) throw new Error(`S3 GetObject ${key}: no body stream`);
      return res.Body;
    } catch (err) {
      if (isMissing(err)) throw new BlobNotFoundError(key);
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    assertKey(key);
    // S3 answers 204 for a missing key too, so deleting twice is not an error.
    await this.client.send(new (s3Sdk().DeleteObjectCommand)({ Bucket: this.bucket, Key: key }));
  }

  async check(): Promise<void> {
    await this.client.send(new (s3Sdk().HeadBucketCommand)({ Bucket: this.bucket }));
  }

  async presign(key: string, headers: { contentType: string; contentDisposition: string }): Promise<string | null> {
    assertKey(key);
    if (!this.redirect) return null;
    const command = new (s3Sdk().GetObjectCommand)({
      Bucket: this.bucket,
      Key: key,
      ResponseContentType: headers.contentType,
      ResponseContentDisposition: headers.contentDisposition,
    });
    return s3Presigner().getSignedUrl(this.client, command, { expiresIn: PRESIGN_SECONDS });
  }
}
