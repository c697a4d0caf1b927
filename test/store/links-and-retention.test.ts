import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import { BlobNotFoundError } from '../../src/store/blob-store.js';
import { LINK_LIFETIME_MS, signedPath } from '../../src/store/signed-links.js';
import { sweep } from '../../src/store/sweeper.js';
import { fakeClock, seedUserAndDomain, testDeps, type FakeClock, type TestDeps } from '../helpers/deps.js';
import { storeMessage } from '../helpers/messages.js';

const DAY = 86_400_000;

describe('attachment links and retention', () => {
  let clock: FakeClock;
  let deps: TestDeps;
  let owner: { userId: string; domainId: string };

  beforeEach(async () => {
    clock = fakeClock();
    deps = testDeps({ RETENTION_DAYS: '30' }, { now: clock.now });
    const seed = await seedUserAndDomain(deps);
    owner = { userId: seed.user.id, domainId: seed.domain.id };
  });
  afterEach(() => deps.cleanup());

  const get = (path: string) => createApp(deps).request(path);

  it('serves the exact bytes with download-only headers', async () => {
    const content = Buffer.from('<script>alert(1)</script>');
    const m = await storeMessage(deps, owner, {
      attachments: [{ filename: '../../evil"\r\nX-Injected: 1.html', content, contentType: 'text/html' }],
    });
    const res = await get(signedPath(deps.config.secret, m.id, 0, clock.now()));
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(content);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toContain('sandbox');
    const cd = res.headers.get('content-disposition')!;
    expect(cd).toMatch(/^attachment; filename="/);
    expect(cd).not.toMatch(/[\r\n]/);
    expect(cd).not.toContain('../');
    expect(res.headers.get('x-injected')).toBeNull();
  });

  it('serves the raw message from raw_url', async () => {
    const m = await storeMessage(deps, owner);
    const res = await get(signedPath(deps.config.secret, m.id, 'raw', clock.now()));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('message/rfc822');
    expect(Buffer.from(await res.arrayBuffer())).toEqual(m.raw);
  });

  it('answers 403 for a tampered link and 410 for an expired one', async () => {
    const m = await storeMessage(deps, owner, { attachments: [{ filename: 'a.txt', content: Buffer.from('a') }] });
    const path = signedPath(deps.config.secret, m.id, 0, clock.now());
    const tampered = path.replace(/sig=(.)/, (_, c: string) => `sig=${c === 'A' ? 'B' : 'A'}`);
    const r403 = await get(tampered);
    expect(r403.status).toBe(403);
    expect(await r403.json()).toEqual({ error: 'invalid link' });
    expect((await get(path + '&sig=x')).status).toBe(403);
    clock.advance(LINK_LIFETIME_MS);
    const r410 = await get(path);
    expect(r410.status).toBe(410);
    expect(await r410.json()).toHaveProperty('error');
  });

  it('sweeps attachment objects after 7 days and whole messages after RETENTION_DAYS', async () => {
    const m = await storeMessage(deps, owner, { attachments: [{ filename: 'a.txt', content: Buffer.from('a') }] });
    const key = m.attachments[0]!.blobKey;

    clock.advance(6 * DAY);
    expect(await sweep(deps)).toEqual({ attachmentsPurged: 0, messagesDeleted: 0 });
    await expect(deps.blobs.get(key)).resolves.toBeDefined();

    clock.advance(1 * DAY + 1);
    expect(await sweep(deps)).toEqual({ attachmentsPurged: 1, messagesDeleted: 0 });
    await expect(deps.blobs.get(key)).rejects.toBeInstanceOf(BlobNotFoundError);
    expect((await deps.repos.messages.getById(m.id))?.purgedAt).toBe(clock.now());
    // The raw message stays for the retention period.
    await expect(deps.blobs.get((await deps.repos.messages.getById(m.id))!.rawKey)).resolves.toBeDefined();

    clock.advance(23 * DAY);
    expect(await sweep(deps)).toEqual({ attachmentsPurged: 0, messagesDeleted: 1 });
    expect(await deps.repos.messages.getById(m.id)).toBeNull();
    await expect(deps.blobs.get(`msg/${m.id}/raw.eml`)).rejects.toBeInstanceOf(BlobNotFoundError);
  });

  it('finishes a sweep that was cut short after deleting objects', async () => {
    const m = await storeMessage(deps, owner, { attachments: [{ filename: 'a.txt', content: Buffer.from('a') }] });
    // As if the previous sweep died between deleting the object and marking the row.
    await deps.blobs.delete(m.attachments[0]!.blobKey);
    clock.advance(8 * DAY);
    expect(await sweep(deps)).toEqual({ attachmentsPurged: 1, messagesDeleted: 0 });
    expect((await deps.repos.messages.getById(m.id))?.purgedAt).not.toBeNull();
  });

  it('answers 410 for a purged attachment even before its link expires', async () => {
    const m = await storeMessage(deps, owner, { attachments: [{ filename: 'a.txt', content: Buffer.from('a') }] });
    const path = signedPath(deps.config.secret, m.id, 0, clock.now());
    await deps.repos.messages.markPurged(m.id, clock.now());
    expect((await get(path)).status).toBe(410);
  });
});
