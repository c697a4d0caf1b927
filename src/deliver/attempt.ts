import { performance } from 'node:perf_hooks';
import type { AttemptOutcome, Delivery } from '../db/deliveries.js';
import type { MessageWithDomains } from '../db/messages.js';
import type { AttemptFinish } from '../db/repository.js';
import type { Deps } from '../deps.js';
import type { AttemptOutcomeLabel } from '../ops/metrics.js';
import { handoff } from './handoff.js';
import type { AdaptiveLimits } from './limit.js';
import { postWebhook, type AttemptResult } from './post.js';
import { buildWebhookRequest } from './request.js';
import { nextAttemptDelay } from './schedule.js';

/**
 * One webhook attempt of a leased delivery (claimed by a pass, or born leased): build the body
 * (from the hand-off, else the rows), post, record the outcome. The worker (src/deliver/worker.ts)
 * decides which attempts start and holds their slots.
 */
export type Attempt = (d: Delivery, attemptId: number, full: boolean, requestDone: () => void) => Promise<void>;

export function createAttempt(
  deps: Deps,
  opts: { limits: AdaptiveLimits; answering: Set<string>; random: () => number },
): Attempt {
  const { config, repos, log } = deps;
  const { limits, answering, random } = opts;
  // A domain's name never changes under its id: one lookup per domain, not one per attempt.
  const domainNames = new Map<string, string>();
  const domainName = async (id: string): Promise<string> => {
    let name = domainNames.get(id);
    if (name === undefined) {
      name = (await repos.domains.getById(id))?.name ?? '';
      if (name) {
        if (domainNames.size >= 10_000) domainNames.clear();
        domainNames.set(id, name);
      }
    }
    return name;
  };
  // The domain an event is for: its route's (a route never moves to another domain), or for a
  // catch-all delivery the domain whose catch-all it was. A message to several of the account's
  // domains is filed under the first; each domain's webhooks must still name their own.
  const routeDomains = new Map<string, string>();
  const eventDomainId = async (d: Delivery, message: MessageWithDomains): Promise<string> => {
    if (d.domainId) return d.domainId; // recorded when queued; below, rows of older versions
    if (d.routeId) {
      let id = routeDomains.get(d.routeId);
      if (id === undefined) {
        id = (await repos.routes.get(d.userId, d.routeId))?.domainId;
        if (id === undefined) return message.domainId; // route deleted since: the row kept no domain
        if (routeDomains.size >= 10_000) routeDomains.clear();
        routeDomains.set(d.routeId, id);
      }
      return id;
    }
    // The catch-all delivery carries its domain's signing secret (a snapshot, random per domain).
    if (message.domainIds.length > 1) {
      for (const id of message.domainIds) if ((await repos.domains.getById(id))?.webhookSecret === d.secret) return id;
    }
    return message.domainId;
  };

  /**
   * One attempt of a leased delivery (claimed, or born leased): build the body, send, record. Never throws.
   * `requestDone` frees the concurrency slot as soon as the response is in, before the commit.
   */
  async function attempt(d: Delivery, attemptId: number, full: boolean, requestDone: () => void): Promise<void> {
    let outcome: AttemptOutcome;
    try {
      const fresh = handoff(repos).take(d.messageId);
      const message = fresh?.message ?? (await repos.messages.getById(d.messageId));
      if (!message) {
        const base = { finishedAt: deps.now(), statusCode: null, latencyMs: 0, responseBody: '', error: 'message deleted' };
        outcome = { ...base, status: 'failed', nextAttemptAt: null };
      } else {
        const request = await buildWebhookRequest(
          deps,
          d,
          message,
          // Attachment rows mirror parsed.attachments one for one: none there, none to look up.
          fresh?.attachments ?? (message.parsed.attachments.length ? await repos.messages.attachments(message.id) : []),
          await domainName(await eventDomainId(d, message)),
        );
        const sentAt = performance.now();
        const result = await postWebhook({
          url: d.url,
          secret: d.secret,
          id: d.id,
          body: request.body,
          contentType: request.contentType,
          headers: request.headers,
          now: deps.now(),
          timeoutMs: config.webhookTimeoutMs,
          allowInsecure: config.allowInsecureWebhooks,
        });
        limits.observe(d.dest, { sentAt, full, statusCode: result.statusCode, latencyMs: result.latencyMs });
        requestDone();
        if (result.detail) log.warn('webhook destination refused', { delivery: d.id, url: d.url, detail: result.detail });
        deps.metrics.attemptSeconds.observe({ kind: 'webhook' }, result.latencyMs / 1000);
        if (result.statusCode !== null) answering.add(d.dest);
        else answering.delete(d.dest);
        outcome = decide(result, d.attempts, deps.now(), random);
      }
    } catch (err) {
      // Our own failure (a bug, the database): the delivery stays on its schedule, not lost.
      log.error('webhook attempt failed internally', { err, delivery: d.id });
      const r: AttemptResult = { statusCode: null, latencyMs: 0, body: '', error: 'internal error', retryAfter: null, detail: null };
      outcome = decide(r, d.attempts, deps.now(), random);
    }
    deps.metrics.attempts.inc({ kind: 'webhook', outcome: outcomeLabel(outcome) });
    try {
      // Attempts ending in the same turn share one write (and one commit, one fsync).
      await finish({ deliveryId: d.id, attemptId, outcome });
      log.debug('webhook attempt', { delivery: d.id, status: outcome.statusCode, error: outcome.error, next: outcome.status });
    } catch (err) {
      // The attempt row stays open; start() after a restart re-sends it, under the same id.
      log.error('could not record webhook attempt', { err, delivery: d.id });
    }
  }

  // Attempts ending in the same turn of the event loop are recorded together: one use case, one
  // savepoint of the group commit (one transaction on PostgreSQL) instead of one each.
  let finishing: { finish: AttemptFinish; resolve(done: boolean): void; reject(err: unknown): void }[] = [];
  const recordFinishes = () => {
    const batch = finishing;
    finishing = [];
    repos.finishAttempts(batch.map((b) => b.finish)).then(
      (done) => batch.forEach((b, i) => b.resolve(done[i] ?? false)),
      (err: unknown) => batch.forEach((b) => b.reject(err)),
    );
  };
  const finish = (finish: AttemptFinish) =>
    new Promise<boolean>((resolve, reject) => {
      if (finishing.push({ finish, resolve, reject }) === 1) setImmediate(recordFinishes);
    });

  return attempt;
}

const outcomeLabel = (o: AttemptOutcome): AttemptOutcomeLabel => (o.status === 'pending' ? 'retry' : o.status);

/**
 * What becomes of a delivery after an attempt: 2xx delivered (the status decides, even if the
 * body then stalled), 410 stops, anything else follows the schedule until it is spent.
 */
export function decide(r: AttemptResult, attemptsMade: number, now: number, random: () => number = Math.random): AttemptOutcome {
  const base = { finishedAt: now, statusCode: r.statusCode, latencyMs: r.latencyMs, responseBody: r.body, error: r.error };
  if (r.statusCode !== null && r.statusCode >= 200 && r.statusCode < 300) {
    return { ...base, status: 'delivered', nextAttemptAt: null };
  }
  if (r.statusCode === 410) return { ...base, error: r.error ?? '410 Gone: the receiver asked to stop', status: 'failed', nextAttemptAt: null };
  const delay = nextAttemptDelay(attemptsMade, r.retryAfter, random, now);
  return delay === null ? { ...base, status: 'failed', nextAttemptAt: null } : { ...base, status: 'pending', nextAttemptAt: now + delay };
}
