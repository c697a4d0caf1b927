import { createHash, timingSafeEqual } from 'node:crypto';

/** RFC 7636 §4.1: 43 to 128 unreserved characters. */
export const isCodeVerifier = (v: string) => /^[A-Za-z0-9\-._~]{43,128}$/.test(v);

/** RFC 7636 §4.2: BASE64URL(SHA256(verifier)) is always 43 characters. */
export const isS256Challenge = (v: string) => /^[A-Za-z0-9_-]{43}$/.test(v);

/** RFC 7636 §4.6, S256 only: `plain` would let a stolen code be redeemed with the challenge itself. */
export function verifyS256(verifier: string, challenge: string): boolean {
  const computed = Buffer.from(createHash('sha256').update(verifier, 'ascii').digest('base64url'));
  const expected = Buffer.from(challenge);
  return computed.length === expected.length && timingSafeEqual(computed, expected);
}
