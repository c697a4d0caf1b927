import type { CompletedPart, S3Client } from '@aws-sdk/client-s3';
import { s3Sdk } from './s3-sdk.js';

/**
 * S3's smallest part size (all parts but the last). A stream bigger than one part goes up
 * through two buffers of this size: one being sent while the other fills, reused part after
 * part. @aws-sdk/lib-storage concatenated a fresh buffer for every part with two in flight;
 * for a 40 MB attachment that garbage made the process peak 77 MB above idle, against ~55 MB
 * now and ~38 MB with the file store (bench/big-mail.ts).
 */
export const PART_SIZE = 5 * 1024 * 1024;

/**
 * Part buffers kept for a second after an upload: a big message's raw copy, uploaded right
 * after its attachment, fills the attachment's buffers instead of two new ones while those
 * still wait for the GC. Idle, the store holds none. A reused buffer still holds the previous
 * upload's bytes: only the part of it filled since is ever sent.
 */
export class PartPool {
  private spare: Buffer[] = [];
  private timer: NodeJS.Timeout | null = null;

  take(): Buffer {
    return this.spare.pop() ?? Buffer.allocUnsafeSlow(PART_SIZE);
  }

  give(buffers: Buffer[]): void {
    for (const b of buffers) if (this.spare.length < 2) this.spare.push(b);
    if (this.timer) this.timer.refresh();
    else {
      this.timer = setTimeout(() => {
        this.spare = [];
        this.timer = null;
      }, 1000).unref();
    }
  }
}

/**
 * One multipart upload with one part in flight: send() starts a part and hands back the buffer
 * of the previous one once S3 has acknowledged it, for the caller to fill next.
 */
export class MultipartUpload {
  private readonly started: Promise<string | undefined>;
  private readonly parts: CompletedPart[] = [];
  private readonly owned: Buffer[] = [];
  private inFlight: { promise: Promise<void>; buffer: Buffer } | null = null;

  constructor(
    private readonly client: S3Client,
    private readonly pool: PartPool,
    private readonly bucket: string,
    private readonly key: string,
  ) {
    this.started = client.send(new (s3Sdk().CreateMultipartUploadCommand)({ Bucket: bucket, Key: key })).then((r) => r.UploadId);
    this.started.catch(() => undefined);
  }

  /** A part buffer to fill. */
  buffer(): Buffer {
    const b = this.pool.take();
    this.owned.push(b);
    return b;
  }

  /** Starts uploading the first `length` bytes of `part`; resolves with the buffer to fill next. */
  async send(part: Buffer, length = PART_SIZE): Promise<Buffer> {
    const previous = this.inFlight;
    this.inFlight = null;
    await previous?.promise;
    const partNumber = this.parts.length + 1;
    const promise = this.started.then(async (uploadId) => {
      const res = await this.client.send(
        new (s3Sdk().UploadPartCommand)({
          Bucket: this.bucket,
          Key: this.key,
          UploadId: uploadId,
          PartNumber: partNumber,
          Body: part.subarray(0, length),
          ContentLength: length,
        }),
      );
      if (!res.ETag) throw new Error(`S3 UploadPart ${this.key} #${partNumber}: no ETag`);
      this.parts.push({ PartNumber: partNumber, ETag: res.ETag });
    });
    promise.catch(() => undefined);
    this.inFlight = { promise, buffer: part };
    return previous?.buffer ?? this.buffer();
  }

  /** Resolves after CompleteMultipartUpload succeeded: S3 has the bytes durably. */
  async complete(): Promise<void> {
    await this.inFlight?.promise;
    this.inFlight = null;
    this.release();
    await this.client.send(
      new (s3Sdk().CompleteMultipartUploadCommand)({
        Bucket: this.bucket,
        Key: this.key,
        UploadId: await this.started,
        MultipartUpload: { Parts: this.parts },
      }),
    );
  }

  /** Drops the parts S3 holds (billed until then); if that fails, the bucket's lifecycle rules must. */
  async abort(): Promise<void> {
    await this.inFlight?.promise.catch(() => undefined);
    this.inFlight = null;
    this.release();
    const uploadId = await this.started.catch(() => undefined);
    if (!uploadId) return;
    await this.client
      .send(new (s3Sdk().AbortMultipartUploadCommand)({ Bucket: this.bucket, Key: this.key, UploadId: uploadId }))
      .catch(() => undefined);
  }

  private release(): void {
    this.pool.give(this.owned.splice(0));
  }
}
