import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createDeliveryWorker, type DeliveryWorker } from '../../src/deliver/worker.js';
import { seedUserAndDomain, testDeps, type TestDeps } from '../helpers/deps.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { seedDelivery, seedMessage } from './seed.js';

/**
 * Dead destinations hold every slot outside the reserve. A healthy destination that has just
 * answered may use the reserve up to its own cap: it runs 2 requests at once, not 1.
 */
describe('delivery reserve: a destination that answers is not held to one slot by dead ones', () => {
  let deps: TestDeps;
  let dead: WebhookReceiver[];
  let healthy: WebhookReceiver;
  let worker: DeliveryWorker;
  let owner: { userId: string; domainId: string };

  beforeEach(async () => {
    // Pool 8, reserve 2, cap 2: round-robin gives each destination one slot, then the dead ones
    // take what is left outside the reserve (5 slots) and the healthy one keeps 1.
    deps = testDeps({ WEBHOOK_TIMEOUT_MS: '20000', WEBHOOK_CONCURRENCY: '8', WEBHOOK_CONCURRENCY_PER_DESTINATION: '2' });
    dead = await Promise.all([startWebhookReceiver(), startWebhookReceiver(), startWebhookReceiver()]);
    for (const d of dead) d.setDefault({ hang: true });
    healthy = await startWebhookReceiver();
    healthy.setDefault({ delayMs: 150 });
    const { user, domain } = await seedUserAndDomain(deps);
    owner = { userId: user.id, domainId: domain.id };
    worker = createDeliveryWorker(deps);
  });
  afterEach(async () => {
    await Promise.all([...dead.map((d) => d.close()), healthy.close()]);
    await worker.stop();
    deps.cleanup();
  });

  const queue = async (url: string) => {
    const { message } = await seedMessage(deps, owner);
    return await seedDelivery(deps, { userId: owner.userId, messageId: message.id, url });
  };
  const open = (r: WebhookReceiver) => r.requests.filter((q) => q.closedAt === null).length;

  it('runs the healthy destination at its cap once it answered, next to dead ones filling the pool', async () => {
    for (const d of dead) for (let i = 0; i < 5; i++) await queue(d.url + '/dead');
    for (let i = 0; i < 6; i++) await queue(healthy.url + '/ok');
    worker.start();
    await vi.waitFor(() => expect(dead.reduce((n, d) => n + open(d), 0)).toBe(5), { timeout: 5000 });
    // The first healthy answer marks it as answering; from then on two of its requests overlap.
    await vi.waitFor(() => expect(healthy.requests.filter((q) => q.closedAt !== null).length).toBe(6), { timeout: 10_000 });
    // The most requests open at once, from the receiver's own open/close times (not sampled).
    const edges = healthy.requests.flatMap((q) => [
      [q.at, 1],
      [q.closedAt!, -1],
    ]);
    edges.sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!);
    let openNow = 0;
    let most = 0;
    for (const [, d] of edges) most = Math.max(most, (openNow += d!));
    expect(most).toBe(2);
  });
});
