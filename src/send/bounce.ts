import { groupCommit } from '../db/group-commit.js';
import type { Deps } from '../deps.js';
import type { Send } from '../db/sends.js';
import { sendIdOfBounce } from './envelope.js';
import { isOurSrs } from './srs.js';
import { isHardBounce, parseDsn } from './dsn.js';
import { queueSendEvent } from './events.js';

/**
 * RCPT TO a bounce address: only the address of a send that exists is taken (DESIGN §9: never
 * an open door); the send id in it carries 80 random bits, so it cannot be guessed.
 */
export function isBounceRecipient(deps: Deps, address: string): boolean {
  return sendsOfBounceAddress(deps, address).length > 0;
}

/** The sends whose envelope sender `address` is: a VERP address names one; an SRS address is matched by value. */
export function sendsOfBounceAddress(deps: Deps, address: string): Send[] {
  const sendId = sendIdOfBounce(address);
  if (sendId) {
    const send = deps.repos.sends.getById(sendId);
    return send && send.mailFrom.toLowerCase() === address.toLowerCase() ? [send] : [];
  }
  if (!isOurSrs(deps.config.secret, address)) return [];
  const lower = address.toLowerCase();
  return deps.repos.sends.byMailFrom(address).filter((s) => s.mailFrom.toLowerCase() === lower);
}

/**
 * A DSN arrived at a send's bounce address: each hard-bounced recipient it names that belongs
 * to the send becomes `bounced` (even after a 250: the receiving MTA can fail later), is
 * suppressed, and gets an `email.bounced` event, in one transaction. Returns how many changed.
 */
export async function applyDsn(deps: Deps, bounceAddress: string, raw: string): Promise<number> {
  const sends = sendsOfBounceAddress(deps, bounceAddress);
  const reports = parseDsn(raw).filter(isHardBounce);
  if (sends.length === 0 || reports.length === 0) return 0;
  const now = deps.now();
  return groupCommit(deps.db).run(() => {
    let changed = 0;
    for (const report of reports) {
      // An SRS address is shared by forwards of one sender: the newest send to the reported address is the one.
      const send = sends.find((s) => deps.repos.sends.recipients(s.id).some((x) => x.address === report.address));
      const r = send && deps.repos.sends.recipients(send.id).find((x) => x.address === report.address);
      if (!send || !r || r.status === 'bounced' || r.status === 'suppressed') continue;
      const code = Number(/^([45]\d\d)\b/.exec(report.diagnostic)?.[1] ?? (report.status.startsWith('5.') ? 550 : 0)) || null;
      const reply = report.diagnostic || `DSN status ${report.status}`;
      deps.repos.outbound.markBounced(r.id, { at: now, code, reply });
      deps.repos.suppressions.add({ userId: send.userId, address: r.address, reason: 'bounce', detail: reply, sendId: send.id }, now);
      queueSendEvent(deps, 'email.bounced', send, { ...r, status: 'bounced' }, { code, reply, mx: 'dsn' }, now);
      changed++;
    }
    return changed;
  });
}
