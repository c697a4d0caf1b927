import { hostname } from 'node:os';
import type { EventFinish, SendEvent } from '../db/outbound-queue.js';
import type { OutboundResult } from '../db/repository.js';
import type { Recipient, Send } from '../db/sends.js';
import { decide } from '../deliver/attempt.js';
import { postWebhook } from '../deliver/post.js';
import type { Deps } from '../deps.js';
import type { SendStatusLabel } from '../ops/metrics.js';
import { createResolver } from '../dns/resolver.js';
import { createQueueLoop, POLL_MS, type QueueLoop } from '../queue/loop.js';
import { createSlots } from '../queue/slots.js';
import { sendEvent } from './events.js';
import { verpAddress } from './envelope.js';
import { forwardBytes } from './forward.js';
import { sendHandoff } from './handoff.js';
import { cachedMxLookup, PermanentDnsError, type MxHost } from './mx.js';
import { decideRecipient } from './outcome.js';
import { MAX_RECIPIENTS } from './request.js';
import { closeTransfers, transfer, TRANSACTION_MS, type RcptResult, type Transfer } from './transfer.js';

/**
 * The durable outbound queue (DESIGN §9). send_recipients is the queue: a recipient is due while
 * next_attempt_at is set and has passed. Due recipients of one send and one destination (their
 * domain, or the relay) go in one SMTP transaction over one connection. Each attempt row is
 * committed before connecting and finished after; a crash leaves it open, and start() makes
 * those recipients due again (at least once: a message in flight at the crash may arrive twice).
 * The events the outcomes produce are a second, small queue of signed webhooks. An event the
 * event pool has room for when its outcome is recorded is written already leased to this worker
 * and posted from memory right after that commit (issue 12): no pass reads it back and no
 * separate lease is committed; the rest, and retries, are read and leased by the passes. Either
 * way the event row is durable before its first post, and it is due again if a post never ends.
 */
/** runOnce() runs one pass of both queues, the recipients' and the events'. */
export type OutboundWorker = QueueLoop;

export const OUTBOUND_CONCURRENCY = 32;
/** Connections at once to one destination: receivers throttle senders that open many. */
export const OUTBOUND_PER_DESTINATION = 4;
/**
 * The last quarter of the pool is kept for destinations with nothing in flight, as for webhooks
 * (DESIGN §6): servers that never finish an answer (one byte a minute) hold their slots until
 * the attempt's deadline, and one account sending to a handful of such domains must not stop
 * every other account's mail. A destination whose last attempt got its answers may use the
 * reserve too, up to its cap.
 */
const RESERVE = Math.floor(OUTBOUND_CONCURRENCY / 4);
const EVENT_CONCURRENCY = 16;
/**
 * Events handed over in memory beyond the pool wait for a place in it, at most this many; the
 * rest are left to the passes. Their lease covers the wait: every post ends within
 * WEBHOOK_TIMEOUT_MS, so the last of them starts within EVENT_WAITING / EVENT_CONCURRENCY of those.
 */
const EVENT_WAITING = 4 * EVENT_CONCURRENCY;
/** Sends one slot takes at a time. */
export const BATCH = 20;
/**
 * The lease outlasts an attempt: all its transactions end by TRANSACTION_MS after it starts
 * (transfer.ts), however slowly a server answers.
 */
const LEASE_MS = 10 * 60_000;
const INTERRUPTED = 'interrupted (process stopped)';

export function createOutboundWorker(deps: Deps, opts: { random?: () => number; attemptMs?: number } = {}): OutboundWorker {
  const { config, repos, log } = deps;
  const q = repos.outbound;
  const random = opts.random ?? Math.random;
  const attemptMs = Math.min(opts.attemptMs ?? TRANSACTION_MS, LEASE_MS - 60_000);
  const lookupMx = cachedMxLookup(createResolver(config.dnsServers), config.allowInsecureWebhooks, deps.now);
  const helo = config.mxHost || hostname();
  const slots = createSlots(OUTBOUND_CONCURRENCY, OUTBOUND_PER_DESTINATION);
  /** Destinations whose last attempt got an SMTP answer (any code) for some recipient. */
  const answering = new Set<string>();
  const mayStart = (dest: string) =>
    slots.free(dest) && (slots.inflightAt(dest) === 0 || answering.has(dest) || OUTBOUND_CONCURRENCY - slots.busy > RESERVE);
  const inflight = new Set<string>();
  /** Events held by this worker: posting, or handed over and waiting for a place in the pool. */
  const eventsInflight = new Set<string>();
  let posting = 0;
  const waiting: (() => void)[] = [];
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
        if (!mayStart(d.dest)) continue;
        const freeHere = Math.min(OUTBOUND_PER_DESTINATION - slots.inflightAt(d.dest), OUTBOUND_CONCURRENCY - slots.busy);
        // Never fewer rows than one send can have at a destination, so that a send's recipients
        // there are read, and go out in one batch (one claim, one finishing commit), together.
        const limit = Math.max(freeHere * BATCH, MAX_RECIPIENTS) + (unclaimed.get(d.dest) ?? 0);
        const read = await q.dueFor(d.dest, now, limit);
        const due = read.filter((r) => !inflight.has(r.id));
        // Up to BATCH sends per slot: one claim, one MX lookup and one finishing commit for all of
        // them, each recipient its own transaction over the kept connection (transfer.ts).
        const bySend = new Map<string, Recipient[]>();
        for (const r of due) bySend.set(r.sendId, [...(bySend.get(r.sendId) ?? []), r]);
        const groups = [...bySend.values()];
        // A read cut off at the limit may have cut the last send's recipients in two: that send
        // waits for the next pass, which reads it whole (its rows are at the front by then).
        if (read.length >= limit && groups.length > 1) groups.pop();
        while (groups.length > 0 && mayStart(d.dest)) {
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
      // Nothing due (the events in flight are leased into the future): no read.
      const due = nextEvent !== null && nextEvent <= now ? await q.dueEvents(now, freeEvents + unleasedEvents) : [];
      for (const e of due) {
        if (eventsInflight.size >= EVENT_CONCURRENCY) break;
        if (eventsInflight.has(e.id)) continue;
        eventsInflight.add(e.id);
        unleasedEvents++;
        posting++;
        launched.push(postEvent(e, now, false));
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
    let posts: Promise<void>[] = [];
    try {
      const claimed = await q.claim(group.map((r) => r.id), now, now + LEASE_MS).finally(claimDone);
      if (claimed.length) posts = await attempt(dest, claimed);
    } catch (err) {
      log.error('outbound attempt failed internally', { err, dest });
    } finally {
      claimDone();
      slots.release(dest);
      for (const r of group) inflight.delete(r.id);
      loop.kick();
    }
    // The slot is free already; the loop (stop, runOnce) still waits for the events' posts.
    await Promise.all(posts);
  }

  /**
   * Delivers a batch of one destination: each recipient in its own SMTP transaction (its own
   * VERP address), all recorded in one commit. Returns the posts of the events handed over in memory.
   */
  async function attempt(dest: string, claimed: { recipient: Recipient; attemptId: number }[]): Promise<Promise<void>[]> {
    const bySend = new Map<string, { recipient: Recipient; attemptId: number }[]>();
    for (const c of claimed) bySend.set(c.recipient.sendId, [...(bySend.get(c.recipient.sendId) ?? []), c]);
    // Real time, as the sockets' timers are: every transaction of the attempt ends by then.
    const deadline = Date.now() + attemptMs;
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
    const toRelay = async (t: Transfer) => {
      const { results } = await transfer(t, { kind: 'relay', relay: config.smtpRelay!, helo, verifyTls: !config.allowInsecureWebhooks }, deadline);
      return { results, mxName: `${config.smtpRelay!.host}:${config.smtpRelay!.port}` };
    };
    // The next MX is tried only when one could not be reached (RFC 5321 §5.1); an answer decides.
    // The batch's later transactions start at the host that answered and skip the unreachable ones.
    const unreachable = new Set<MxHost>();
    let reached: MxHost | null = null;
    const toMx = async (t: Transfer) => {
      let results: RcptResult[] = t.recipients.map((address) => ({ address, code: null, reply: 'no mail server answered' }));
      let mxName: string | null = null;
      for (const mx of reached ? [reached, ...hosts.filter((h) => h !== reached)] : hosts) {
        if (unreachable.has(mx)) continue;
        mxName = `${mx.host}:${config.outboundSmtpPort}`;
        const r = await transfer(t, { kind: 'mx', mx, port: config.outboundSmtpPort, helo }, deadline);
        results = r.results;
        if (r.connected) {
          reached = mx;
          break;
        }
        unreachable.add(mx);
      }
      return { results, mxName };
    };
    const outcomes: {
      send: Send | null;
      c: { recipient: Recipient; attemptId: number };
      answer: { code: number | null; reply: string };
      mx: string | null;
      permanent: boolean;
      raw: boolean;
      seconds: number | null;
    }[] = [];
    for (const [sendId, rows] of bySend) {
      // Claimed above: a send just submitted is in memory, anything else is read back.
      const fresh = sendHandoff(repos).take(sendId);
      const send = fresh ? fresh.send : await repos.sends.getById(sendId);
      const raw = fresh ? fresh.raw : !send ? null : send.kind === 'forward' ? await forwardBytes(deps, send) : await repos.sends.raw(send.id);
      const addresses = rows.map((c) => c.recipient.address);
      let results: RcptResult[];
      /** The server each recipient's transaction last tried (null: none was tried). */
      const mxOf = new Map<string, string | null>();
      /** How long each recipient's transaction took, seconds (none when no transaction was tried). */
      const secondsOf = new Map<string, number>();
      if (!send || !raw) {
        results = addresses.map((address) => ({ address, code: null, reply: send ? 'original message deleted' : 'send deleted' }));
      } else if (dnsError) {
        results = addresses.map((address) => ({ address, code: null, reply: dnsError.message }));
      } else {
        // One transaction per recipient, each with its own VERP address (envelope.ts), one after
        // the other on the connection kept for the server (transfer.ts).
        results = [];
        for (const address of addresses) {
          const t = { mailFrom: verpAddress(config.secret, send.mailFrom, address), recipients: [address], raw };
          const started = performance.now();
          const r = config.smtpRelay ? await toRelay(t) : await toMx(t);
          secondsOf.set(address, (performance.now() - started) / 1000);
          results.push(...r.results);
          mxOf.set(address, r.mxName);
        }
      }
      const byAddress = new Map(results.map((r) => [r.address, r]));
      for (const c of rows) {
        const answer = byAddress.get(c.recipient.address) ?? { code: null, reply: 'no answer' };
        outcomes.push({ send, c, answer, mx: mxOf.get(c.recipient.address) ?? null, permanent: !!dnsError?.permanent, raw: raw !== null, seconds: secondsOf.get(c.recipient.address) ?? null });
      }
    }
    if (outcomes.some((o) => o.answer.code !== null)) {
      if (answering.size >= 10_000) answering.clear();
      answering.add(dest);
    } else answering.delete(dest);
    const at = deps.now();
    const results: OutboundResult[] = [];
    const leaseUntil = at + (1 + EVENT_WAITING / EVENT_CONCURRENCY) * config.webhookTimeoutMs + 30_000;
    for (const { send, c, answer, mx, permanent, raw } of outcomes) {
      const d = raw
        ? decideRecipient(c.recipient, { ...answer, mx, permanent }, at, random)
        : // Nothing left to send (the send or the forwarded original is gone): failed, the address is not at fault.
          { outcome: { finishedAt: at, mx: null, code: null, reply: answer.reply, error: answer.reply, status: 'failed' as const, nextAttemptAt: null }, event: 'email.failed' as const, suppress: false };
      const smtp = { code: answer.code, reply: answer.reply, mx };
      const event = send && d.event ? await sendEvent(deps, d.event, send, { ...c.recipient, status: d.outcome.status }, smtp, at) : null;
      // A place in the event pool, held from now: the event is written leased and posted from memory.
      if (event && eventsInflight.size < EVENT_CONCURRENCY + EVENT_WAITING) {
        event.leaseUntil = leaseUntil;
        eventsInflight.add(event.id);
      }
      results.push({
        recipientId: c.recipient.id,
        attemptId: c.attemptId,
        outcome: d.outcome,
        suppression: send && d.suppress ? { userId: send.userId, address: c.recipient.address, reason: 'bounce', detail: answer.reply, sendId: send.id } : null,
        event,
      });
    }
    const handed = results.map((r) => (r.event?.leaseUntil !== undefined ? r.event : null));
    let recorded: boolean[] = [];
    try {
      // The outcomes, their suppressions and events in one commit.
      recorded = await repos.finishOutbound(results, at);
    } finally {
      // Places held for events that were not written (a stale outcome, a failed commit) are given back.
      handed.forEach((e, i) => e && !recorded[i] && eventsInflight.delete(e.id));
    }
    // Counted once recorded: a stale outcome (another worker took the lease over) changed nothing.
    results.forEach((r, i) => {
      if (!recorded[i]) return;
      const status = r.outcome.status as SendStatusLabel;
      deps.metrics.sendRecipients.inc({ status });
      deps.metrics.attempts.inc({ kind: 'send', outcome: status === 'sent' ? 'delivered' : status === 'deferred' ? 'retry' : 'failed' });
      const seconds = outcomes[i]!.seconds;
      if (seconds !== null) deps.metrics.attemptSeconds.observe({ kind: 'send' }, seconds);
    });
    log.debug('outbound attempt', { dest, recipients: outcomes.length });
    // Durable now: the first post of each event held above, without reading it back.
    return handed.flatMap((e, i) => (e && recorded[i] ? [placeInPool().then(() => postEvent({ ...e, attempts: 0 }, at, true))] : []));
  }

  /** Resolves with a place in the pool taken for one post (handed-over events wait in line for one). */
  function placeInPool(): Promise<void> {
    if (posting < EVENT_CONCURRENCY && waiting.length === 0) {
      posting++;
      return Promise.resolve();
    }
    return new Promise((resolve) => waiting.push(resolve));
  }

  /** One attempt at an event: `leased` when its row was written leased (the hand-off), else leased here first. */
  async function postEvent(e: SendEvent, now: number, leased: boolean): Promise<void> {
    let leasing = !leased;
    const leaseDone = () => {
      if (leasing) unleasedEvents--;
      leasing = false;
    };
    try {
      if (!leased && !(await q.leaseEvent(e.id, now, now + config.webhookTimeoutMs + 30_000).finally(leaseDone))) return;
      const result = await postWebhook({ url: e.url, secret: e.secret, id: e.id, body: e.body, now: deps.now(), timeoutMs: config.webhookTimeoutMs, allowInsecure: config.allowInsecureWebhooks });
      const o = decide(result, e.attempts + 1, deps.now(), random);
      deps.metrics.attempts.inc({ kind: 'send_event', outcome: o.status === 'pending' ? 'retry' : o.status });
      deps.metrics.attemptSeconds.observe({ kind: 'send_event' }, result.latencyMs / 1000);
      await finishEvent({ id: e.id, finishedAt: o.finishedAt, statusCode: o.statusCode, error: o.error, status: o.status, nextAttemptAt: o.nextAttemptAt });
    } catch (err) {
      log.error('send event attempt failed internally', { err, event: e.id });
    } finally {
      leaseDone();
      eventsInflight.delete(e.id);
      // The place in the pool goes to the next event waiting in memory, else back to the passes.
      const next = waiting.shift();
      if (next) next();
      else posting--;
      loop.kick(); // the pool had room for one more: a pass skipped while it was full may go now
    }
  }

  // Events ending in the same turn of the event loop are recorded together: one write of the
  // group commit (one statement on PostgreSQL) instead of one each.
  let finishing: { f: EventFinish; resolve(): void; reject(err: unknown): void }[] = [];
  const recordFinishes = () => {
    const batch = finishing;
    finishing = [];
    q.finishEvents(batch.map((b) => b.f)).then(
      () => batch.forEach((b) => b.resolve()),
      (err: unknown) => batch.forEach((b) => b.reject(err)),
    );
  };
  const finishEvent = (f: EventFinish) =>
    new Promise<void>((resolve, reject) => {
      if (finishing.push({ f, resolve, reject }) === 1) setImmediate(recordFinishes);
    });

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
