import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import { LINK_LIFETIME_MS, signedPath } from '../../src/store/signed-links.js';
import { fakeClock, seedUserAndDomain, testDeps, type FakeClock, type TestDeps } from '../helpers/deps.js';
import { storeMessage } from '../helpers/messages.js';

/**
 * Signed links (DESIGN §4): /att/:mid/:idx?exp=&sig= needs no credential, so the link is the
 * credential. Any change to any part of it is 403 (never the bytes, never a hint), a link past
 * its expiry is 410, and a validly signed link can never live longer than 7 days from now.
 */
let clock: FakeClock;
let deps: TestDeps;
let a: Awaited<ReturnType<typeof storeMessage>>;
let b: Awaited<ReturnType<typeof storeMessage>>;
let other: Awaited<ReturnType<typeof storeMessage>>;
beforeAll(async () => {
  clock = fakeClock();
  deps = testDeps({}, { now: clock.now });
  const alice = await seedUserAndDomain(deps, 'example.com');
  const bob = await seedUserAndDomain(deps, 'bob.test');
  const files = [
    { filename: 'a0.txt', content: Buffer.from('alice zero') },
    { filename: 'a1.txt', content: Buffer.from('alice one') },
  ];
  a = await storeMessage(deps, { userId: alice.user.id, domainId: alice.domain.id }, { attachments: files });
  clock.advance(1000);
  b = await storeMessage(deps, { userId: alice.user.id, domainId: alice.domain.id }, { attachments: files });
  other = await storeMessage(deps, { userId: bob.user.id, domainId: bob.domain.id }, { attachments: files });
});
afterAll(() => deps.cleanup());

/** Buffered, so no body stream outlives the test's data folder. */
const get = async (path: string) => {
  const res = await createApp(deps).request(path);
  return new Response(await res.arrayBuffer(), { status: res.status, headers: res.headers });
};
const secret = () => deps.config.secret;
const link = async (mid: string, idx: number | 'raw', receivedAt?: number) =>
  signedPath(secret(), mid, idx, receivedAt ?? (await deps.repos.messages.getById(mid))!.receivedAt);
const parts = (path: string) => {
  const u = new URL(path, 'http://x');
  const [, , mid, idx] = u.pathname.split('/');
  return { mid: mid!, idx: idx!, exp: u.searchParams.get('exp')!, sig: u.searchParams.get('sig')! };
};
const build = (p: { mid: string; idx: string; query: string }) => `/att/${p.mid}/${p.idx}?${p.query}`;

describe('every tampering is 403', () => {
  it('the untouched links work', async () => {
    expect(await (await get(await link(a.id, 0))).text()).toBe('alice zero');
    expect(await (await get(await link(a.id, 1))).text()).toBe('alice one');
    expect((await get(await link(a.id, 'raw'))).status).toBe(200);
  });

  const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
  const cases: [string, (p: ReturnType<typeof parts>) => string][] = [
    ['sig: first character changed', (p) => build({ ...p, query: `exp=${p.exp}&sig=${flip(p.sig, 0)}` })],
    ['sig: last character changed', (p) => build({ ...p, query: `exp=${p.exp}&sig=${flip(p.sig, p.sig.length - 1)}` })],
    ['sig: truncated', (p) => build({ ...p, query: `exp=${p.exp}&sig=${p.sig.slice(0, -1)}` })],
    ['sig: extended', (p) => build({ ...p, query: `exp=${p.exp}&sig=${p.sig}A` })],
    ['sig: padded base64', (p) => build({ ...p, query: `exp=${p.exp}&sig=${p.sig}=` })],
    ['sig: standard base64 of the same HMAC', (p) => build({ ...p, query: `exp=${p.exp}&sig=${encodeURIComponent(Buffer.from(p.sig, 'base64url').toString('base64'))}` })],
    ['sig: hex of the same HMAC', (p) => build({ ...p, query: `exp=${p.exp}&sig=${Buffer.from(p.sig, 'base64url').toString('hex')}` })],
    ['sig: empty', (p) => build({ ...p, query: `exp=${p.exp}&sig=` })],
    ['sig: missing', (p) => build({ ...p, query: `exp=${p.exp}` })],
    ['sig: duplicated, same value', (p) => build({ ...p, query: `exp=${p.exp}&sig=${p.sig}&sig=${p.sig}` })],
    ['sig: duplicated, wrong one first', (p) => build({ ...p, query: `exp=${p.exp}&sig=x&sig=${p.sig}` })],
    ['exp: plus one', (p) => build({ ...p, query: `exp=${Number(p.exp) + 1}&sig=${p.sig}` })],
    ['exp: minus one', (p) => build({ ...p, query: `exp=${Number(p.exp) - 1}&sig=${p.sig}` })],
    ['exp: leading zero', (p) => build({ ...p, query: `exp=0${p.exp}&sig=${p.sig}` })],
    ['exp: plus sign', (p) => build({ ...p, query: `exp=%2B${p.exp}&sig=${p.sig}` })],
    ['exp: decimal point', (p) => build({ ...p, query: `exp=${p.exp}.0&sig=${p.sig}` })],
    ['exp: scientific', (p) => build({ ...p, query: `exp=${Number(p.exp) / 1000}e3&sig=${p.sig}` })],
    ['exp: hex', (p) => build({ ...p, query: `exp=0x${Number(p.exp).toString(16)}&sig=${p.sig}` })],
    ['exp: trailing space', (p) => build({ ...p, query: `exp=${p.exp}%20&sig=${p.sig}` })],
    ['exp: non-numeric', (p) => build({ ...p, query: `exp=tomorrow&sig=${p.sig}` })],
    ['exp: missing', (p) => build({ ...p, query: `sig=${p.sig}` })],
    ['exp: duplicated', (p) => build({ ...p, query: `exp=${p.exp}&exp=${p.exp}&sig=${p.sig}` })],
    ['nothing at all', (p) => build({ ...p, query: '' })],
    ['idx: another attachment of the same message', (p) => build({ ...p, idx: '1', query: `exp=${p.exp}&sig=${p.sig}` })],
    ['idx: raw', (p) => build({ ...p, idx: 'raw', query: `exp=${p.exp}&sig=${p.sig}` })],
    ['idx: 00', (p) => build({ ...p, idx: '00', query: `exp=${p.exp}&sig=${p.sig}` })],
    ['idx: -0', (p) => build({ ...p, idx: '-0', query: `exp=${p.exp}&sig=${p.sig}` })],
    ['idx: 0x0', (p) => build({ ...p, idx: '0x0', query: `exp=${p.exp}&sig=${p.sig}` })],
    ['idx: 0.0', (p) => build({ ...p, idx: '0.0', query: `exp=${p.exp}&sig=${p.sig}` })],
    ['idx: non-numeric', (p) => build({ ...p, idx: 'zero', query: `exp=${p.exp}&sig=${p.sig}` })],
    ['mid: another message of the same account', (p) => build({ ...p, mid: b.id, query: `exp=${p.exp}&sig=${p.sig}` })],
    ["mid: another tenant's message", (p) => build({ ...p, mid: other.id, query: `exp=${p.exp}&sig=${p.sig}` })],
    ['mid: upper case', (p) => build({ ...p, mid: p.mid.toUpperCase(), query: `exp=${p.exp}&sig=${p.sig}` })],
    ['mid: with a trailing newline', (p) => build({ ...p, mid: `${p.mid}%0A`, query: `exp=${p.exp}&sig=${p.sig}` })],
  ];
  it.each(cases)('%s', async (_name, tamper) => {
    const res = await get(tamper(parts(await link(a.id, 0))));
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ error: 'invalid link' });
  });

  it("a raw link's signature does not open an attachment, and an attachment's does not open raw", async () => {
    const raw = parts(await link(a.id, 'raw'));
    expect((await get(await build({ ...raw, idx: '0', query: `exp=${raw.exp}&sig=${raw.sig}` }))).status).toBe(403);
    const zero = parts(await link(a.id, 0));
    expect((await get(await build({ ...zero, idx: 'raw', query: `exp=${zero.exp}&sig=${zero.sig}` }))).status).toBe(403);
  });

  it('swapping signatures between two messages signed for the same instant is 403', async () => {
    const x = parts(signedPath(secret(), a.id, 0, clock.now()));
    const y = parts(signedPath(secret(), other.id, 0, clock.now()));
    expect(x.exp).toBe(y.exp);
    expect((await get(await build({ ...x, query: `exp=${x.exp}&sig=${y.sig}` }))).status).toBe(403);
  });

  it('a signature made with another secret is 403', async () => {
    const p = parts(await link(a.id, 0));
    const forged = createHmac('sha256', 'link:another-secret-another-secret-0123').update(`${p.mid}\n${p.idx}\n${p.exp}`).digest('base64url');
    expect((await get(await build({ ...p, query: `exp=${p.exp}&sig=${forged}` }))).status).toBe(403);
  });

  it('a validly signed index beyond the attachments is 403', async () => {
    expect((await get(await link(a.id, 7))).status).toBe(403);
  });
});

describe('expiry', () => {
  it('a validly signed far-future exp is 403: no link lives longer than 7 days from now', async () => {
    for (const ahead of [LINK_LIFETIME_MS + 1, 30 * 86_400_000, 100 * 365 * 86_400_000]) {
      const res = await get(signedPath(secret(), a.id, 0, clock.now() - LINK_LIFETIME_MS + ahead));
      expect(res.status, String(ahead)).toBe(403);
    }
    expect((await get(signedPath(secret(), a.id, 0, clock.now()))).status).toBe(200);
  });

  it('is 410 from the exact expiry instant on, and 403 still wins for a tampered expired link', async () => {
    const path = await link(a.id, 0);
    const p = parts(path);
    const saved = clock.now();
    try {
      clock.set(Number(p.exp) - 1);
      expect((await get(path)).status).toBe(200);
      clock.set(Number(p.exp));
      const gone = await get(path);
      expect(gone.status).toBe(410);
      expect(await gone.json()).toEqual({ error: 'link expired' });
      expect((await get(await build({ ...p, query: `exp=${p.exp}&sig=${p.sig.slice(1)}A` }))).status).toBe(403);
      expect((await get(await link(a.id, 'raw'))).status).toBe(410);
    } finally {
      clock.set(saved);
    }
  });
});

describe('what a good link serves', () => {
  it('raw_url serves the exact bytes as a sandboxed download', async () => {
    const res = await get(await link(a.id, 'raw'));
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(a.raw)).toBe(true);
    expect(res.headers.get('content-type')).toBe('message/rfc822');
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="msg_\w+\.eml"/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toBe("default-src 'none'; sandbox");
  });
});

describe('HTML and SVG from a sender never run as our origin', () => {
  const script = Buffer.from('<html><body onload="alert(document.cookie)"><script>fetch("/api/keys")</script></body></html>');
  const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>');

  it.each([
    ['text/html', 'text/html'],
    ['image/svg+xml', 'image/svg+xml'],
    ['text/html; charset=utf-7', 'application/octet-stream'],
    ['text/html\r\nSet-Cookie: x=1', 'application/octet-stream'],
    ['application/xhtml+xml', 'application/xhtml+xml'],
  ])('an attachment typed %j is a sandboxed, non-sniffed download (served as %s)', async (type, served) => {
    const m = await storeMessage(deps, { userId: (await deps.repos.messages.getById(a.id))!.userId, domainId: (await deps.repos.messages.getById(a.id))!.domainId }, {
      attachments: [{ filename: 'page.html', content: type.includes('svg') ? svg : script, contentType: type }],
    });
    const res = await get(await link(m.id, 0));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(served);
    expect(res.headers.get('content-disposition')).toMatch(/^attachment;/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toBe("default-src 'none'; sandbox");
    expect(res.headers.get('set-cookie')).toBeNull();
  });

  it('GET /api/messages/:id/raw is sandboxed the same way', async () => {
    const owner = (await deps.repos.messages.getById(a.id))!;
    const { createSession } = await import('../../src/auth/sessions.js');
    const token = await createSession(deps, owner.userId);
    const res = await createApp(deps).request(`/api/messages/${a.id}/raw`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(a.raw)).toBe(true);
    expect(res.headers.get('content-disposition')).toMatch(/^attachment;/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-security-policy')).toBe("default-src 'none'; sandbox");
  });
});
