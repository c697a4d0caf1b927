import type { SpamVerdict } from '../parse/types.js';

/**
 * The `spam` route filter, pure. It holds on the spam filter's verdict of the message:
 * - `"spam"`: rspamd recommends doing something about it (`add header`, `rewrite subject`, `reject`);
 * - `"reject"`: rspamd recommends rejecting it (GTUBE, or a score at or over its reject threshold);
 * - a number: the score is at least that.
 * A message that was not checked (no filter configured, filter slow or down) never matches: an
 * outage of the filter must not send good mail to the spam routes.
 */
export type SpamFilter = 'spam' | 'reject' | number;

const SPAM_ACTIONS = new Set(['add header', 'rewrite subject', 'reject']);

export function validateSpamFilter(v: unknown): { spam: SpamFilter } | { error: string } {
  if (v === 'spam' || v === 'reject') return { spam: v };
  if (typeof v === 'number' && Number.isFinite(v) && v >= -1000 && v <= 1000) return { spam: v };
  return { error: 'filters.spam must be "spam", "reject" or a score between -1000 and 1000' };
}

export function spamMatches(filter: SpamFilter, verdict: SpamVerdict | null | undefined): { ok: boolean; reason: string } {
  if (!verdict || verdict.status !== 'checked') return { ok: false, reason: 'spam: the message has no spam verdict (unchecked), so spam does not match' };
  const got = `spam score ${verdict.score}, action ${verdict.action}`;
  if (typeof filter === 'number') {
    const ok = verdict.score >= filter;
    return { ok, reason: `${got} ${ok ? 'is at least' : 'is below'} ${filter}` };
  }
  const ok = filter === 'reject' ? verdict.action === 'reject' : SPAM_ACTIONS.has(verdict.action);
  return { ok, reason: `${got} ${ok ? 'matches' : 'does not match'} '${filter}'` };
}
