import { hostname } from 'node:os';
import type { SendEvent } from '../db/outbound-queue.js';
import type { OutboundResult } from '../db/repository.js';
import type { Recipient, Send } from '../db/sends.js';
import { decide } from '../deliver/worker.js';
import { postWebhook } from '../deliver/post.js';
import type { Deps } from '../deps.js';
import { createResolver } from '../dns/resolver.js';
import { createQueueLoop, POLL_MS, type QueueLoop } from '../queue/loop.js';
import { createSlots } from '../queue/slots.js';
import { sendEvent } from './events.js';
import { forwardBytes } from './forward.js';
import { sendHandoff } from './handoff.js';
import { cachedMxLookup, PermanentDnsError, type MxHost } from './mx.js';
import { decideRecipient } from './outcome.js';
import { MAX_RECIPIENTS } from './request.js';
import { closeTransfers, transfer, type RcptResult } from './transfer.js';

/**
 * The durable outbound queue (DESIGN §9). send_recipients is the queue: a recipient is due while
 * next_attempt_at is set and has passed. Due recipients of one send and one destination (their
 * domain, or the relay) go in one SMTP transaction over one connection. Each attempt row is
 * committed before connecting and finished after; a crash leaves it open, and start() makes
 * those recipients due again (at least once: a message in flight at the crash may arrive twice).
 * The events the outcomes produce are a second, small queue of signed webhooks.
 */
/** runOnce() runs one pass of both queues, the recipients' and the events'. */
export type OutboundWorker = QueueLoop;

export const OUTBOUND_CONCURRENCY = 32;
/** Connections at once to one destination: receivers throttle senders that open many. */
export const OUTBOUND_PER_DESTINATION = 4;
const EVENT_CONCURRENCY = 16;
/** Sends one slot takes at a time. */
export const BATCH = 20;
/** An SMTP transaction's timeouts add up to a few minutes; the lease outlasts them. */
const LEASE_MS = 10 * 60_000;
const INTERRUPTED = 'interrupted (process stopped)';

export function createOutboundWorker(deps: Deps, opts: { random?: () => number } = {}): OutboundWorker {
  const { config, repos, log } = deps;
  const q = repos.outbound;
  const random = opts.random ?? Math.random;
  const lookupMx = cachedMxLookup(createResolver(config.dnsServers), config.allowInsecureWebhooks, deps.now);
  const helo = config.mxHost || hostname();
  const slots = createSlots(OUTBOUND_CONCURRENCY, OUTBOUND_PER_DESTINATION);
  const inflight = new Set<string>();
  const eventsInflight = new Set<string>();
  /** Rows picked per destination whose claim has not committed yet: they still read as due. */
  const unclaimed = new Map<string, number>();
  /** Events picked whose lease has not committed yet. */
  let unleasedEvents = 0;

  /**
   * A pass reads only what it could start: no recipient query while every slot is busy, no event
   * query while the event pool is full (a finished attempt or event kicks the loop), and at most
   * BATCH rows per free slot of a destination (plus the rows it picked whose claim is still
   * committing, which still read as due).
   */
  async function pass(): Promise<{ launched: Promise<Promise<void>[]>; wakeIn: number }> {
    const now = deps.now();
    const launched: Promise<void>[] = [];
    let wakeIn = POLL_MS;
    if (slots.busy < OUTBOUND_CONCURRENCY) {
      for (const d of (await q.pendingDestinations()).sort((a, b) => a.nextAt - b.nextAt)) {
        if (d.nextAt > now) {
          wakeIn = Math.min(wakeIn, d.nextAt - now);
          continue;
        }
        if (!slots.free(d.dest)) continue;
        const freeHere = Math.min(OUTBOUND_PER_DESTINATION - slots.inflightAt(d.dest), OUTBOUND_CONCURRENCY - slots.busy);
        // Never fewer rows than one send can have at a destination, so that a send's recipients
        // there are read, and go out in one transaction, together.
        const limit = Math.max(freeHere * BATCH, MAX_RECIPIENTS) + (unclaimed.get(d.dest) ?? 0);
        const read = await q.dueFor(d.dest, now, limit);
        const due = read.filter((r) => !inflight.has(r.id));
        // Up to BATCH sends per slot: one claim, one MX lookup and one finishing commit for all of
        // them, each send its own transaction over the kept connection (transfer.ts).
        const bySend = new Map<string, Recipient[]>();
        for (const r of due) bySend.set(r.sendId, [...(bySend.get(r.sendId) ?? []), r]);
        const groups = [...bySend.values()];
        // A read cut off at the limit may have cut the last send's recipients in two: that send
        // waits for the next pass, which reads it whole (its rows are at the front by then).
        if (read.length >= limit && groups.length > 1) groups.pop();
        while (groups.length > 0 && slots.free(d.dest)) {
          const share = Math.ceil(groups.length / (OUTBOUND_PER_DESTINATION - slots.inflightAt(d.dest)));
          const batch = groups.splice(0, Math.min(BATCH, Math.max(1, share))).flat();
          slots.hold(d.dest);
          for (const r of batch) inflight.add(r.id);
          unclaimed.set(d.dest, (unclaimed.get(d.dest) ?? 0) + batch.length);
          launched.push(run(d.dest, batch, now));
        }
      }
    }
    const freeEvents = EVENT_CONCURRENCY - eventsInflight.size;
    if (freeEvents > 0) {
      const nextEvent = await q.nextEventAt();
      if (nextEvent !== null) wakeIn = Math.min(wakeIn, Math.max(0, nextEvent - now));
      for (const e of await q.dueEvents(now, freeEvents + unleasedEvents)) {
        if (eventsInflight.size >= EVENT_CONCURRENCY) break;
        if (eventsInflight.has(e.id)) continue;
        eventsInflight.add(e.id);
        unleasedEvents++;
        launched.push(postEvent(e, now));
      }
    }
    return { launched: Promise.resolve(launched), wakeIn };
  }

  async function run(dest: string, group: Recipient[], now: number): Promise<void> {
    let claiming = true;
    const claimDone = () => {
      if (!claiming) return;
      claiming = false;
      const left = (unclaimed.get(dest) ?? 0) - group.length;
      if (left > 0) unclaimed.set(dest, left);
      else unclaimed.delete(dest);
    };
    try {
      const claimed = await q.claim(group.map((r) => r.id), now, now + LEASE_MS).finally(claimDone);
      if (claimed.length) await attempt(dest, claimed);
    } catch (err) {
      log.error('outbound attempt failed internally', { err, dest });
    } finally {
      claimDone();
      slots.release(dest);
      for (const r of group) inflight.delete(r.id);
      loop.kick();
    }
  }

  /** Delivers a batch of one destination: each send in its own SMTP transaction, all recorded in one commit. */
  async function attempt(dest: string, claimed: { recipient: Recipient; attemptId: number }[]): Promise<void> {
    const bySend = new Map<string, { recipient: Recipient; attemptId: number }[]>();
    for (const c of claimed) bySend.set(c.recipient.sendId, [...(bySend.get(c.recipient.sendId) ?? []), c]);
    // One MX lookup for the batch; a DNS failure decides for all of it.
    let hosts: MxHost[] = [];
    let dnsError: { message: string; permanent: boolean } | null = null;
    if (!config.smtpRelay) {
      try {
        hosts = await lookupMx(dest);
      } catch (err) {
        dnsError = { message: (err as Error).message, permanent: err instanceof PermanentDnsError };
      }
    }
    const outcomes: { send: Send | null; c: { recipient: Recipient; attemptId: number }; answer: { code: number | null; reply: string }; mx: string | null; permanent: boolean; raw: boolean }[] = [];
    for (const [sendId, rows] of bySend) {
      // Claimed above: a send just submitted is in memory, anything else is read back.
      const fresh = sendHandoff(repos).take(sendId);
      const send = fresh ? fresh.send : await repos.sends.getById(sendId);
      const raw = fresh ? fresh.raw : !send ? null : send.kind === 'forward' ? await forwardBytes(deps, send) : await repos.sends.raw(send.id);
      const addresses = rows.map((c) => c.recipient.address);
      let results: RcptResult[];
      let mxName: string | null = null;
      if (!send || !raw) {
        results = addresses.map((address) => ({ address, code: null, reply: send ? 'original message deleted' : 'send deleted' }));
      } else if (config.smtpRelay) {
        mxName = `${config.smtpRelay.host}:${config.smtpRelay.port}`;
        ({ results } = await transfer(
          { mailFrom: send.mailFrom, recipients: addresses, raw },
          { kind: 'relay', relay: config.smtpRelay, helo, verifyTls: !config.allowInsecureWebhooks },
        ));
      } else if (dnsError) {
        results = addresses.map((address) => ({ address, code: null, reply: dnsError.message }));
      } else {
        results = addresses.map((address) => ({ address, code: null, reply: 'no mail server answered' }));
        // The next MX is tried only when one could not be reached (RFC 5321 §5.1); an answer decides.
        for (const mx of hosts) {
          mxName = `${mx.host}:${config.outboundSmtpPort}`;
          const r = await transfer({ mailFrom: send.mailFrom, recipients: addresses, raw }, { kind: 'mx', mx, port: config.outboundSmtpPort, helo });
          results = r.results;
          if (r.connected) break;
        }
      }
      const byAddress = new Map(results.map((r) => [r.address, r]));
      for (const c of rows) {
        const answer = byAddress.get(c.recipient.address) ?? { code: null, reply: 'no answer' };
        outcomes.push({ send, c, answer, mx: mxName, permanent: !!dnsError?.permanent, raw: raw !== null });
      }
    }
    const at = deps.now();
    const results: OutboundResult[] = [];
    for (const { send, c, answer, mx, permanent, raw } of outcomes) {
      const d = raw
        ? decideRecipient(c.recipient, { ...answer, mx, permanent }, at, random)
        : // Nothing left to send (the send or the forwarded original is gone): failed, the address is not at fault.
          { outcome: { finishedAt: at, mx: null, code: null, reply: answer.reply, error: answer.reply, status: 'failed' as const, nextAttemptAt: null }, event: 'email.failed' as const, suppress: false };
      const smtp = { code: answer.code, reply: answer.reply, mx };
      results.push({
        recipientId: c.recipient.id,
        attemptId: c.attemptId,
        outcome: d.outcome,
        suppression: send && d.suppress ? { userId: send.userId, address: c.recipient.address, reason: 'bounce', detail: answer.reply, sendId: send.id } : null,
        event: send && d.event ? await sendEvent(deps, d.event, send, { ...c.recipient, status: d.outcome.status }, smtp, at) : null,
      });
    }
    // The outcomes, their suppressions and events in one commit.
    await repos.finishOutbound(results, at);
    log.debug('outbound attempt', { dest, recipients: outcomes.length });
  }

  async function postEvent(e: SendEvent, now: number): Promise<void> {
    let leasing = true;
    const leaseDone = () => {
      if (leasing) unleasedEvents--;
      leasing = false;
    };
    try {
      const leased = await q.leaseEvent(e.id, now, now + config.webhookTimeoutMs + 30_000).finally(leaseDone);
      if (!leased) return;
      const result = await postWebhook({ url: e.url, secret: e.secret, id: e.id, body: e.body, now: deps.now(), timeoutMs: config.webhookTimeoutMs, allowInsecure: config.allowInsecureWebhooks });
      const o = decide(result, e.attempts + 1, deps.now(), random);
      await q.finishEvent(e.id, { ...o, status: o.status });
    } catch (err) {
      log.error('send event attempt failed internally', { err, event: e.id });
    } finally {
      leaseDone();
      eventsInflight.delete(e.id);
      loop.kick(); // the pool had room for one more: a pass skipped while it was full may go now
    }
  }

  const loop = createQueueLoop({
    name: 'outbound',
    log,
    pass,
    async recover() {
      const n = await q.recoverInterrupted(deps.now(), INTERRUPTED);
      if (n > 0) log.warn('re-queued outbound attempts interrupted by a stop', { count: n });
    },
    stopWaitMs: config.webhookTimeoutMs + 1000,
  });
  return {
    ...loop,
    async stop() {
      await loop.stop();
      closeTransfers();
    },
  };
}
