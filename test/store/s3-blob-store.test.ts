import { GetObjectCommand } from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobNotFoundError } from '../../src/store/blob-store.js';
import { PRESIGN_SECONDS, S3BlobStore } from '../../src/store/s3-blob-store.js';
import { blobStoreContract } from '../helpers/blob-contract.js';
import { startS3Server, type S3Server } from '../helpers/s3-server.js';

blobStoreContract('S3 (s3rver)', async () => {
  const s3 = await startS3Server();
  return { store: new S3BlobStore(s3.config), teardown: () => s3.close() };
});

describe('S3BlobStore', () => {
  let s3: S3Server;
  let store: S3BlobStore;
  beforeAll(async () => {
    s3 = await startS3Server();
    store = new S3BlobStore(s3.config);
  });
  afterAll(() => s3.close());

  it('writes the object under the key, byte for byte, in the configured bucket', async () => {
    await store.put('msg/msg_k/0', Buffer.from('exact bytes'));
    const res = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: 'msg/msg_k/0' }));
    expect(await res.Body!.transformToString()).toBe('exact bytes');
  });

  it('uploads a large stream in parts without reading it all first', async () => {
    // 20 MiB from a source that counts how far it is ahead of what S3 has acknowledged.
    const total = 20 * 1024 * 1024;
    let produced = 0;
    let maxAhead = 0;
    let acked = 0;
    const parts: number[] = [];
    s3.failWhen((req) => {
      const n = /[?&]partNumber=(\d+)/.exec(req.url ?? '')?.[1];
      if (n) {
        parts.push(Number(n));
        acked = Number(n) * 5 * 1024 * 1024;
      }
      return false;
    });
    const chunk = Buffer.alloc(256 * 1024, 1);
    const source = Readable.from(
      (function* () {
        while (produced < total) {
          produced += chunk.length;
          maxAhead = Math.max(maxAhead, produced - acked);
          yield chunk;
        }
      })(),
    );
    try {
      expect(await store.put('msg/msg_parts/0', source)).toEqual({ size: total });
    } finally {
      s3.failWhen(null);
    }
    expect(parts.length).toBeGreaterThanOrEqual(4);
    // Bounded by the part size times the parts in flight, not by the object size.
    expect(maxAhead).toBeLessThanOrEqual(16 * 1024 * 1024);
  });

  it('rejects the put and leaves no object when S3 fails mid-upload', async () => {
    s3.failWhen((req) => /partNumber=2/.test(req.url ?? ''));
    const source = Readable.from(
      (function* () {
        for (let i = 0; i < 64; i++) yield Buffer.alloc(256 * 1024, 2);
      })(),
    );
    try {
      await expect(store.put('msg/msg_fail/0', source)).rejects.toThrow();
    } finally {
      s3.failWhen(null);
    }
    await expect(store.get('msg/msg_fail/0')).rejects.toBeInstanceOf(BlobNotFoundError);
  });

  it('reports a missing bucket as a storage failure, not as a missing blob', async () => {
    const wrong = new S3BlobStore({ ...s3.config, bucket: 'no-such-bucket' });
    const err = await wrong.get('msg/msg_a/raw.eml').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(BlobNotFoundError);
    await expect(wrong.check()).rejects.toThrow();
  });

  it('presigns only when redirects are configured, with the download headers and a short life', async () => {
    const headers = { contentType: 'text/plain', contentDisposition: 'attachment; filename="a.txt"' };
    expect(await store.presign('msg/msg_k/0', headers)).toBeNull();
    const redirecting = new S3BlobStore({ ...s3.config, presignRedirect: true });
    const url = new URL((await redirecting.presign('msg/msg_k/0', headers))!);
    expect(url.searchParams.get('X-Amz-Expires')).toBe(String(PRESIGN_SECONDS));
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toBe(headers.contentDisposition);
    expect(res.headers.get('content-type')).toBe('text/plain');
    expect(await res.text()).toBe('exact bytes');
  });

  it('fails every call when S3 is down, and works again when it is back', async () => {
    await s3.stop();
    try {
      await expect(store.put('msg/msg_down/0', Buffer.from('x'))).rejects.toThrow();
      const err = await store.get('msg/msg_k/0').catch((e: unknown) => e);
      expect(err).not.toBeInstanceOf(BlobNotFoundError);
      await expect(store.check()).rejects.toThrow();
    } finally {
      await s3.start();
    }
    await expect(store.check()).resolves.toBeUndefined();
  });
});
