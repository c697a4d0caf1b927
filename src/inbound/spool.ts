import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** A message copied to local disk as it arrives, so the SMTP stream is read once at wire speed. */
export interface Spool {
  path: string;
  size: number;
  remove(): Promise<void>;
}

export function spoolDir(dataDir: string): string {
  return join(dataDir, 'spool');
}

/** Writes `stream` to a new file in `dir`. The file is temporary: durability comes later, in the blob store. */
export async function spool(dir: string, stream: Readable): Promise<Spool> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${Date.now()}-${randomBytes(8).toString('hex')}.eml`);
  let size = 0;
  const count = new Transform({
    transform(chunk: Buffer, _enc, done) {
      size += chunk.length;
      done(null, chunk);
    },
  });
  const remove = () => rm(path, { force: true });
  try {
    await pipeline(stream, count, createWriteStream(path, { mode: 0o600 }));
  } catch (err) {
    await remove();
    throw err;
  }
  return { path, size, remove };
}

/** Leftovers of a crash mid-DATA: nothing was acknowledged for them, so they go. */
export async function clearSpool(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
}
