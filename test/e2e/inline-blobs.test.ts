import { createHash, randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import { LINK_LIFETIME_MS, signedPath } from '../../src/store/signed-links.js';
import { sweep } from '../../src/store/sweeper.js';
import { blobFiles } from '../hostile/harness.js';
import { addRoute, fakeClock, seedUserAndDomain, testDeps, type FakeClock, type TestDeps } from '../helpers/deps.js';
import { startS3Server, type S3Server } from '../helpers/s3-server.js';
import { startSmtp, type RunningSmtp } from '../helpers/smtp.js';

/**
 * Issue 14 (DESIGN §3): blobs up to INLINE_BLOB_BYTES (256 KiB) are rows of the `blobs` table,
 * committed with their message; larger ones are objects in the BlobStore (files or S3). Links,
 * raw downloads, copies for a second account, link expiry and retention treat both alike.
 */
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const DAY = 86_400_000;

let s3: S3Server;
beforeAll(async () => {
  s3 = await startS3Server();
});
afterAll(() => s3.close());

describe.each(['files', 's3'] as const)('inline and stored blobs, %s store', (store) => {
  let clock: FakeClock;
  let deps: TestDeps;
  let smtp: RunningSmtp;

  beforeEach(async () => {
    clock = fakeClock(Date.now());
    deps = testDeps({ ...(store === 's3' ? s3.env : {}), RETENTION_DAYS: '30' }, { now: clock.now });
    for (const name of ['example.com', 'other.test']) {
      const { user, domain } = await seedUserAndDomain(deps, name);
      await addRoute(deps, { userId: user.id, domainId: domain.id }, { match: `*@${name}` });
    }
    smtp = await startSmtp(deps);
  });
  afterEach(async () => {
    await smtp.close();
    deps.cleanup();
  });

  const inlineKeys = () => (deps.db.prepare('SELECT key FROM blobs ORDER BY key').all() as { key: string }[]).map((r) => r.key);
  const storedKeys = async (id: string) =>
    store === 's3' ? await s3.keys(`msg/${id}/`) : blobFiles(deps).filter((f) => f.startsWith(`msg/${id}/`)).sort();

  it('keeps small attachments in the database and large ones in the store, serves all byte-exact, expires and sweeps both', async () => {
    const small = Buffer.from('a small text attachment\n');
    const medium = randomBytes(100 * 1024);
    const large = randomBytes(300 * 1024); // over INLINE_BLOB_BYTES: as is the raw message
    const info = await smtp.transport.sendMail({
      from: 'ada@sender.test',
      to: ['x@example.com', 'y@other.test'], // two accounts: two copies
      subject: 'Mixed sizes',
      text: 'see attached',
      attachments: [
        { filename: 'small.txt', content: small, contentType: 'text/plain' },
        { filename: 'medium.bin', content: medium },
        { filename: 'large.bin', content: large },
      ],
    });
    const ids = (info.response ?? "").match(/msg_\w+/g)!;
    expect(ids).toHaveLength(2);
    for (const id of ids) {
      expect(inlineKeys().filter((k) => k.startsWith(`msg/${id}/`))).toEqual([`msg/${id}/0`, `msg/${id}/1`]);
      expect(await storedKeys(id)).toEqual([`msg/${id}/2`, `msg/${id}/raw.eml`]);
    }

    const app = createApp(deps);
    const receivedAt = clock.now();
    const get = (id: string, idx: number | 'raw') => app.request(signedPath(deps.config.secret, id, idx, receivedAt));
    for (const id of ids) {
      for (const [i, want] of [small, medium, large].entries()) {
        const res = await get(id, i);
        expect(res.status).toBe(200);
        expect(sha256(Buffer.from(await res.arrayBuffer()))).toBe(sha256(want));
      }
      const raw = await get(id, 'raw');
      expect(raw.status).toBe(200);
      expect(Buffer.from(await raw.arrayBuffer()).toString()).toContain('Subject: Mixed sizes');
    }

    clock.advance(LINK_LIFETIME_MS);
    for (const i of [0, 1, 2]) expect((await get(ids[0]!, i)).status).toBe(410);
    expect(await sweep(deps)).toEqual({ attachmentsPurged: 6, messagesDeleted: 0 });
    expect(inlineKeys()).toEqual([]);
    for (const id of ids) expect(await storedKeys(id)).toEqual([`msg/${id}/raw.eml`]);

    clock.advance(30 * DAY - LINK_LIFETIME_MS + 1);
    expect(await sweep(deps)).toEqual({ attachmentsPurged: 0, messagesDeleted: 2 });
    for (const id of ids) expect(await storedKeys(id)).toEqual([]);
  }, 60_000);

  it('keeps a small message whole in the database, and retention frees its pages back to the file system', async () => {
    const info = await smtp.transport.sendMail({
      from: 'ada@sender.test',
      to: 'x@example.com',
      subject: 'Small',
      text: 'hello',
      attachments: [{ filename: 'a.bin', content: randomBytes(150 * 1024) }],
    });
    const id = /msg_\w+/.exec(info.response ?? "")![0];
    expect(inlineKeys()).toEqual([`msg/${id}/0`, `msg/${id}/raw.eml`]);
    expect(await storedKeys(id)).toEqual([]);

    const app = createApp(deps);
    const raw = await app.request(signedPath(deps.config.secret, id, 'raw', clock.now()));
    expect(Buffer.from(await raw.arrayBuffer()).length).toBe((await deps.repos.messages.getById(id))!.size);

    const pages = () => Number(deps.db.pragma('page_count', { simple: true }));
    const before = pages();
    clock.advance(31 * DAY);
    expect(await sweep(deps)).toEqual({ attachmentsPurged: 1, messagesDeleted: 1 });
    expect(inlineKeys()).toEqual([]);
    expect(Number(deps.db.pragma('freelist_count', { simple: true }))).toBe(0);
    // ~360 KB of blobs (the raw message is base64): over fifty 4 KiB pages handed back.
    expect(before - pages()).toBeGreaterThan(50);
  }, 60_000);
});
