import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createDeliveryWorker, type DeliveryWorker } from '../../src/deliver/worker.js';
import { fakeClock, seedUserAndDomain, testDeps, type FakeClock, type TestDeps } from '../helpers/deps.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { seedDelivery, seedMessage } from './seed.js';

/**
 * Issue 14: a destination with a backlog takes a row or two per pass (as its slots free); on
 * SQLite the worker reads its due rows ahead instead of reading the queue on every pass, and
 * still sends them oldest first, within the cap, and only while they are due.
 */
describe('due rows read ahead', () => {
  let clock: FakeClock;
  let deps: TestDeps;
  let receiver: WebhookReceiver;
  let worker: DeliveryWorker;
  let reads: number;

  beforeEach(async () => {
    clock = fakeClock(Date.now());
    deps = testDeps({ WEBHOOK_TIMEOUT_MS: '20000', WEBHOOK_CONCURRENCY_PER_DESTINATION: '2' }, { now: clock.now });
    receiver = await startWebhookReceiver();
    receiver.setDefault({ delayMs: 30 });
    // The real queue, its reads of due rows counted.
    const q = deps.repos.deliveries as { -readonly [K in keyof typeof deps.repos.deliveries]: (typeof deps.repos.deliveries)[K] };
    const dueFor = q.dueFor.bind(q);
    reads = 0;
    q.dueFor = (...args) => {
      reads++;
      return dueFor(...args);
    };
    worker = createDeliveryWorker(deps);
  });
  afterEach(async () => {
    await worker.stop();
    await receiver.close();
    await deps.cleanup();
  });

  const queue = async (owner: { userId: string; domainId: string }, path = '/in') => {
    const { message } = await seedMessage(deps, owner);
    const d = await seedDelivery(deps, { userId: owner.userId, messageId: message.id, url: receiver.url + path });
    clock.advance(1); // a defined order: each one due after the one before
    return d;
  };

  it('reads a backlog once for many passes, oldest first, never more than the cap at once', async () => {
    const { user, domain } = await seedUserAndDomain(deps);
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push((await queue({ userId: user.id, domainId: domain.id })).id);
    worker.start();
    const got = await receiver.waitFor(12, 10_000);
    // Two slots, each freed one at a time: a read per pass would be at least six reads. On
    // PostgreSQL (other nodes claim the same rows) each pass still reads what it may take.
    if (deps.repos.engine === 'sqlite') expect(reads).toBeLessThanOrEqual(2);
    else expect(reads).toBeGreaterThanOrEqual(6);
    const order = got.map((r) => r.headers['webhook-id']);
    expect([...order].sort()).toEqual([...ids].sort());
    // Oldest first: with two requests in flight, each one starts at most one place early or late.
    ids.forEach((id, i) => expect(Math.abs(order.indexOf(id) - i)).toBeLessThanOrEqual(1));
    const edges = got.flatMap((q) => [
      [q.at, 1],
      [q.closedAt ?? Infinity, -1],
    ]);
    edges.sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!);
    let open = 0;
    let most = 0;
    for (const [, d] of edges) most = Math.max(most, (open += d!));
    expect(most).toBeLessThanOrEqual(2);
  });

  it('does not send a row read ahead that stopped being due; the rows after it still go', async () => {
    const a = await seedUserAndDomain(deps, 'a.example.com');
    const b = await seedUserAndDomain(deps, 'b.example.com');
    const ownerA = { userId: a.user.id, domainId: a.domain.id };
    const ownerB = { userId: b.user.id, domainId: b.domain.id };
    const busy = [await queue(ownerB), await queue(ownerB)];
    const ended = await queue(ownerA);
    const later = await queue(ownerB);
    receiver.next({ delayMs: 300 }, { delayMs: 300 });
    worker.start();
    // Both slots busy with the first two; on SQLite the other two were read ahead with them.
    await receiver.waitFor(2, 5000);
    expect(reads).toBe(1);
    // Domain a is deleted meanwhile: its pending delivery ends as failed, under the worker's feet.
    await deps.repos.deliveries.endForDomain(a.domain.id, null, clock.now());
    const got = await receiver.waitFor(3, 5000);
    expect(got.map((r) => r.headers['webhook-id'])).toEqual([...busy.map((d) => d.id), later.id]);
    await vi.waitFor(async () => expect((await deps.repos.deliveries.getById(later.id))!.status).toBe('delivered'));
    await new Promise((r) => setTimeout(r, 100));
    expect(receiver.requests).toHaveLength(3);
    expect(await deps.repos.deliveries.getById(ended.id)).toMatchObject({ status: 'failed', attempts: 0 });
  });
});
