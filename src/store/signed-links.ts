import { createHmac, timingSafeEqual } from 'node:crypto';

/** Attachment and raw links live 7 days from receipt (DESIGN §4). */
export const LINK_LIFETIME_MS = 7 * 24 * 60 * 60 * 1000;

/** `idx` is an attachment index, or "raw" for the whole .eml. */
export type LinkTarget = number | 'raw';

function sign(secret: string, mid: string, idx: string, exp: string): string {
  return createHmac('sha256', `link:${secret}`).update(`${mid}\n${idx}\n${exp}`).digest('base64url');
}

export function signedPath(secret: string, mid: string, idx: LinkTarget, receivedAt: number): string {
  const exp = String(receivedAt + LINK_LIFETIME_MS);
  const sig = sign(secret, mid, String(idx), exp);
  return `/att/${encodeURIComponent(mid)}/${idx}?exp=${exp}&sig=${sig}`;
}

export type LinkCheck = { ok: true; target: LinkTarget } | { ok: false; status: 403 | 410 };

/**
 * Verifies a link's parameters. The signature is checked first (in constant time), so a
 * changed `exp` is 403, not 410; a valid link past its `exp` is 410.
 */
export function checkLink(
  secret: string,
  mid: string,
  idx: string,
  exp: string | undefined,
  sig: string | undefined,
  now: number,
): LinkCheck {
  if (!exp || !sig || !/^\d{1,15}$/.test(exp) || !/^(0|[1-9]\d{0,5}|raw)$/.test(idx)) return { ok: false, status: 403 };
  const expected = Buffer.from(sign(secret, mid, idx, exp));
  const given = Buffer.from(sig);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, status: 403 };
  const expMs = Number(exp);
  // A validly signed link never lives longer than LINK_LIFETIME_MS from now.
  if (expMs > now + LINK_LIFETIME_MS) return { ok: false, status: 403 };
  if (expMs <= now) return { ok: false, status: 410 };
  return { ok: true, target: idx === 'raw' ? 'raw' : Number(idx) };
}
