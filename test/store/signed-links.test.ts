import { describe, expect, it } from 'vitest';
import { checkLink, LINK_LIFETIME_MS, signedPath } from '../../src/store/signed-links.js';

const SECRET = 'a-secret-a-secret-a-secret-a-secret';
const received = 1_763_890_000_000;
const parts = (path: string) => {
  const u = new URL(path, 'http://x');
  const [, , mid, idx] = u.pathname.split('/');
  return { mid: mid!, idx: idx!, exp: u.searchParams.get('exp')!, sig: u.searchParams.get('sig')! };
};

describe('signed links', () => {
  const p = parts(signedPath(SECRET, 'msg_one', 0, received));

  it('accepts a fresh link and names its target', () => {
    expect(checkLink(SECRET, p.mid, p.idx, p.exp, p.sig, received + 1000)).toEqual({ ok: true, target: 0 });
    const raw = parts(signedPath(SECRET, 'msg_one', 'raw', received));
    expect(checkLink(SECRET, raw.mid, raw.idx, raw.exp, raw.sig, received)).toEqual({ ok: true, target: 'raw' });
  });

  it('expires exactly 7 days after receipt: 410', () => {
    expect(Number(p.exp)).toBe(received + LINK_LIFETIME_MS);
    expect(checkLink(SECRET, p.mid, p.idx, p.exp, p.sig, received + LINK_LIFETIME_MS)).toEqual({ ok: false, status: 410 });
  });

  it.each([
    ['a flipped signature character', { sig: p.sig.slice(0, -1) + (p.sig.endsWith('A') ? 'B' : 'A') }],
    ['another message id', { mid: 'msg_two' }],
    ['another attachment index', { idx: '1' }],
    ['raw instead of an attachment', { idx: 'raw' }],
    ['a later expiry', { exp: String(Number(p.exp) + 1) }],
    ['a missing signature', { sig: undefined }],
    ['a missing expiry', { exp: undefined }],
    ['a non-numeric expiry', { exp: '1e20' }],
    ['a non-numeric index', { idx: '0x0' }],
    ['another secret', { secret: 'b-secret-b-secret-b-secret-b-secret' }],
  ])('refuses %s with 403', (_name, change: Record<string, string | undefined>) => {
    const q = { ...p, secret: SECRET, ...change };
    expect(checkLink(q.secret, q.mid, q.idx, q.exp, q.sig, received + 1000)).toEqual({ ok: false, status: 403 });
  });

  it('refuses a validly signed link that would live more than 7 days from now', () => {
    const future = parts(signedPath(SECRET, 'msg_one', 0, received + 30 * 86_400_000));
    expect(checkLink(SECRET, future.mid, future.idx, future.exp, future.sig, received)).toEqual({ ok: false, status: 403 });
  });
});
