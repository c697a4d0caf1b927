import type { Config } from '../config.js';

/**
 * The envelope sender of a send: `bounce+<send id>@<domain>` (VERP). A DSN comes back to it, so
 * the address alone names the send; the send id's 80 random bits make it unguessable, and only
 * an existing send's address is accepted at RCPT (src/send/bounce-recipient.ts).
 */
export const bounceAddress = (sendId: string, domain: string) => `bounce+${sendId}@${domain}`;

/** The send id in a bounce address, or null when it is not one. */
export function sendIdOfBounce(address: string): string | null {
  const m = /^bounce\+(snd_[0-9a-hjkmnp-tv-z]{26})@/i.exec(address);
  return m ? m[1]!.toLowerCase() : null;
}

/**
 * Recipients that share one SMTP connection: all of them when a relay carries everything, else
 * those of one domain (whose MX hosts are the same). Also the per-destination concurrency key.
 */
export function destinationOf(config: Pick<Config, 'smtpRelay'>, address: string): string {
  if (config.smtpRelay) return 'relay';
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}
