import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fakeClock, seedUserAndDomain, testDeps, type FakeClock, type TestDeps } from '../helpers/deps.js';
import { destinationOf } from '../../src/db/deliveries.js';
import { seedDelivery, seedMessage } from '../deliver/seed.js';

// Issue 14: a claim is two statements whatever its size (lease, attempt rows), not two per delivery.
describe('claiming deliveries in one batch', () => {
  let deps: TestDeps;
  let clock: FakeClock;
  beforeEach(() => {
    clock = fakeClock(1_800_000_000_000);
    deps = testDeps({}, { now: clock.now });
  });
  afterEach(() => deps.cleanup());

  it('leases the due ones in the order asked, one open attempt each, and skips the rest', async () => {
    const { user, domain } = await seedUserAndDomain(deps);
    const owner = { userId: user.id, domainId: domain.id };
    const queue = async () => seedDelivery(deps, { userId: user.id, messageId: (await seedMessage(deps, owner)).message.id, url: 'https://hooks.example.com/in' });
    const [a, b, c, d] = [await queue(), await queue(), await queue(), await queue()];
    const now = clock.now();
    // b is already leased (in flight), d is delivered: neither may be claimed again.
    await deps.repos.deliveries.claim([b!.id], now, now + 60_000);
    deps.db!.prepare("UPDATE deliveries SET status = 'delivered', next_attempt_at = NULL WHERE id = ?").run(d!.id);

    const claimed = await deps.repos.deliveries.claim([c!.id, b!.id, 'dlv_missing', d!.id, a!.id], now, now + 40_000);
    expect(claimed.map((x) => x.delivery.id)).toEqual([c!.id, a!.id]);
    for (const x of claimed) {
      expect(x.delivery).toMatchObject({ attempts: 1, nextAttemptAt: now + 40_000, status: 'pending' });
      const attempts = await deps.repos.deliveries.attempts(x.delivery.id);
      expect(attempts).toEqual([expect.objectContaining({ id: x.attemptId, startedAt: now, finishedAt: null })]);
    }
    expect(await deps.repos.deliveries.attempts(b!.id)).toHaveLength(1);
    expect(await deps.repos.deliveries.attempts(d!.id)).toHaveLength(0);
    expect(await deps.repos.deliveries.claim([b!.id, d!.id], now, now + 40_000)).toEqual([]);
  });

  it('given the rows it read, returns them as the lease left them, without reading them back', async () => {
    const { user, domain } = await seedUserAndDomain(deps);
    const owner = { userId: user.id, domainId: domain.id };
    const queue = async () => seedDelivery(deps, { userId: user.id, messageId: (await seedMessage(deps, owner)).message.id, url: 'https://hooks.example.com/in' });
    const [a, b, c] = [await queue(), await queue(), await queue()];
    // a's first attempt got a 500 and it is due again; c is delivered: not claimed.
    const now = clock.now();
    const [first] = await deps.repos.deliveries.claim([a!.id], now, now + 40_000);
    await deps.repos.deliveries.finish(a!.id, first!.attemptId, { finishedAt: now, statusCode: 500, latencyMs: 3, responseBody: 'no', error: null, status: 'pending', nextAttemptAt: now });
    deps.db!.prepare("UPDATE deliveries SET status = 'delivered', next_attempt_at = NULL WHERE id = ?").run(c!.id);
    clock.advance(10);
    const read = await deps.repos.deliveries.dueFor(destinationOf(a!.url), clock.now(), 10);
    expect(read.map((d) => d.id)).toEqual([a!.id, b!.id]);
    const claimed = await deps.repos.deliveries.claim([b!.id, a!.id, c!.id], clock.now(), clock.now() + 40_000, new Map([...read, c!].map((d) => [d.id, d])));
    expect(claimed.map((x) => x.delivery.id)).toEqual([b!.id, a!.id]);
    // Exactly the rows as stored now: the lease's changes merged into what was read.
    for (const x of claimed) expect(x.delivery).toEqual(await deps.repos.deliveries.getById(x.delivery.id));
    expect(claimed[1]!.delivery).toMatchObject({ attempts: 2, lastStatus: 500, nextAttemptAt: clock.now() + 40_000 });
    expect((await deps.repos.deliveries.attempts(a!.id)).map((t) => t.finishedAt)).toEqual([now, null]);
  });
});
