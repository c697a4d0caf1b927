import { Webhook } from 'standardwebhooks';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MAX_RESPONSE_BYTES } from '../../src/deliver/post.js';
import { RETRY_SCHEDULE_MS } from '../../src/deliver/schedule.js';
import { createDeliveryWorker, INTERRUPTED, retryNow } from '../../src/deliver/worker.js';
import { fakeClock, seedUserAndDomain, testDeps, type FakeClock, type TestDeps } from '../helpers/deps.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { SECRET, seedDelivery, seedMessage } from './seed.js';

describe('delivery worker', () => {
  let clock: FakeClock;
  let deps: TestDeps;
  let receiver: WebhookReceiver;
  let owner: { userId: string; domainId: string };

  beforeEach(async () => {
    // Real time at the start, so the standardwebhooks verifier's 5-minute tolerance holds.
    clock = fakeClock(Date.now());
    deps = testDeps({ WEBHOOK_TIMEOUT_MS: '300' }, { now: clock.now });
    receiver = await startWebhookReceiver();
    const { user, domain } = await seedUserAndDomain(deps);
    owner = { userId: user.id, domainId: domain.id };
  });
  afterEach(async () => {
    await receiver.close();
    deps.cleanup();
  });

  const queue = async (url = receiver.url + '/hook', opts: { attachments?: number } = {}) => {
    const { message } = await seedMessage(deps, owner, opts);
    return await seedDelivery(deps, { userId: owner.userId, messageId: message.id, url, routeId: 'rte_test' });
  };
  const reload = async (id: string) => (await deps.repos.deliveries.getById(id))!;

  it('delivers a signed email.received event whose id is the delivery id', async () => {
    const d = await queue(undefined, { attachments: 1 });
    await createDeliveryWorker(deps).runOnce();
    const [req] = receiver.requests;
    expect(req!.headers['webhook-id']).toBe(d.id);
    const event = new Webhook(SECRET).verify(req!.body, req!.headers as Record<string, string>) as { type: string; data: { id: string } };
    expect(event.type).toBe('email.received');
    expect(event.data.id).toBe(d.messageId);
    expect(await reload(d.id)).toMatchObject({ status: 'delivered', attempts: 1, nextAttemptAt: null, lastStatus: 200 });
  });

  it('retries 500, then a timeout, then delivers on 200: three attempts on the schedule, same id and body', async () => {
    receiver.next({ status: 500, body: 'boom' }, { hang: true }, { status: 200, body: 'ok' });
    const d = await queue();
    const worker = createDeliveryWorker(deps);

    await worker.runOnce();
    const t1 = clock.now();
    let row = await reload(d.id);
    expect(row).toMatchObject({ status: 'pending', attempts: 1, lastStatus: 500 });
    expect(row.nextAttemptAt! - t1).toBeGreaterThanOrEqual(0.8 * RETRY_SCHEDULE_MS[0]!);
    expect(row.nextAttemptAt! - t1).toBeLessThanOrEqual(1.2 * RETRY_SCHEDULE_MS[0]!);

    clock.set(row.nextAttemptAt! - 1);
    await worker.runOnce();
    expect(receiver.requests).toHaveLength(1); // not due yet

    clock.set(row.nextAttemptAt!);
    await worker.runOnce();
    const t2 = clock.now();
    row = await reload(d.id);
    expect(row).toMatchObject({ status: 'pending', attempts: 2, lastStatus: null, lastError: 'timed out after 300 ms' });
    expect(row.nextAttemptAt! - t2).toBeGreaterThanOrEqual(0.8 * RETRY_SCHEDULE_MS[1]!);
    expect(row.nextAttemptAt! - t2).toBeLessThanOrEqual(1.2 * RETRY_SCHEDULE_MS[1]!);

    clock.set(row.nextAttemptAt!);
    await worker.runOnce();
    expect(await reload(d.id)).toMatchObject({ status: 'delivered', attempts: 3, nextAttemptAt: null, lastStatus: 200, lastError: null });

    const attempts = await deps.repos.deliveries.attempts(d.id);
    expect(attempts.map((a) => a.statusCode)).toEqual([500, null, 200]);
    expect(attempts.map((a) => a.error)).toEqual([null, 'timed out after 300 ms', null]);
    expect(attempts.map((a) => a.responseBody)).toEqual(['boom', '', 'ok']);
    expect(attempts.map((a) => a.startedAt)).toEqual([t1, t2, clock.now()]);
    expect(attempts.every((a) => a.finishedAt !== null && a.latencyMs !== null)).toBe(true);
    expect(new Set(receiver.requests.map((r) => r.headers['webhook-id']))).toEqual(new Set([d.id]));
    expect(new Set(receiver.requests.map((r) => r.body)).size).toBe(1);
  });

  it('stops after one attempt on 410 Gone', async () => {
    receiver.setDefault({ status: 410 });
    const d = await queue();
    const worker = createDeliveryWorker(deps);
    await worker.runOnce();
    expect(await reload(d.id)).toMatchObject({ status: 'failed', attempts: 1, nextAttemptAt: null, lastStatus: 410 });
    clock.advance(4 * 24 * 3600_000);
    await worker.runOnce();
    expect(receiver.requests).toHaveLength(1);
  });

  it('honours Retry-After on 429', async () => {
    receiver.next({ status: 429, headers: { 'retry-after': '3600' } });
    const d = await queue();
    await createDeliveryWorker(deps).runOnce();
    expect(await reload(d.id)).toMatchObject({ status: 'pending', lastStatus: 429, nextAttemptAt: clock.now() + 3600_000 });
  });

  it('does not follow a 3xx and retries it', async () => {
    const other = await startWebhookReceiver();
    receiver.next({ status: 302, headers: { location: other.url + '/moved' } });
    const d = await queue();
    await createDeliveryWorker(deps).runOnce();
    await other.close();
    expect(other.requests).toHaveLength(0);
    expect(await reload(d.id)).toMatchObject({ status: 'pending', lastStatus: 302, lastError: expect.stringMatching(/not followed/) });
  });

  it('marks the delivery failed once the schedule is spent', async () => {
    receiver.setDefault({ status: 503 });
    const d = await queue();
    const worker = createDeliveryWorker(deps);
    for (let i = 0; i <= RETRY_SCHEDULE_MS.length; i++) {
      clock.set((await reload(d.id)).nextAttemptAt!);
      await worker.runOnce();
    }
    expect(await reload(d.id)).toMatchObject({ status: 'failed', attempts: RETRY_SCHEDULE_MS.length + 1, nextAttemptAt: null });
    expect(receiver.requests).toHaveLength(RETRY_SCHEDULE_MS.length + 1);
  });

  it('cuts a receiver streaming a huge body at 1 KiB and finishes the attempt', async () => {
    receiver.next({ status: 200, streamBytes: 1024 ** 3 });
    const d = await queue();
    await createDeliveryWorker(deps).runOnce();
    const [attempt] = await deps.repos.deliveries.attempts(d.id);
    expect(attempt).toMatchObject({ statusCode: 200, error: null });
    expect(attempt!.responseBody).toHaveLength(MAX_RESPONSE_BYTES);
    expect((await reload(d.id)).status).toBe('delivered');
  });

  it('after a crash mid-attempt, start() closes the open attempt and re-sends under the same webhook-id', async () => {
    const d = await queue();
    // What the worker writes before the call; then the process "dies".
    const [claimed] = await deps.repos.deliveries.claim([d.id], clock.now(), clock.now() + 60_000);
    expect(claimed).toBeDefined();
    const worker = createDeliveryWorker(deps);
    await worker.runOnce();
    expect(receiver.requests).toHaveLength(0); // leased: only recovery makes it due again

    worker.start();
    try {
      await receiver.waitFor(1);
      expect(receiver.requests[0]!.headers['webhook-id']).toBe(d.id);
      await vi.waitFor(async () => expect((await reload(d.id)).status).toBe('delivered'));
    } finally {
      await worker.stop();
    }
    const attempts = await deps.repos.deliveries.attempts(d.id);
    expect(attempts.map((a) => [a.error, a.statusCode])).toEqual([[INTERRUPTED, null], [null, 200]]);
    expect(attempts[0]!.finishedAt).not.toBeNull();
    expect((await reload(d.id)).attempts).toBe(2);
  });

  it('kick() runs a pass at once: with the poll timer frozen, only the kick can send it', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] }); // sockets and setImmediate stay real
    const worker = createDeliveryWorker(deps);
    try {
      worker.start();
      const d = await queue();
      worker.kick();
      const [req] = await receiver.waitFor(1);
      expect(req!.headers['webhook-id']).toBe(d.id);
      await worker.stop();
    } finally {
      vi.useRealTimers();
    }
  });

  it('retryNow queues a new attempt now for a failed delivery of that user only', async () => {
    receiver.next({ status: 410 }, { status: 200 });
    const d = await queue();
    const worker = createDeliveryWorker(deps);
    await worker.runOnce();
    expect((await reload(d.id)).status).toBe('failed');

    expect(await retryNow(deps, 'usr_someoneelse', d.id)).toBeNull();
    expect((await reload(d.id)).status).toBe('failed');
    clock.advance(5000);
    expect(await retryNow(deps, owner.userId, d.id)).toMatchObject({ status: 'pending', nextAttemptAt: clock.now() });
    await worker.runOnce();
    expect(await reload(d.id)).toMatchObject({ status: 'delivered', attempts: 2 });
    expect(receiver.requests.map((r) => r.headers['webhook-id'])).toEqual([d.id, d.id]);
  });
});
