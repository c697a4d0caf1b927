import type { Send } from '../db/sends.js';
import type { Deps } from '../deps.js';
import type { ParsedMessage } from '../parse/types.js';
import { sign } from './compose.js';
import { dkimSigningKey } from './dkim-key.js';

/** The loop guard: a forward adds this header naming its route; a message carrying it for that route is not forwarded again. */
export const LOOP_HEADER = 'X-Mailhook-Forwarded';

export function alreadyForwarded(parsed: ParsedMessage, routeId: string): boolean {
  return parsed.headers.some((h) => h.name.toLowerCase() === LOOP_HEADER.toLowerCase() && h.value.split(/[\s,]+/).includes(routeId));
}

/**
 * A forward's bytes, made at each attempt from the stored original (which may be large and live
 * in S3): the loop-guard header, then a DKIM signature of the forwarding domain when it has a key,
 * prepended; the original message follows byte for byte.
 */
export async function forwardBytes(deps: Deps, send: Send): Promise<Buffer | null> {
  const message = send.sourceMessageId ? await deps.repos.messages.getById(send.sourceMessageId) : null;
  if (!message || !send.routeId) return null;
  const chunks: Buffer[] = [];
  for await (const c of await deps.blobs.get(message.rawKey)) chunks.push(c as Buffer);
  const withMark = Buffer.concat([Buffer.from(`${LOOP_HEADER}: ${send.routeId}\r\n`), ...chunks]);
  const domain = await deps.repos.domains.getById(send.domainId);
  if (!domain?.dkim) return withMark;
  return sign(withMark, { domain: domain.name, selector: domain.dkim.selector, privateKey: dkimSigningKey(deps.config.secret, domain.dkim) });
}
