import type { SMTPServerAddress, SMTPServerSession } from 'smtp-server';
import type { Deps } from '../deps.js';
import { SmtpError } from '../errors.js';
import { receivingDomain } from '../inbound/plan.js';
import type { RcptReason } from '../ops/metrics.js';
import { rcptDecision, RCPT_REJECTED_BY_ROUTE } from '../route/match.js';
import { isBounceRecipient } from '../send/bounce.js';
import { senderBlocked } from '../route/sender-block.js';

/**
 * RCPT TO: the only place mail is refused for its recipient (DESIGN §1 inv. 2): a verified
 * domain with a route or catch-all that takes it, or 550 now, never a bounce later.
 * A sender the recipient's account blocks is refused here too: MAIL FROM cannot know whose
 * blocks apply, RCPT TO can. In a transaction whose recipients belong to several accounts, only
 * the recipients of the blocking account are refused; the others still get the message.
 */
export function acceptRecipient(deps: Deps) {
  const refused = (reason: RcptReason, err: SmtpError) => ({ reason, err });
  // smtp-server calls back; the promise is ours to settle, once, with the reply.
  const decide = async (address: SMTPServerAddress, session: SMTPServerSession): Promise<{ reason: RcptReason; err: SmtpError | null }> => {
    // A DSN to one of our sends' bounce addresses needs no route (src/send/bounce.ts).
    if (await isBounceRecipient(deps, address.address)) return { reason: 'bounce_address', err: null };
    const domain = await receivingDomain(deps.repos, address.address);
    if (!domain) return refused('unknown_domain', new SmtpError(550, 'Recipient address rejected: domain not served here'));
    const sender = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
    if (senderBlocked(await deps.repos.senderBlocks.patternsFor(domain.userId, domain.id), sender)) {
      return refused('blocked_sender', new SmtpError(550, 'Sender blocked by the recipient'));
    }
    const verdict = rcptDecision(await deps.repos.routes.enabledForDomain(domain.id), address.address, !!domain.webhookUrl);
    // smtp-server prefixes the enhanced status code itself.
    if (!verdict.accept) {
      return refused(verdict.message === RCPT_REJECTED_BY_ROUTE ? 'rejected_by_route' : 'no_route', new SmtpError(verdict.code, verdict.message.replace(/^\d\.\d{1,3}\.\d{1,3} /, '')));
    }
    return { reason: 'accepted', err: null };
  };
  const reply = (callback: (err?: Error | null) => void, reason: RcptReason, err: SmtpError | null) => {
    deps.metrics.smtpRecipients.inc({ code: err ? String(err.responseCode) : '250', reason });
    callback(err);
  };
  return (address: SMTPServerAddress, session: SMTPServerSession, callback: (err?: Error | null) => void) => {
    decide(address, session).then(
      (d) => reply(callback, d.reason, d.err),
      (err: unknown) => {
        deps.log.error('RCPT check failed', { err });
        reply(callback, 'error', new SmtpError(451, 'Temporary failure, try again later'));
      },
    );
  };
}