import type { RecipientOutcome } from '../db/outbound-queue.js';
import type { Recipient } from '../db/sends.js';
import { scheduledDelay } from '../deliver/schedule.js';
import type { SendEventType } from './events.js';
import { SMTP_RETRY_SCHEDULE_MS } from './schedule.js';

/**
 * What one SMTP answer makes of a recipient (RFC 5321 §4.2.1): 2yz sent, 5yz bounced (permanent),
 * 4yz or no answer deferred until the schedule is spent, then failed. And which event says so:
 * `email.delivery_delayed` only on the first deferral, so a receiver is not told every retry.
 */
export function decideRecipient(
  r: Recipient,
  answer: { code: number | null; reply: string; mx: string | null; permanent?: boolean },
  now: number,
  random: () => number = Math.random,
): { outcome: RecipientOutcome; event: SendEventType | null; suppress: boolean } {
  const base = { finishedAt: now, mx: answer.mx, code: answer.code, reply: answer.reply, error: answer.code === null ? answer.reply : null };
  if (answer.code !== null && answer.code >= 200 && answer.code < 300) {
    return { outcome: { ...base, status: 'sent', nextAttemptAt: null }, event: 'email.sent', suppress: false };
  }
  if (answer.permanent || (answer.code !== null && answer.code >= 500)) {
    return { outcome: { ...base, status: 'bounced', nextAttemptAt: null }, event: 'email.bounced', suppress: true };
  }
  const delay = scheduledDelay(SMTP_RETRY_SCHEDULE_MS, r.attempts, random);
  if (delay === null) return { outcome: { ...base, status: 'failed', nextAttemptAt: null }, event: 'email.failed', suppress: false };
  return {
    outcome: { ...base, status: 'deferred', nextAttemptAt: now + delay },
    event: r.status === 'queued' ? 'email.delivery_delayed' : null,
    suppress: false,
  };
}
