import { createHmac } from 'node:crypto';

const B32 = 'abcdefghijklmnopqrstuvwxyz234567';
const DAY = 86_400_000;

/**
 * Sender Rewriting Scheme (SRS0, as in libsrs2/Postfix's postsrsd): a forwarded message goes out
 * with `SRS0=HHHH=TT=<orig domain>=<orig local>@<our domain>` as its envelope sender, so SPF at
 * the destination checks our domain (which authorises us) instead of the original sender's, and a
 * bounce comes back to us. TT is the day (base32, mod 1024); HHHH an HMAC over TT and the original
 * address, so nobody can make us accept bounces for addresses we never forwarded.
 */
export function srsAddress(secret: string, original: string, forwarder: string, now: number): string {
  const at = original.lastIndexOf('@');
  const local = original.slice(0, at);
  const domain = original.slice(at + 1).toLowerCase();
  const day = Math.floor(now / DAY) % 1024;
  const tt = B32[day >> 5]! + B32[day & 31]!;
  return `SRS0=${hash(secret, tt, domain, local)}=${tt}=${domain}=${local}@${forwarder}`;
}

function hash(secret: string, tt: string, domain: string, local: string): string {
  return createHmac('sha256', `mailhook srs ${secret}`).update(`${tt}${domain}${local}`.toLowerCase()).digest('base64url').slice(0, 4).toLowerCase();
}

/**
 * How long an SRS address is taken back: libsrs2's and postsrsd's default. A forward is retried
 * for 5 days; a report later than this is refused at RCPT, not applied to whatever forward of
 * the same sender has the address now (TT repeats every 1024 days).
 */
export const SRS_MAX_AGE_DAYS = 21;

/** Whether `address` is an SRS0 address we made (hash checked) at most SRS_MAX_AGE_DAYS before `now`. */
export function isOurSrs(secret: string, address: string, now: number): boolean {
  const m = /^SRS0=([^=]{4})=([a-z2-7]{2})=([^=]+)=(.+)@[^@]+$/i.exec(address);
  if (!m) return false;
  const tt = m[2]!.toLowerCase();
  const day = B32.indexOf(tt[0]!) * 32 + B32.indexOf(tt[1]!);
  const age = (Math.floor(now / DAY) - day + 1024) % 1024;
  return age <= SRS_MAX_AGE_DAYS && hash(secret, tt, m[3]!.toLowerCase(), m[4]!) === m[1]!.toLowerCase();
}
