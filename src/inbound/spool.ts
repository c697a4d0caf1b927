import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { collector } from '../parse/collect.js';

/**
 * A message as received, kept until it is stored: in memory when small, else in a local file,
 * so the SMTP stream is read once at wire speed whatever its size.
 */
export interface Spool {
  size: number;
  /** The whole message when it stayed under the memory limit; null when it went to a file. */
  buffer: Buffer | null;
  /** The spool file when it went to one (null when in memory). */
  path: string | null;
  /** A fresh stream of the whole message (as often as needed). */
  open(): Readable;
  remove(): Promise<void>;
}

export function spoolDir(dataDir: string): string {
  return join(dataDir, 'spool');
}

/**
 * Reads `stream` to its end: into memory up to `memoryLimit` bytes (SPOOL_MEMORY_BYTES: no
 * temporary file is written, read back and removed for the typical few-KB mail; N sessions at once
 * hold at most N × this much), into a new file in `dir` beyond that, nothing past `maxBytes`. The file is temporary: durability comes later, in the blob store.
 */
export async function spool(
  dir: string,
  stream: Readable,
  memoryLimit: number,
  maxBytes = Number.POSITIVE_INFINITY,
): Promise<Spool> {
  const chunks: Buffer[] = [];
  let size = 0;
  let file: { path: string; out: WriteStream } | null = null;
  const remove = () => (file ? rm(file.path, { force: true }) : Promise.resolve());
  const collect = collector();
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (file) collect(chunk.length);
      // Over the limit the message gets 552 after the dot: read the rest, keep none of it, so a
      // sender that never stops cannot fill the disk everything else lives on.
      if (size > maxBytes) continue;
      if (!file && size <= memoryLimit) {
        chunks.push(chunk);
        continue;
      }
      if (!file) {
        await mkdir(dir, { recursive: true });
        const path = join(dir, `${Date.now()}-${randomBytes(8).toString('hex')}.eml`);
        file = { path, out: createWriteStream(path, { mode: 0o600 }) };
        for (const c of chunks.splice(0)) file.out.write(c);
      }
      // events.once also rejects on 'error' and removes both listeners either way.
      if (!file.out.write(chunk)) await once(file.out, 'drain');
    }
    if (file) {
      file.out.end();
      await finished(file.out);
    }
  } catch (err) {
    file?.out.destroy();
    await remove();
    throw err;
  }
  if (!file) {
    const buffer = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
    return { size, buffer, path: null, open: () => Readable.from([buffer], { objectMode: false }), remove };
  }
  const path = file.path;
  return { size, buffer: null, path, open: () => createReadStream(path), remove };
}

/** Leftovers of a crash mid-DATA: nothing was acknowledged for them, so they go. */
export async function clearSpool(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
}
