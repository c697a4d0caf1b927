import type { Deps } from '../deps.js';
import type { SendToQueue } from '../db/repository.js';
import { newId } from '../ids.js';
import type { PlannedForward } from '../inbound/plan.js';
import type { ParsedMessage } from '../parse/types.js';
import { destinationOf } from './envelope.js';
import { srsAddress } from './srs.js';

/**
 * The sends of a message's `forward` routes, written in the transaction that stores the message
 * (so a 250 means the forward is queued too). The envelope sender is the original one rewritten
 * with SRS at the route's domain; a null sender (a bounce being forwarded) stays null, so it can
 * never bounce back (RFC 5321 §4.5.5).
 */
export function forwardSends(
  deps: Pick<Deps, 'config'>,
  m: { messageId: string; userId: string; forwards: PlannedForward[]; mailFrom: string; parsed: ParsedMessage },
  now: number,
): SendToQueue[] {
  return m.forwards.map((f) => {
    const id = newId('snd', now);
    return {
      id,
      userId: m.userId,
      domainId: f.domainId,
      kind: 'forward',
      sourceMessageId: m.messageId,
      routeId: f.routeId,
      fromAddress: m.parsed.from.address.toLowerCase(),
      subject: m.parsed.subject,
      messageId: m.parsed.messageId,
      mailFrom: m.mailFrom && m.mailFrom.includes('@') ? srsAddress(deps.config.secret, m.mailFrom, f.domainName, now) : '',
      raw: null,
      createdAt: now,
      recipients: [{ id: newId('rcp', now), address: f.to, dest: destinationOf(deps.config, f.to) }],
    };
  });
}
