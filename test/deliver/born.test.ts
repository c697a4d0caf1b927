import { afterEach, describe, expect, it } from 'vitest';
import type { Delivery, DeliveryAttempt } from '../../src/db/deliveries.js';
import { newWebhookSecret } from '../../src/deliver/sign.js';
import { WAIT_ROUNDS } from '../../src/deliver/born.js';
import { POLL_MS } from '../../src/queue/loop.js';
import { createDeliveryWorker, type DeliveryWorker } from '../../src/deliver/worker.js';
import { addRoute, seedUserAndDomain, testDeps, type TestDeps } from '../helpers/deps.js';
import { startSmtp, type RunningSmtp } from '../helpers/smtp.js';
import { startWebhookReceiver, type ReceivedRequest, type WebhookReceiver } from '../helpers/webhook-receiver.js';

async function until(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The most requests the receiver had open at one moment. */
function mostAtOnce(requests: ReceivedRequest[]): number {
  const edges = requests.flatMap((r) => [
    [r.at, 1],
    [r.closedAt ?? Infinity, -1],
  ]);
  edges.sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!); // a close at the same ms counts before an open
  let open = 0;
  let most = 0;
  for (const [, step] of edges) most = Math.max(most, (open += step!));
  return most;
}

describe('first attempts born leased (issue 14)', () => {
  let deps: TestDeps;
  let smtp: RunningSmtp;
  let worker: DeliveryWorker;
  let receiver: WebhookReceiver;
  let claims: string[][];
  let dueReads: number;
  let passReads: number;

  /** `kickOnStored` false: SMTP wired as main.ts wires it, without kicking the delivery worker after each message. */
  async function start(env: Record<string, string> = {}, kickOnStored = true) {
    deps = testDeps(env);
    receiver = await startWebhookReceiver();
    const { user, domain } = await seedUserAndDomain(deps, 'example.com');
    await addRoute(deps, { userId: user.id, domainId: domain.id }, { action: 'webhook', destination: receiver.url + '/in', secret: newWebhookSecret() });
    claims = [];
    dueReads = 0;
    passReads = 0;
    const q = deps.repos.deliveries as {
      claim(ids: string[], ...rest: unknown[]): Promise<unknown>;
      dueFor(...a: unknown[]): Promise<unknown>;
      pendingDestinations(): Promise<unknown>;
    };
    const claim = q.claim.bind(q);
    const dueFor = q.dueFor.bind(q);
    const pendingDestinations = q.pendingDestinations.bind(q);
    q.pendingDestinations = () => {
      passReads++; // every pass reads this first (unless the whole pool is busy)
      return pendingDestinations();
    };
    q.claim = (ids, ...rest) => {
      claims.push(ids);
      return claim(ids, ...rest);
    };
    q.dueFor = (...a) => {
      dueReads++;
      return dueFor(...a);
    };
    worker = createDeliveryWorker(deps);
    worker.start();
    smtp = await startSmtp(deps, kickOnStored ? { onStored: worker.kick } : {});
    return user;
  }

  afterEach(async () => {
    await smtp.close();
    await worker.stop();
    await receiver.close();
    await deps.cleanup();
  });

  it('the delivery is written leased with its attempt row in the message’s own commit, and posted from memory: no read, no claim', async () => {
    const user = await start();
    // What the commit left, read the moment storeInbound resolves (before anything else can run).
    const committed: { deliveries: Delivery[]; attempts: DeliveryAttempt[][] }[] = [];
    const repos = deps.repos as unknown as { storeInbound(copies: { message: { id: string } }[], now: number): Promise<Map<string, number>> };
    const storeInbound = repos.storeInbound.bind(repos);
    repos.storeInbound = async (copies, now) => {
      const attempts = await storeInbound(copies, now);
      const deliveries = await deps.repos.deliveries.forMessage(copies[0]!.message.id);
      committed.push({ deliveries, attempts: await Promise.all(deliveries.map((d) => deps.repos.deliveries.attempts(d.id))) });
      return attempts;
    };
    await smtp.transport.sendMail({ from: 'zoe@sender.test', to: 'support@example.com', subject: 'born', text: 'hi' });
    const [req] = await receiver.waitFor(1);
    const [{ deliveries: [d], attempts: [open] }] = committed as [(typeof committed)[number]];
    expect(d).toMatchObject({ userId: user.id, status: 'pending', attempts: 1 });
    expect(d!.nextAttemptAt).toBeGreaterThan(d!.createdAt);
    expect(open).toEqual([expect.objectContaining({ deliveryId: d!.id, startedAt: d!.createdAt, finishedAt: null })]);
    expect(req!.headers['webhook-id']).toBe(d!.id);
    await until(async () => (await deps.repos.deliveries.getById(d!.id))?.status === 'delivered');
    expect(await deps.repos.deliveries.attempts(d!.id)).toEqual([expect.objectContaining({ id: open![0]!.id, statusCode: 200, error: null })]);
    expect(await deps.repos.deliveries.getById(d!.id)).toMatchObject({ attempts: 1, lastStatus: 200 });
    expect(claims).toEqual([]);
    expect(dueReads).toBe(0);
  });

  it('a destination’s limit holds with first attempts in flight and waiting in memory; the rest go through the passes, each posted once', async () => {
    const cap = 2;
    const user = await start({ WEBHOOK_CONCURRENCY_PER_DESTINATION: String(cap) });
    receiver.setDefault({ delayMs: 120 });
    const n = cap + WAIT_ROUNDS * cap + 6; // in flight, waiting in memory, and some for the passes
    await Promise.all(
      Array.from({ length: n }, (_, i) => smtp.transport.sendMail({ from: 'zoe@sender.test', to: 'support@example.com', subject: `m${i}`, text: `m${i}` })),
    );
    const all = await receiver.waitFor(n, 30_000);
    expect(all).toHaveLength(n);
    await until(async () => (await deps.repos.deliveries.list({ userId: user.id, status: 'delivered', limit: 100 })).length === n);
    await new Promise((r) => setTimeout(r, 300)); // nothing posted twice after
    const ids = receiver.requests.map((r) => r.headers['webhook-id']);
    expect(new Set(ids).size).toBe(n);
    expect(ids).toHaveLength(n);
    expect(mostAtOnce(receiver.requests)).toBeLessThanOrEqual(cap);
    const claimed = claims.flat();
    expect(n - claimed.length).toBeGreaterThan(cap); // from memory: more than the limit, so some waited in line
    for (const id of ids) expect(await deps.repos.deliveries.attempts(id as string)).toHaveLength(1);
  });

  it('no pass runs for messages whose deliveries were all born leased, nor for the slots they free: the queue is read by the poll only', async () => {
    const user = await start({}, false);
    await until(async () => passReads > 0); // the pass of start()
    const n = 24;
    const from = Date.now();
    const readsBefore = passReads;
    for (let i = 0; i < n; i += 6) {
      await Promise.all(
        Array.from({ length: 6 }, (_, j) => smtp.transport.sendMail({ from: 'zoe@sender.test', to: 'support@example.com', subject: `m${i + j}`, text: `m${i + j}` })),
      );
    }
    await receiver.waitFor(n);
    await until(async () => (await deps.repos.deliveries.list({ userId: user.id, status: 'delivered', limit: 100 })).length === n);
    const elapsed = Date.now() - from;
    expect(claims).toEqual([]);
    expect(dueReads).toBe(0);
    // The loop's timer alone: at most one pass per POLL_MS (and one more for the edges); before, one per message and per freed slot.
    expect(passReads - readsBefore).toBeLessThanOrEqual(Math.ceil(elapsed / POLL_MS) + 1);
  });

  it.each([
    ['its destination', {}],
    ['the whole pool', { WEBHOOK_CONCURRENCY: '1' }],
  ])('rows left to the passes while %s is full are posted as soon as a slot frees, not at the next poll', async (_, env: Record<string, string>) => {
    const user = await start({ WEBHOOK_CONCURRENCY_PER_DESTINATION: '1', ...env }, false);
    // One message first (the first one of a run is slow), then the batch right after a poll, so
    // that the next poll is most of POLL_MS away when the passes' rows' turn comes.
    await smtp.transport.sendMail({ from: 'zoe@sender.test', to: 'support@example.com', subject: 'first', text: 'first' });
    await receiver.waitFor(1);
    const reads = passReads;
    await until(async () => passReads > reads);
    // The batch's first request is held until every message is stored (and the line and the passes' rows are decided), the rest go fast.
    receiver.setDefault((i) => ({ delayMs: i === 1 ? 300 : 10 }));
    const n = 1 + 1 + WAIT_ROUNDS + 3; // the first; in flight, waiting in memory, and three written due, for the passes
    await Promise.all(
      Array.from({ length: n - 1 }, (_, i) => smtp.transport.sendMail({ from: 'zoe@sender.test', to: 'support@example.com', subject: `m${i}`, text: `m${i}` })),
    );
    const all = await receiver.waitFor(n, 30_000);
    expect(all).toHaveLength(n);
    expect(claims.flat().length).toBeGreaterThanOrEqual(3); // those three went through the passes
    await until(async () => (await deps.repos.deliveries.list({ userId: user.id, status: 'delivered', limit: 100 })).length === n);
    // One request at a time, each the moment the one before ended: no wait for the poll (POLL_MS) in between.
    const sorted = receiver.requests.slice(1).sort((a, b) => a.at - b.at);
    const gaps = sorted.slice(1).map((r, i) => r.at - sorted[i]!.closedAt!);
    expect(Math.max(...gaps)).toBeLessThan(POLL_MS / 4);
  });
});
