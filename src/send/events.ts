import type { Recipient, Send } from '../db/sends.js';
import type { NewEvent } from '../db/outbound-queue.js';
import type { Deps } from '../deps.js';
import { newId } from '../ids.js';

export type SendEventType = 'email.sent' | 'email.delivery_delayed' | 'email.bounced' | 'email.failed';

export interface SmtpDetail {
  code: number | null;
  reply: string | null;
  mx: string | null;
}

/** The JSON posted for one recipient's change; signed like §6 webhooks by the event queue. */
export function sendEventBody(type: SendEventType, send: Send, domain: string, r: Recipient, smtp: SmtpDetail, now: number) {
  return {
    type,
    timestamp: now,
    data: {
      send_id: send.id,
      kind: send.kind,
      domain,
      message_id: send.messageId,
      from: send.fromAddress,
      subject: send.subject,
      recipient: r.address,
      status: r.status,
      attempts: r.attempts,
      smtp: { code: smtp.code, reply: smtp.reply, mx: smtp.mx },
      source_message_id: send.sourceMessageId,
    },
  };
}

/**
 * The event for the sending domain's catch-all webhook, when it has one (null otherwise). Handed
 * to the use case that records the outcome, so the event exists exactly when the outcome does.
 */
export async function sendEvent(deps: Deps, type: SendEventType, send: Send, r: Recipient, smtp: SmtpDetail, now: number): Promise<NewEvent | null> {
  const domain = await deps.repos.domains.getById(send.domainId);
  if (!domain?.webhookUrl || !domain.webhookSecret) return null;
  return {
    id: newId('evt', now),
    userId: send.userId,
    sendId: send.id,
    type,
    url: domain.webhookUrl,
    secret: domain.webhookSecret,
    body: JSON.stringify(sendEventBody(type, send, domain.name, r, smtp, now)),
  };
}
