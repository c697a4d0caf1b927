import { close, createReadStream, fsync, mkdir as mkdirOne, open, write } from 'node:fs';
import { mkdir, rename, rm, rmdir, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { assertKey, BlobNotFoundError, type BlobStore } from './blob-store.js';

// Plain descriptors and callbacks rather than fs/promises FileHandles: a small message costs
// about ten file operations, and the FileHandle machinery around each was a measurable share
// of the event loop's time per message (bench/README.md).
const openFd = (path: string, flags: string) =>
  new Promise<number>((resolve, reject) => open(path, flags, 0o600, (err, fd) => (err ? reject(err) : resolve(fd))));
const syncFd = (fd: number) => new Promise<void>((resolve, reject) => fsync(fd, (err) => (err ? reject(err) : resolve())));
const closeFd = (fd: number) => new Promise<void>((resolve, reject) => close(fd, (err) => (err ? reject(err) : resolve())));

/** Writes all of `buf` (a write may take less than asked). */
function writeAll(fd: number, buf: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    let offset = 0;
    const next = () =>
      write(fd, buf, offset, buf.length - offset, null, (err, n) => {
        if (err) return reject(err);
        offset += n;
        if (offset < buf.length) next();
        else resolve();
      });
    next();
  });
}

/**
 * mkdir -p, returning the first folder it created (undefined when `dir` existed). One plain
 * mkdir covers the usual case (a new message folder under an existing `msg/`).
 */
function makeDir(dir: string): Promise<string | undefined> {
  return new Promise((resolve, reject) =>
    mkdirOne(dir, (err) => {
      if (!err) return resolve(dir);
      if (err.code === 'EEXIST') return resolve(undefined);
      if (err.code !== 'ENOENT') return reject(err);
      mkdir(dir, { recursive: true }).then(resolve, reject);
    }),
  );
}

async function fsyncDir(path: string): Promise<void> {
  const fd = await openFd(path, 'r');
  try {
    await syncFd(fd);
  } finally {
    await closeFd(fd);
  }
}

/**
 * fsync of folders, shared: a caller that arrives while a folder's fsync runs waits for the next
 * one, which starts after it and so covers the caller's change; every caller waiting by then
 * shares that one. Many messages stored at once pay a few fsyncs of `msg/`, not one each.
 */
class DirSyncs {
  private readonly running = new Map<string, { resolve(): void; reject(err: unknown): void }[]>();

  sync(dir: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const next = this.running.get(dir);
      if (next) next.push({ resolve, reject });
      else this.start(dir, [{ resolve, reject }]);
    });
  }

  private start(dir: string, waiters: { resolve(): void; reject(err: unknown): void }[]): void {
    const next: typeof waiters = [];
    this.running.set(dir, next);
    fsyncDir(dir).then(
      () => waiters.forEach((w) => w.resolve()),
      (err: unknown) => waiters.forEach((w) => w.reject(err)),
    ).finally(() => {
      if (next.length) this.start(dir, next);
      else this.running.delete(dir);
    });
  }
}

/**
 * Blobs as files under `root`. put() resolves once the bytes, the file's name and every folder
 * it created are on disk: write, fsync the file, then fsync its folder and each folder mkdir
 * created (their parents' entries). Folder fsyncs are shared between concurrent puts.
 *
 * A new key is written in place (O_EXCL), not through a temporary name: nothing can read it
 * before put() resolved (the row naming it is committed after), so a crash mid-write leaves an
 * orphan, never a torn object anyone can reach — and on ext4 the file's fsync then commits its
 * folder entries in the same journal transaction, so the folder fsyncs that follow are cheap.
 * Replacing an existing key goes through a temporary file and rename(), which is atomic.
 */
export class FsBlobStore implements BlobStore {
  readonly kind = 'fs' as const;
  private readonly dirs = new DirSyncs();

  constructor(private readonly root: string) {}

  private path(key: string): string {
    assertKey(key);
    return join(this.root, key);
  }

  async put(key: string, body: Readable | Buffer): Promise<{ size: number }> {
    const final = this.path(key);
    const dir = dirname(final);
    const created = await makeDir(dir);
    let target = final;
    let fd: number;
    try {
      fd = await openFd(final, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      target = join(dir, `.tmp-${randomBytes(6).toString('hex')}`);
      fd = await openFd(target, 'wx');
    }
    let size = 0;
    try {
      if (Buffer.isBuffer(body)) {
        await writeAll(fd, body);
        size = body.length;
      } else {
        for await (const chunk of body) {
          const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
          await writeAll(fd, buf);
          size += buf.length;
        }
      }
      await syncFd(fd);
    } catch (err) {
      await closeFd(fd).catch(() => {});
      await unlink(target).catch(() => {});
      throw err;
    }
    await closeFd(fd);
    if (target !== final) await rename(target, final);
    // The new entry lives in `dir`; each folder mkdir created lives in its parent.
    const folders = [dir];
    if (created) for (let d = dir; d !== dirname(created); d = dirname(d)) folders.push(dirname(d));
    await Promise.all(folders.map((d) => this.dirs.sync(d)));
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
