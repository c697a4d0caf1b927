import type { Domain } from '../db/domains.js';
import type { MessageWithDomains, StoredAttachment } from '../db/messages.js';
import { handoff } from '../deliver/handoff.js';
import { bornLeased, leasedDelivery, type Place } from '../deliver/born.js';
import { destinationOf } from '../db/deliveries.js';
import type { Deps } from '../deps.js';
import { newId } from '../ids.js';
import type { ParseOutcome, PutAttachment } from '../parse/parse-message.js';
import { parseMessageLazily } from '../parse/parse-lazily.js';
import type { AuthParams } from '../parse/auth-pool.js';
import { parseAndCheckOffThread, parseOffThread } from '../parse/parse-pool.js';
import { NotOrdinaryError, ORDINARY } from '../parse/ordinary.js';
import { extractReply } from '../parse/reply-thread.js';
import type { AuthResults, Envelope, SpamVerdict } from '../parse/types.js';
import type { SpamCheck } from './spam-check.js';
import { attachmentKey, rawKey } from '../store/blob-store.js';
import { NotDurableError } from '../db/group-commit.js';
import type { InboundCopy } from '../db/repository.js';
import { SmtpError } from '../errors.js';
import { senderBlocked } from '../route/sender-block.js';
import { blobWriter } from './blob-writer.js';
import { planDelivery, receivingDomain, type AccountPlan } from './plan.js';
import { forwardSends } from '../send/queue-forward.js';
import type { Spool } from './spool.js';

export interface InboundMessage {
  /** The whole message as received: in memory when small, else a spool file (see spool.ts). */
  raw: Pick<Spool, 'buffer' | 'open'> & Partial<Pick<Spool, 'path'>>;
  size: number;
  envelope: Envelope;
}

/**
 * Computes SPF/DKIM/DMARC/ARC for a message (in memory, or its spool file); never throws.
 * For a message parsed on a parse thread (over PARSE_OFF_THREAD_BYTES): `fromHeaderBlock` answers
 * its checks from its header block alone when that is all they need (else null, never rejects);
 * otherwise `onParseThread` gives the settings for running them on the parse thread, on the same
 * read of the message.
 */
export type AuthCheck = ((raw: InboundMessage['raw'], envelope: Envelope) => Promise<AuthResults | Record<string, never>>) & {
  fromHeaderBlock?: (raw: InboundMessage['raw'], envelope: Envelope) => Promise<{ result: Promise<AuthResults> } | null>;
  onParseThread?: (envelope: Envelope) => AuthParams;
};

/** Like Promise.all, but rejects only once every promise settled: nothing is still writing when we clean up. */
async function allSettled<T extends readonly unknown[]>(promises: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/**
 * Messages over this size are spooled, and parsed on the event loop only as long as they are
 * ordinary (parseBig); a pathological one can take seconds of CPU (bench/README.md, event-loop
 * stall) and goes to a parse thread (src/parse/parse-pool.ts). A smaller one is parsed here
 * whatever it holds: ordinary mail costs well under a millisecond, less than the trip to a
 * thread, and the worst 256 KiB we built ~70 ms.
 */
export const PARSE_OFF_THREAD_BYTES = 256 * 1024;

const threadInput = (input: InboundMessage) => ({ raw: input.raw.path ? null : input.raw.buffer, path: input.raw.path ?? null });

/**
 * A big message, parsed on the event loop while it stays within ORDINARY (src/parse/ordinary.ts):
 * its attachments are decoded and stored chunk by chunk, the loop yielding between chunks, and no
 * parse thread is started for it (an isolate, mailparser and its heap under a 55 MB parse: ~30 MB
 * of RSS, bench/README.md, big mail, session 10). Past those bounds the parse stops before the
 * step that would hold the loop, what it stored is discarded, and a parse thread parses the
 * message from the start, as it parsed every big message before: the same outcome either way.
 */
export async function parseBig(input: InboundMessage, put: PutAttachment, discard: () => Promise<void>): Promise<ParseOutcome> {
  const raw = input.raw.open();
  try {
    return await parseMessageLazily(raw, put, ORDINARY);
  } catch (err) {
    if (!(err instanceof NotOrdinaryError)) throw err;
  } finally {
    raw.destroy();
  }
  await discard();
  return parseOffThread(threadInput(input), put, 'smtp');
}

/**
 * The parse and the auth checks. A big unsigned message's checks are answered from its header
 * block on the event loop (fromHeaderBlock); any other big one's on a parse thread, which parses
 * it too, on the one read of its spool file (a signed message's body hash).
 */
function parseAndCheck(
  input: InboundMessage,
  put: PutAttachment,
  discard: () => Promise<void>,
  checkAuth?: AuthCheck,
): [Promise<ParseOutcome>, Promise<AuthResults | Record<string, never>>] {
  const check = () => (checkAuth ? checkAuth(input.raw, input.envelope) : Promise.resolve({}));
  if (input.size <= PARSE_OFF_THREAD_BYTES) return [parseMessageLazily(input.raw.open(), put), check()];
  const onParseThread = checkAuth?.onParseThread;
  if (!onParseThread) return [parseBig(input, put, discard), check()];
  const started = (checkAuth.fromHeaderBlock?.(input.raw, input.envelope) ?? Promise.resolve(null)).then((here) =>
    here
      ? { parsed: parseBig(input, put, discard), auth: here.result }
      : parseAndCheckOffThread(threadInput(input), put, 'smtp', onParseThread(input.envelope)),
  );
  return [started.then((s) => s.parsed), started.then((s) => s.auth)];
}

/**
 * parse → store → route → enqueue. Resolves with the stored message ids only after the raw
 * message, its attachments and its delivery rows are durable (small blobs in the same commit as
 * the rows, larger ones in the BlobStore before it); rejects (→ 451) having removed
 * whatever it wrote, so a failure leaves nothing half-written. The rows join the group commit
 * of whatever else is being stored at the same time (src/db/group-commit.ts).
 */
export async function acceptInbound(deps: Deps, input: InboundMessage, checkAuth?: AuthCheck, checkSpam?: SpamCheck): Promise<string[]> {
  const receivedAt = deps.now();
  const firstId = newId('msg', receivedAt);
  const blobs = blobWriter(deps.blobs, deps.config.inlineBlobBytes);
  const rawBody = () => input.raw.buffer ?? input.raw.open();
  // A small message's raw copy is written while the parser runs; a big one's after, so that
  // one upload at a time holds buffers (an S3 upload holds a 5 MiB part buffer, src/store/s3-multipart.ts).
  const small = input.raw.buffer !== null;
  try {
    const [parsing, checking] = parseAndCheck(input, (i, content) => blobs.write(attachmentKey(firstId, i), content), () => blobs.discard(), checkAuth);
    const [{ parsed, error }, auth, spam] = await allSettled<[ParseOutcome, AuthResults | Record<string, never>, SpamVerdict | null, void]>([
      parsing,
      checking,
      checkSpam ? checkSpam(input.raw.open(), input.size, input.envelope) : Promise.resolve(null),
      small ? blobs.write(rawKey(firstId), rawBody()) : Promise.resolve(),
    ]);
    if (error) deps.metrics.parseErrors.inc();
    // Off the event loop and bounded in time (reply-thread.ts); computed once, sent on every attempt.
    parsed.reply = await extractReply(parsed.text);
    const senders = [input.envelope.mailFrom, parsed.from.address];
    // One lookup per recipient for the block check and the plan (DATA is one moment: both see the same domain).
    const domains = new Map<string, Promise<Domain | null>>();
    const domainFor = (a: string) => {
      let d = domains.get(a);
      if (!d) domains.set(a, (d = receivingDomain(deps.repos, a)));
      return d;
    };
    const blocked = await Promise.all(input.envelope.rcptTo.map(async (a) => blockedFor(deps, await domainFor(a), senders)));
    const rcptTo = input.envelope.rcptTo.filter((_, i) => !blocked[i]);
    // One reply answers DATA for every recipient: refuse only when every one of them blocks the
    // sender; otherwise the blocking accounts just keep no copy (their own explicit choice).
    if (rcptTo.length === 0 && input.envelope.rcptTo.length > 0) throw new SmtpError(550, 'Message refused: sender blocked by the recipient');
    const refused: string[] = [];
    const plans = (await planDelivery(deps.repos, rcptTo, { ...parsed, spam }, refused, domainFor)).filter((p) => p.keep);
    // Refused by the recipients' own spam routes: 550 only when no recipient is left to take it.
    if (refused.length > 0 && refused.length === rcptTo.length) throw new SmtpError(550, 'Message refused as spam by the recipient');
    if (!small && plans.length > 0) await blobs.write(rawKey(firstId), rawBody());
    if (plans.length === 0) {
      await removeBlobs(deps, blobs.stored);
      return [];
    }

    const copies: { id: string; plan: AccountPlan; attachments: StoredAttachment[] }[] = [];
    const copying: Promise<void>[] = [];
    // The first account keeps the blobs written above; every other account gets its own copy.
    const copy = (from: string, to: string) => {
      if (!blobs.copyInline(from, to)) copying.push(deps.blobs.get(from).then((body) => blobs.write(to, body)));
    };
    for (const [n, plan] of plans.entries()) {
      const id = n === 0 ? firstId : newId('msg', receivedAt);
      if (n > 0) copy(rawKey(firstId), rawKey(id));
      const attachments: StoredAttachment[] = [];
      for (const meta of parsed.attachments) {
        const blobKey = attachmentKey(id, meta.index);
        if (n > 0) copy(attachmentKey(firstId, meta.index), blobKey);
        attachments.push({ ...meta, id: newId('att', receivedAt), messageId: id, blobKey });
      }
      copies.push({ id, plan, attachments });
    }
    await allSettled(copying);

    const stored: { message: MessageWithDomains; uses: number; attachments: StoredAttachment[] }[] = [];
    const rows: InboundCopy[] = copies.map(({ id, plan, attachments }) => {
      const envelope = { ...input.envelope, rcptTo: plan.recipients.map((r) => r.address) };
      // Small blobs commit with their rows (DESIGN §3): no file, no fsync of their own.
      const inlineBlobs = [rawKey(id), ...attachments.map((a) => a.blobKey)].flatMap((key) => {
        const data = blobs.inline.get(key);
        return data ? [{ key, data }] : [];
      });
      const message = {
        id,
        userId: plan.userId,
        domainId: plan.domainId,
        envelope,
        parsed,
        auth,
        spam,
        size: input.size,
        rawKey: rawKey(id),
        parseError: error,
        receivedAt,
        purgedAt: null,
      };
      const domainIds = [...new Set([plan.domainId, ...plan.recipients.map((r) => r.domainId)])];
      stored.push({ message: { ...message, domainIds }, uses: plan.deliveries.length, attachments });
      return {
        message,
        attachments,
        inlineBlobs,
        recipients: plan.recipients,
        deliveries: plan.deliveries.map((d) => ({ id: newId('dlv', receivedAt), userId: plan.userId, messageId: id, ...d })),
        forwards: forwardSends(deps, { messageId: id, userId: plan.userId, forwards: plan.forwards, mailFrom: input.envelope.mailFrom, parsed }, receivedAt),
      };
    });
    // The worker's first attempts take the message from here instead of reading it back; put
    // before the commit, since its rows can be claimed as soon as it commits (src/deliver/handoff.ts).
    const handed = handoff(deps.repos);
    for (const { message, uses, attachments } of stored) handed.put({ message, attachments }, uses);
    // A delivery whose destination has room in the running worker's pools is written leased, its
    // first attempt started in this transaction, and posted from memory once it is durable (born.ts).
    const born = bornLeased(deps.repos);
    const places: { place: Place; d: InboundCopy['deliveries'][number] }[] = [];
    if (born) {
      for (const c of rows) {
        for (const d of c.deliveries) {
          d.dest = destinationOf(d.url);
          const place = born.reserve(d.dest, receivedAt);
          if (!place) continue;
          d.leaseUntil = place.leaseUntil;
          places.push({ place, d });
        }
      }
    }
    let attempts: Map<string, number>;
    try {
      // One transaction for every copy; it joins the group commit of whatever else is being stored.
      attempts = await deps.repos.storeInbound(rows, receivedAt);
    } catch (err) {
      // Nothing is posted from memory without its attempt row known durable; a row that did commit
      // is due again when its lease ends (or at the next start), as after a crash.
      for (const { place } of places) born!.cancel(place);
      // Committed but not known durable: the rows are there and will be delivered; otherwise they are not.
      if (!(err instanceof NotDurableError)) for (const { message } of stored) handed.forget(message.id);
      throw err;
    }
    for (const { place, d } of places) {
      const attemptId = attempts.get(d.id);
      if (attemptId === undefined) born!.cancel(place);
      else born!.start(place, leasedDelivery(d, place, receivedAt), attemptId);
    }
    // Deliveries written due, without a place: the worker's passes take them (none runs for a message whose all were born leased).
    if (born && places.length < rows.reduce((n, c) => n + c.deliveries.length, 0)) born.leftToPasses();
    return copies.map((c) => c.id);
  } catch (err) {
    // Rows that did commit point at these blobs: they stay (the 451 makes the sender retry; at worst a duplicate).
    if (!(err instanceof NotDurableError)) await removeBlobs(deps, blobs.stored);
    throw err;
  }
}

/** Whether the account receiving mail at `domain` blocks any of `senders` (envelope and header From). */
async function blockedFor(deps: Deps, domain: Domain | null, senders: string[]): Promise<boolean> {
  if (!domain) return false;
  const patterns = await deps.repos.senderBlocks.patternsFor(domain.userId, domain.id);
  return senders.some((s) => senderBlocked(patterns, s));
}

async function removeBlobs(deps: Deps, keys: string[]): Promise<void> {
  await Promise.all(
    keys.map((k) =>
      deps.blobs.delete(k).catch((err) => deps.log.warn('could not remove blob after failure', { key: k, err })),
    ),
  );
}
