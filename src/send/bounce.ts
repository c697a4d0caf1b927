import type { BounceReport } from '../db/repository.js';
import type { Deps } from '../deps.js';
import type { Send } from '../db/sends.js';
import { sendIdOfBounce } from './envelope.js';
import { isOurSrs } from './srs.js';
import { isHardBounce, parseDsn } from './dsn.js';
import { sendEvent } from './events.js';

/**
 * RCPT TO a bounce address: only the address of a send that exists is taken (DESIGN §9: never
 * an open door); the send id in it carries 80 random bits, so it cannot be guessed.
 */
export async function isBounceRecipient(deps: Deps, address: string): Promise<boolean> {
  return (await sendsOfBounceAddress(deps, address)).length > 0;
}

/** The sends whose envelope sender `address` is: a VERP address names one; an SRS address is matched by value. */
export async function sendsOfBounceAddress(deps: Deps, address: string): Promise<Send[]> {
  const sendId = sendIdOfBounce(address);
  if (sendId) {
    const send = await deps.repos.sends.getById(sendId);
    return send && send.mailFrom.toLowerCase() === address.toLowerCase() ? [send] : [];
  }
  if (!isOurSrs(deps.config.secret, address)) return [];
  const lower = address.toLowerCase();
  return (await deps.repos.sends.byMailFrom(address)).filter((s) => s.mailFrom.toLowerCase() === lower);
}

/**
 * A DSN arrived at a send's bounce address: each hard-bounced recipient it names that belongs
 * to the send becomes `bounced` (even after a 250: the receiving MTA can fail later), is
 * suppressed, and gets an `email.bounced` event, in one transaction. Returns how many changed.
 */
export async function applyDsn(deps: Deps, bounceAddress: string, raw: string): Promise<number> {
  const sends = await sendsOfBounceAddress(deps, bounceAddress);
  const reports = parseDsn(raw).filter(isHardBounce);
  if (sends.length === 0 || reports.length === 0) return 0;
  const now = deps.now();
  const recipients = await Promise.all(sends.map((s) => deps.repos.sends.recipients(s.id)));
  const bounces: BounceReport[] = [];
  for (const report of reports) {
    // An SRS address is shared by forwards of one sender: the newest send to the reported address is the one.
    const i = recipients.findIndex((rs) => rs.some((x) => x.address === report.address));
    const send = sends[i];
    const r = recipients[i]?.find((x) => x.address === report.address);
    // Checked again in the transaction: a DSN arriving twice at once changes the recipient once.
    if (!send || !r || r.status === 'bounced' || r.status === 'suppressed') continue;
    const code = Number(/^([45]\d\d)\b/.exec(report.diagnostic)?.[1] ?? (report.status.startsWith('5.') ? 550 : 0)) || null;
    const reply = report.diagnostic || `DSN status ${report.status}`;
    bounces.push({
      sendId: send.id,
      recipientId: r.id,
      bounce: { at: now, code, reply },
      suppression: { userId: send.userId, address: r.address, reason: 'bounce', detail: reply, sendId: send.id },
      event: await sendEvent(deps, 'email.bounced', send, { ...r, status: 'bounced' }, { code, reply, mx: 'dsn' }, now),
    });
  }
  return bounces.length ? deps.repos.applyBounces(bounces, now) : 0;
}
