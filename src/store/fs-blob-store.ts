import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, rmdir, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { assertKey, BlobNotFoundError, type BlobStore } from './blob-store.js';

async function fsyncDir(path: string): Promise<void> {
  const fd = await open(path, 'r');
  try {
    await fd.sync();
  } finally {
    await fd.close();
  }
}

/** Blobs as files under `root`. Writes go to a temporary file, fsync, rename, fsync the folder. */
export class FsBlobStore implements BlobStore {
  readonly kind = 'fs' as const;

  constructor(private readonly root: string) {}

  private path(key: string): string {
    assertKey(key);
    return join(this.root, key);
  }

  async put(key: string, body: Readable | Buffer): Promise<{ size: number }> {
    const final = this.path(key);
    const dir = dirname(final);
    const created = await mkdir(dir, { recursive: true });
    const tmp = join(dir, `.tmp-${randomBytes(6).toString('hex')}`);
    const fd = await open(tmp, 'wx', 0o600);
    let size = 0;
    try {
      if (Buffer.isBuffer(body)) {
        await fd.write(body);
        size = body.length;
      } else {
        for await (const chunk of body) {
          const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
          await fd.write(buf);
          size += buf.length;
        }
      }
      await fd.sync();
    } catch (err) {
      await fd.close().catch(() => {});
      await unlink(tmp).catch(() => {});
      throw err;
    }
    await fd.close();
    await rename(tmp, final);
    await fsyncDir(dir);
    if (created) await fsyncDir(dirname(dir));
    return { size };
  }

  async get(key: string): Promise<Readable> {
    const path = this.path(key);
    try {
      await stat(path);
    } catch {
      throw new BlobNotFoundError(key);
    }
    return createReadStream(path);
  }

  async delete(key: string): Promise<void> {
    const path = this.path(key);
    await rm(path, { force: true });
    // The per-message folder goes when its last object does.
    await rmdir(dirname(path)).catch(() => {});
  }

  async check(): Promise<void> {
    await mkdir(this.root, { recursive: true });
    await stat(this.root);
  }

  async presign(): Promise<string | null> {
    return null;
  }
}
