import type { CompletedPart, S3Client } from '@aws-sdk/client-s3';
import { s3Sdk } from './s3-sdk.js';

/**
 * S3's smallest part size (all parts but the last). A stream bigger than one part goes up
 * through one buffer of this size, filled, sent, and filled again once S3 has acknowledged it.
 * @aws-sdk/lib-storage concatenated a fresh buffer for every part with two in flight; for a
 * 40 MB attachment that garbage made the process peak 77 MB above idle. Two buffers in turn
 * (one sent while the other filled) made it 59–66 MB; one, 5–6 MB less by the webhook
 * (bench/README.md, big mail, session 12). The source now waits while a part is sent: no later
 * webhook on loopback, but a distant S3's round trip per part is no longer hidden.
 */
export const PART_SIZE = 5 * 1024 * 1024;

/**
 * Part buffers kept for a second after an upload: a big message's raw copy, uploaded right
 * after its attachment, fills the attachment's buffer instead of a new one while that one
 * still waits for the GC. Idle, the store holds none. A reused buffer still holds the previous
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
 * One multipart upload, one part at a time, through one buffer: send() resolves once S3 has
 * acknowledged the part, and the caller fills the same buffer again. Two buffers (one sent while
 * the other filled) overlapped reading and sending for another 5 MiB of memory per upload.
 */
export class MultipartUpload {
  private readonly started: Promise<string | undefined>;
  private readonly parts: CompletedPart[] = [];
  private readonly owned: Buffer[] = [];

  constructor(
    private readonly client: S3Client,
    private readonly pool: PartPool,
    private readonly bucket: string,
    private readonly key: string,
  ) {
    this.started = client.send(new (s3Sdk().CreateMultipartUploadCommand)({ Bucket: bucket, Key: key })).then((r) => r.UploadId);
    this.started.catch(() => undefined);
  }

  /** The part buffer to fill (the same one for the whole upload). */
  buffer(): Buffer {
    if (this.owned.length === 0) this.owned.push(this.pool.take());
    return this.owned[0]!;
  }

  /** Uploads the first `length` bytes of `part`; resolves once S3 has them, `part` free to fill again. */
  async send(part: Buffer, length = PART_SIZE): Promise<void> {
    const partNumber = this.parts.length + 1;
    const uploadId = await this.started;
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
  }

  /** Resolves after CompleteMultipartUpload succeeded: S3 has the bytes durably. */
  async complete(): Promise<void> {
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
