import type { BounceReport } from '../db/repository.js';
import type { Deps } from '../deps.js';
import type { Recipient, Send } from '../db/sends.js';
import { parseBounce, tagMatches } from './envelope.js';
import { isOurSrs } from './srs.js';
import { isHardBounce, parseDsn } from './dsn.js';
import { sendEvent } from './events.js';

/**
 * RCPT TO a bounce address: only the address of a send that exists is taken (DESIGN §9: never
 * an open door), and a VERP address only with its tag (envelope.ts), which nobody without
 * SECRET can make.
 */
export async function isBounceRecipient(deps: Deps, address: string): Promise<boolean> {
  return (await sendsOfBounceAddress(deps, address)).length > 0;
}

/** A send a bounce address names, and the recipients a report to it may change. */
interface Bounced {
  send: Send;
  recipients: Recipient[];
}

/**
 * The sends whose envelope sender `address` is: a VERP address names one send and, by its tag,
 * the one recipient its transaction went to (or, for an address made before 2026-12-07, the
 * destination whose recipients shared the transaction: DSNs come back days later); an SRS
 * address (one recipient per forward) is matched by value.
 */
export async function sendsOfBounceAddress(deps: Deps, address: string): Promise<Bounced[]> {
  const verp = parseBounce(address);
  if (verp) {
    const send = await deps.repos.sends.getById(verp.sendId);
    if (!send || send.mailFrom.toLowerCase() !== verp.mailFrom.toLowerCase()) return [];
    const all = await deps.repos.sends.recipients(send.id);
    const secret = deps.config.secret;
    const one = all.find((r) => tagMatches(secret, send.id, r.address, verp.tag));
    if (one) return [{ send, recipients: [one] }];
    const dest = [...new Set(all.map((r) => r.dest))].find((d) => tagMatches(secret, send.id, d, verp.tag));
    return dest === undefined ? [] : [{ send, recipients: all.filter((r) => r.dest === dest) }];
  }
  if (!isOurSrs(deps.config.secret, address, deps.now())) return [];
  const lower = address.toLowerCase();
  const sends = (await deps.repos.sends.byMailFrom(address)).filter((s) => s.mailFrom.toLowerCase() === lower);
  return Promise.all(sends.map(async (send) => ({ send, recipients: await deps.repos.sends.recipients(send.id) })));
}

/**
 * A DSN arrived at a send's bounce address: each hard-bounced recipient it names that belongs
 * to the send (and, for a VERP address, is the recipient it was tagged for, or in an older address one at its destination) becomes
 * `bounced` (even after a 250: the receiving MTA can fail later), is suppressed, and gets an
 * `email.bounced` event, in one transaction. Returns how many changed.
 */
export async function applyDsn(deps: Deps, bounceAddress: string, raw: string): Promise<number> {
  const found = await sendsOfBounceAddress(deps, bounceAddress);
  const reports = parseDsn(raw).filter(isHardBounce);
  if (found.length === 0 || reports.length === 0) return 0;
  const now = deps.now();
  const bounces: BounceReport[] = [];
  // One report per recipient: a DSN naming the same ones thousands of times (1 MiB of blocks) changes each once.
  const taken = new Set<string>();
  for (const report of reports) {
    // An SRS address is shared by forwards of one sender: the newest send to the reported address is the one.
    const f = found.find((x) => x.recipients.some((r) => r.address === report.address));
    const send = f?.send;
    const r = f?.recipients.find((x) => x.address === report.address);
    // Checked again in the transaction: a DSN arriving twice at once changes the recipient once.
    if (!send || !r || r.status === 'bounced' || r.status === 'suppressed' || taken.has(r.id)) continue;
    taken.add(r.id);
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
  const changed = bounces.length ? await deps.repos.applyBounces(bounces, now) : 0;
  if (changed) deps.metrics.sendRecipients.inc({ status: 'bounced' }, changed);
  return changed;
}
