import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spool } from '../../src/inbound/spool.js';

async function readAll(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const chunked = (data: Buffer, size: number) =>
  Readable.from((function* () {
    for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
  })());

describe('spool', () => {
  let dir: string;
  beforeEach(() => {
    dir = join(mkdtempSync(join(tmpdir(), 'mailhook-spool-')), 'spool');
  });
  afterEach(() => rmSync(join(dir, '..'), { recursive: true, force: true }));

  it('keeps a small message in memory: no file is written, the bytes come back as often as asked', async () => {
    const data = Buffer.from('Subject: hi\r\n\r\nhello\r\n'.repeat(100));
    const s = await spool(dir, chunked(data, 100), 64 * 1024);
    expect(s.size).toBe(data.length);
    expect(s.buffer?.equals(data)).toBe(true);
    expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
    expect((await readAll(s.open())).equals(data)).toBe(true);
    expect((await readAll(s.open())).equals(data)).toBe(true);
  });

  it('moves a message past the memory limit to a file, byte for byte, and removes it', async () => {
    const data = Buffer.alloc(300_000);
    for (let i = 0; i < data.length; i++) data[i] = i % 251;
    const s = await spool(dir, chunked(data, 16_384), 64 * 1024);
    expect(s.buffer).toBeNull();
    expect(s.size).toBe(data.length);
    expect(readdirSync(dir)).toHaveLength(1);
    expect((await readAll(s.open())).equals(data)).toBe(true);
    await s.remove();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('leaves no file behind when the stream fails mid-message', async () => {
    const failing = Readable.from((async function* () {
      yield Buffer.alloc(100_000, 1);
      throw new Error('connection reset');
    })());
    await expect(spool(dir, failing, 64 * 1024)).rejects.toThrow('connection reset');
    expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
  });
});
