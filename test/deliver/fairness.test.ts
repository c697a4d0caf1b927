import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createDeliveryWorker, type DeliveryWorker } from '../../src/deliver/worker.js';
import { fakeClock, seedUserAndDomain, testDeps, type FakeClock, type TestDeps } from '../helpers/deps.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { seedDelivery, seedMessage } from './seed.js';

describe('delivery fairness: a slow destination never delays another', () => {
  let clock: FakeClock;
  let deps: TestDeps;
  let slowA: WebhookReceiver;
  let slowB: WebhookReceiver;
  let healthy: WebhookReceiver;
  let worker: DeliveryWorker;
  let owner: { userId: string; domainId: string };

  beforeEach(async () => {
    clock = fakeClock(Date.now());
    // Long timeout: the slow receivers keep their requests open for the whole test.
    deps = testDeps(
      { WEBHOOK_TIMEOUT_MS: '20000', WEBHOOK_CONCURRENCY: '4', WEBHOOK_CONCURRENCY_PER_DESTINATION: '2' },
      { now: clock.now },
    );
    [slowA, slowB, healthy] = await Promise.all([startWebhookReceiver(), startWebhookReceiver(), startWebhookReceiver()]);
    slowA.setDefault({ hang: true });
    slowB.setDefault({ hang: true });
    const { user, domain } = await seedUserAndDomain(deps);
    owner = { userId: user.id, domainId: domain.id };
    worker = createDeliveryWorker(deps);
  });
  afterEach(async () => {
    // Closing the hanging receivers ends the attempts in flight, so stop() returns at once.
    await Promise.all([slowA.close(), slowB.close(), healthy.close()]);
    await worker.stop();
    await deps.cleanup();
  });

  const queue = async (url: string) => {
    const { message } = await seedMessage(deps, owner);
    return await seedDelivery(deps, { userId: owner.userId, messageId: message.id, url });
  };
  const stillHanging = (r: WebhookReceiver) => r.requests.filter((q) => q.closedAt === null).length;

  it('serves a healthy destination queued behind two dead ones with a backlog each', async () => {
    for (let i = 0; i < 10; i++) await queue(slowA.url + '/a');
    for (let i = 0; i < 10; i++) await queue(slowB.url + '/b');
    clock.advance(1000); // the healthy delivery is the newest: oldest-first alone would starve it
    const first = await queue(healthy.url + '/ok');
    worker.start();

    const [req] = await healthy.waitFor(1);
    expect(req!.headers['webhook-id']).toBe(first.id);
    // Round-robin: every destination got a slot in the same pass; the dead ones still hang. Their
    // requests may reach their servers after the healthy one (PostgreSQL's claims are async): wait.
    await vi.waitFor(() => expect(stillHanging(slowA)).toBeGreaterThanOrEqual(1));
    await vi.waitFor(() => expect(stillHanging(slowB)).toBeGreaterThanOrEqual(1));

    // The healthy attempt's slot went to a dead destination: they now hold every slot they
    // may take (3 of 4; the last is kept for destinations with nothing in flight).
    await vi.waitFor(() => expect(slowA.requests.length + slowB.requests.length).toBe(3));
    const second = await queue(healthy.url + '/ok');
    worker.kick();
    const reqs = await healthy.waitFor(2);
    expect(reqs[1]!.headers['webhook-id']).toBe(second.id);
    expect(slowA.requests.length + slowB.requests.length).toBe(3);
    expect(stillHanging(slowA) + stillHanging(slowB)).toBe(3);
    expect(Math.max(slowA.requests.length, slowB.requests.length)).toBe(2); // the per-destination cap
  });
});

describe('a full pool (issue #12)', () => {
  it('no queue query while every slot is busy; a freed slot starts what waits', async () => {
    const clock = fakeClock(Date.now());
    const deps = testDeps({ WEBHOOK_TIMEOUT_MS: '20000', WEBHOOK_CONCURRENCY: '2', WEBHOOK_CONCURRENCY_PER_DESTINATION: '2' }, { now: clock.now });
    const slow = await startWebhookReceiver();
    slow.setDefault({ delayMs: 300 });
    const { user, domain } = await seedUserAndDomain(deps);
    for (let i = 0; i < 3; i++) {
      const { message } = await seedMessage(deps, { userId: user.id, domainId: domain.id });
      await seedDelivery(deps, { userId: user.id, messageId: message.id, url: slow.url + '/s' });
    }
    // The real queue, its reads counted.
    const q = deps.repos.deliveries as { -readonly [K in keyof typeof deps.repos.deliveries]: (typeof deps.repos.deliveries)[K] };
    const pending = q.pendingDestinations.bind(q);
    let reads = 0;
    q.pendingDestinations = () => {
      reads++;
      return pending();
    };
    const worker = createDeliveryWorker(deps);
    worker.start();
    try {
      await slow.waitFor(2); // both slots busy, the third delivery due and waiting
      await new Promise((r) => setTimeout(r, 20));
      const readsWhenFull = reads;
      for (let i = 0; i < 20; i++) {
        worker.kick();
        await new Promise((r) => setImmediate(r));
      }
      expect(reads - readsWhenFull).toBe(0);
      await slow.waitFor(3, 3000);
    } finally {
      await slow.close();
      await worker.stop();
      await deps.cleanup();
    }
  });
});
