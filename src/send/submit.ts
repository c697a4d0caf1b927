import { createHash } from 'node:crypto';
import type { Domain } from '../db/domains.js';
import type { Send } from '../db/sends.js';
import type { Deps } from '../deps.js';
import { HttpError } from '../errors.js';
import { newId } from '../ids.js';
import { canSend } from '../api/domain-json.js';
import type { Auth } from '../api/guard.js';
import { compose, newMessageId } from './compose.js';
import { dkimSigningKey } from './dkim-key.js';
import { sendHandoff } from './handoff.js';
import { bounceAddress, destinationOf } from './envelope.js';
import { validateSend, type SendBody } from './request.js';

/** Stripe and Postmark keep a key 24 h: a client retrying after a day is sending anew. */
export const IDEMPOTENCY_MS = 24 * 60 * 60 * 1000;

export interface SendAccepted {
  id: string;
  status: 'queued';
}

/** The hash an Idempotency-Key is bound to: the body as parsed, without the key itself. */
export function requestHash(body: SendBody): string {
  const { idempotency_key: _ignored, ...rest } = body;
  return createHash('sha256').update(JSON.stringify(rest)).digest('hex');
}

function replayOrConflict(seen: { hash: string; response: string } | null, hash: string): SendAccepted | null {
  if (!seen) return null;
  if (seen.hash !== hash) throw new HttpError(409, 'Idempotency-Key: already used with a different request body in the last 24 h');
  return JSON.parse(seen.response) as SendAccepted;
}

/** 403 not the caller's domain, 409 not ready to send. */
async function sendingDomain(deps: Deps, auth: Auth, address: string): Promise<Domain> {
  const name = address.slice(address.lastIndexOf('@') + 1).toLowerCase();
  const domain = await deps.repos.domains.getByName(auth.user.id, name);
  if (!domain) throw new HttpError(403, `from: ${name} is not one of your domains`);
  if (auth.domainId && auth.domainId !== domain.id) throw new HttpError(403, `from: this API key may only send from its own domain, not ${name}`);
  if (!canSend(domain)) {
    throw new HttpError(409, `from: ${name} is not verified for sending: publish its DKIM record and verify the domain (POST /api/domains/${domain.id}/verify)`);
  }
  return domain;
}

/**
 * POST /v1/send after authentication: validate, compose and sign, then one transaction decides
 * idempotency and writes the send with its recipients. Because that decision and the write are
 * one synchronous transaction, concurrent requests with one key cannot both insert: the later
 * ones find the key and answer the first response. The promise resolves after the commit is on
 * disk, so a 202 means the send survives a crash.
 */
export async function submitSend(
  deps: Deps,
  auth: Auth,
  body: SendBody,
  key: string | null,
  rateLimit: (userId: string) => void,
): Promise<SendAccepted> {
  const userId = auth.user.id;
  // Only a request with a key is compared with another: no JSON and no digest of the body without one.
  const hash = key ? requestHash(body) : '';
  if (key) {
    const replay = replayOrConflict(await deps.repos.idempotency.get(userId, key, deps.now() - IDEMPOTENCY_MS), hash);
    if (replay) return replay;
  }
  const valid = validateSend(body, deps.config.maxMessageBytes);
  const domain = await sendingDomain(deps, auth, valid.from.address);
  rateLimit(userId);
  let inReplyTo: string | undefined;
  let references: string[] | undefined;
  if (body.reply_to_message_id !== undefined) {
    const original = await deps.repos.messages.get(userId, body.reply_to_message_id);
    if (!original || (auth.domainId && !original.domainIds.includes(auth.domainId))) {
      throw new HttpError(400, 'reply_to_message_id: no such message of yours');
    }
    if (original.parsed.messageId) {
      inReplyTo = original.parsed.messageId;
      // RFC 5322 §3.6.4: the parent's References (or In-Reply-To) followed by its Message-ID.
      const parentRefs = original.parsed.references.length ? original.parsed.references : original.parsed.inReplyTo ? [original.parsed.inReplyTo] : [];
      references = [...parentRefs, original.parsed.messageId].slice(-20);
    }
  }
  const now = deps.now();
  const id = newId('snd', now);
  const messageId = newMessageId(domain.name);
  const raw = await compose(
    { ...valid.composition, inReplyTo, references },
    { domain: domain.name, selector: domain.dkim!.selector, privateKey: dkimSigningKey(deps.config.secret, domain.dkim!) },
    messageId,
    new Date(now),
  );
  if (raw.length > deps.config.maxMessageBytes) {
    throw new HttpError(400, `message: ${raw.length} bytes encoded is more than MAX_MESSAGE_BYTES (${deps.config.maxMessageBytes})`);
  }
  const accepted: SendAccepted = { id, status: 'queued' };
  const send: Send = {
    id,
    userId,
    domainId: domain.id,
    kind: 'send',
    sourceMessageId: body.reply_to_message_id ?? null,
    routeId: null,
    fromAddress: valid.from.address.toLowerCase(),
    subject: body.subject,
    messageId,
    mailFrom: bounceAddress(id, domain.name),
    createdAt: now,
  };
  const recipients = valid.recipients.map((address) => ({ id: newId('rcp', now), address, dest: destinationOf(deps.config, address) }));
  const seen = await deps.repos.submitSend(
    { ...send, raw, recipients },
    key ? { key, hash, response: JSON.stringify(accepted), since: now - IDEMPOTENCY_MS } : null,
  );
  // Committed: the first attempt at each destination takes the bytes from memory (handoff.ts).
  if (!seen) sendHandoff(deps.repos).put({ send, raw }, new Set(recipients.map((r) => r.dest)).size);
  // A concurrent request with the same key wrote first: its answer (or a conflict) is this one's.
  return (seen && replayOrConflict(seen, hash)) ?? accepted;
}
