import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { StoredAttachment } from '../db/messages.js';
import type { Deps } from '../deps.js';
import { newId } from '../ids.js';
import { parseMessage } from '../parse/parse-message.js';
import type { AuthResults, Envelope } from '../parse/types.js';
import { attachmentKey, rawKey } from '../store/blob-store.js';
import { planDelivery, type AccountPlan } from './plan.js';

export interface InboundMessage {
  /** The whole message as received, spooled to a local file by the SMTP session. */
  spoolPath: string;
  size: number;
  envelope: Envelope;
}

/** Computes SPF/DKIM/DMARC/ARC for a message; never throws. */
export type AuthCheck = (raw: Readable, envelope: Envelope) => Promise<AuthResults | Record<string, never>>;

/**
 * parse → store → route → enqueue. Resolves with the stored message ids only after the raw
 * message, its attachments and its delivery rows are durable; rejects (→ 451) having removed
 * whatever it wrote, so a failure leaves nothing half-written.
 */
export async function acceptInbound(deps: Deps, input: InboundMessage, checkAuth?: AuthCheck): Promise<string[]> {
  const receivedAt = deps.now();
  const firstId = newId('msg', receivedAt);
  const written: string[] = [];
  const put = async (key: string, body: Readable) => {
    written.push(key);
    await deps.blobs.put(key, body);
  };
  try {
    const [{ parsed, error }, auth] = await Promise.all([
      parseMessage(createReadStream(input.spoolPath), (i, content) => put(attachmentKey(firstId, i), content)),
      checkAuth ? checkAuth(createReadStream(input.spoolPath), input.envelope) : Promise.resolve({}),
    ]);
    const plans = planDelivery(deps.repos, input.envelope.rcptTo, parsed).filter((p) => p.keep);

    const copies: { id: string; plan: AccountPlan; attachments: StoredAttachment[] }[] = [];
    for (const [n, plan] of plans.entries()) {
      // The first account keeps the blobs parsing wrote; every other account gets its own copy.
      const id = n === 0 ? firstId : newId('msg', receivedAt);
      await put(rawKey(id), createReadStream(input.spoolPath));
      const attachments: StoredAttachment[] = [];
      for (const meta of parsed.attachments) {
        const blobKey = attachmentKey(id, meta.index);
        if (n > 0) await put(blobKey, await deps.blobs.get(attachmentKey(firstId, meta.index)));
        attachments.push({ ...meta, id: newId('att', receivedAt), messageId: id, blobKey });
      }
      copies.push({ id, plan, attachments });
    }
    if (plans.length === 0) await removeBlobs(deps, written);

    deps.db.transaction(() => {
      for (const { id, plan, attachments } of copies) {
        const envelope = { ...input.envelope, rcptTo: plan.recipients.map((r) => r.address) };
        deps.repos.messages.insert(
          {
            id,
            userId: plan.userId,
            domainId: plan.domainId,
            envelope,
            parsed,
            auth,
            size: input.size,
            rawKey: rawKey(id),
            parseError: error,
            receivedAt,
            purgedAt: null,
          },
          attachments,
        );
        for (const r of plan.recipients) deps.repos.messages.insertRecipient(id, r.address, r.domainId);
        for (const d of plan.deliveries) {
          deps.repos.deliveries.insert({ id: newId('dlv', receivedAt), userId: plan.userId, messageId: id, ...d }, receivedAt);
        }
      }
    })();
    return copies.map((c) => c.id);
  } catch (err) {
    await removeBlobs(deps, written);
    throw err;
  }
}

async function removeBlobs(deps: Deps, keys: string[]): Promise<void> {
  await Promise.all(
    keys.map((k) =>
      deps.blobs.delete(k).catch((err) => deps.log.warn('could not remove blob after failure', { key: k, err })),
    ),
  );
}
