import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsBlobStore } from '../../src/store/fs-blob-store.js';

async function readAll(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('file blob store writes', () => {
  let root: string;
  let store: FsBlobStore;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'mailhook-fsb-'));
    store = new FsBlobStore(root);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('writes a new key in place: only the object is left in its folder', async () => {
    await store.put('msg/msg_a/raw.eml', Buffer.from('one'));
    expect(readdirSync(join(root, 'msg', 'msg_a'))).toEqual(['raw.eml']);
  });

  it('replaces an existing key whole (through a temporary file), leaving no temporary behind', async () => {
    await store.put('msg/msg_b/0', Buffer.from('first version'));
    await store.put('msg/msg_b/0', Buffer.from('second'));
    expect((await readAll(await store.get('msg/msg_b/0'))).toString()).toBe('second');
    expect(readdirSync(join(root, 'msg', 'msg_b'))).toEqual(['0']);
  });

  it('stores many objects written at once (shared folder fsyncs) with their own bytes', async () => {
    const keys = Array.from({ length: 50 }, (_, i) => `msg/msg_c${i}/raw.eml`);
    await Promise.all(keys.map((k, i) => store.put(k, Buffer.from(`body ${i}`))));
    for (const [i, k] of keys.entries()) expect((await readAll(await store.get(k))).toString()).toBe(`body ${i}`);
  });
});
