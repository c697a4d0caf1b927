import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config.js';

/**
 * The envelope sender stored with a send: `bounce+<send id>@<domain>`. It never goes out as it
 * is: each recipient's transaction gets it tagged (verpAddress), and only a tagged one is taken back.
 */
export const bounceAddress = (sendId: string, domain: string) => `bounce+${sendId}@${domain}`;

const BASE = /^bounce\+(snd_[0-9a-hjkmnp-tv-z]{26})@([^@]+)$/i;
const TAGGED = /^bounce\+(snd_[0-9a-hjkmnp-tv-z]{26})-([0-9a-f]{16})@([^@]+)$/i;

/**
 * 64 bits of HMAC over the send and what the address may report on: one recipient's address
 * (since 2026-12-07), or, in addresses made before, the destination its recipients were in (a
 * domain or `relay`: no `@`, so never equal to an address).
 */
const tagOf = (secret: string, sendId: string, scope: string) =>
  createHmac('sha256', `mailhook verp ${secret}`).update(`${sendId}\n${scope}`).digest('hex').slice(0, 16);

/**
 * The envelope sender of a send's transaction to one recipient (VERP):
 * `bounce+<send id>-<tag>@<domain>`, the tag an HMAC with SECRET over the send id and the
 * recipient's address. A DSN comes back to it, so the address names the send and the one
 * recipient it may report on. The send id alone is no secret (ids made in the same millisecond
 * are consecutive, src/ids.ts, and a recipient sees the address), the tag is: nobody can derive
 * another send's address from one they saw, nor another recipient's address of the same send (a
 * recipient could otherwise bounce, and so suppress, the others). Any other envelope sender (an
 * SRS address, the null sender) is returned as it is.
 */
export function verpAddress(secret: string, mailFrom: string, recipient: string): string {
  const m = BASE.exec(mailFrom);
  if (!m) return mailFrom;
  const sendId = m[1]!.toLowerCase();
  return `bounce+${sendId}-${tagOf(secret, sendId, recipient.toLowerCase())}@${m[2]}`;
}

/** The send a tagged bounce address names, with the stored address and the tag, or null when it is not one (an untagged one included). */
export function parseBounce(address: string): { sendId: string; mailFrom: string; tag: string } | null {
  const m = TAGGED.exec(address);
  if (!m) return null;
  const sendId = m[1]!.toLowerCase();
  return { sendId, mailFrom: bounceAddress(sendId, m[3]!), tag: m[2]!.toLowerCase() };
}

/** Whether `tag` is the tag of `sendId` for `scope`, a recipient's address or an older address's destination (constant-time). */
export const tagMatches = (secret: string, sendId: string, scope: string, tag: string) =>
  timingSafeEqual(Buffer.from(tagOf(secret, sendId, scope.toLowerCase())), Buffer.from(tag.padEnd(16, '0').slice(0, 16)));

/**
 * Recipients that share one SMTP connection: all of them when a relay carries everything, else
 * those of one domain (whose MX hosts are the same). Also the per-destination concurrency key.
 */
export function destinationOf(config: Pick<Config, 'smtpRelay'>, address: string): string {
  if (config.smtpRelay) return 'relay';
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}
