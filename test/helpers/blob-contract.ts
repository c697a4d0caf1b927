import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobNotFoundError, type BlobStore } from '../../src/store/blob-store.js';

async function readAll(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** The behaviour every BlobStore must have; run against each implementation. */
export function blobStoreContract(name: string, setup: () => Promise<{ store: BlobStore; teardown(): Promise<void> }>) {
  describe(`BlobStore contract: ${name}`, () => {
    let store: BlobStore;
    let teardown: () => Promise<void>;
    beforeAll(async () => {
      ({ store, teardown } = await setup());
    });
    afterAll(() => teardown());

    it('puts a buffer and gets the same bytes back', async () => {
      await store.put('msg/msg_a/raw.eml', Buffer.from('hello'));
      expect((await readAll(await store.get('msg/msg_a/raw.eml'))).toString()).toBe('hello');
    });

    it('streams a large object in and out intact', async () => {
      const size = 12 * 1024 * 1024 + 17;
      const chunk = randomBytes(64 * 1024);
      const want = createHash('sha256');
      let left = size;
      const source = Readable.from(
        (function* () {
          while (left > 0) {
            const c = chunk.subarray(0, Math.min(left, chunk.length));
            left -= c.length;
            want.update(c);
            yield c;
          }
        })(),
      );
      const { size: written } = await store.put('msg/msg_big/0', source);
      expect(written).toBe(size);
      const got = createHash('sha256');
      let n = 0;
      for await (const c of await store.get('msg/msg_big/0')) {
        got.update(c as Buffer);
        n += (c as Buffer).length;
      }
      expect(n).toBe(size);
      expect(got.digest('hex')).toBe(want.digest('hex'));
    });

    it('rejects a missing object with BlobNotFoundError', async () => {
      await expect(store.get('msg/msg_none/0')).rejects.toBeInstanceOf(BlobNotFoundError);
    });

    it('deletes, and deleting again is not an error', async () => {
      await store.put('msg/msg_d/1', Buffer.from('x'));
      await store.delete('msg/msg_d/1');
      await store.delete('msg/msg_d/1');
      await expect(store.get('msg/msg_d/1')).rejects.toBeInstanceOf(BlobNotFoundError);
    });

    it('refuses keys that could escape its namespace', async () => {
      for (const key of ['../etc/passwd', 'msg/../../x', '/abs', 'msg/a b', 'msg//x', 'MSG/x']) {
        await expect(store.put(key, Buffer.from('x'))).rejects.toThrow(/invalid blob key/);
      }
    });

    it('passes its health check', async () => {
      await expect(store.check()).resolves.toBeUndefined();
    });
  });
}
