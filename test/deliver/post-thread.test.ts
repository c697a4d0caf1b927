import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { postWebhook, THREAD_DIED, webhookThread, type PostInput } from '../../src/deliver/post.js';
import { createDeliveryWorker } from '../../src/deliver/worker.js';
import { fakeClock, seedUserAndDomain, testDeps, type FakeClock, type TestDeps } from '../helpers/deps.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { SECRET, seedDelivery, seedMessage } from './seed.js';

/** The webhook thread (src/deliver/post.ts): what becomes of the attempts it holds when it dies. */
describe('webhook POSTs on their thread', () => {
  let receiver: WebhookReceiver;
  beforeEach(async () => {
    receiver = await startWebhookReceiver();
  });
  afterEach(() => receiver.close());

  const input = (over: Partial<PostInput> = {}): PostInput => ({
    url: receiver.url + '/hook',
    secret: SECRET,
    id: 'dlv_thread',
    body: '{}',
    now: Date.now(),
    timeoutMs: 10_000,
    allowInsecure: true,
    ...over,
  });

  it('a thread killed mid-attempt: the attempt fails at once (not at its timeout), and the next one starts a new thread', async () => {
    receiver.next({ hang: true }, { hang: true });
    const started = Date.now();
    const first = postWebhook(input());
    const second = postWebhook(input({ id: 'dlv_thread2' }));
    await receiver.waitFor(2, 5000);
    const killed = webhookThread()!;
    expect(killed).not.toBeNull();
    await killed.terminate();
    for (const r of await Promise.all([first, second])) {
      expect(r).toMatchObject({ statusCode: null, error: THREAD_DIED, body: '', retryAfter: null });
    }
    expect(Date.now() - started).toBeLessThan(8000);
    expect(webhookThread()).toBeNull();

    receiver.next({ status: 201, body: 'again' });
    expect(await postWebhook(input())).toMatchObject({ statusCode: 201, body: 'again', error: null });
    expect(webhookThread()).not.toBe(killed);
  });

  it('moves a Buffer body that owns its memory, copies one that shares a pool: the bytes arrive exactly', async () => {
    const pooled = Buffer.from('{"pooled":true}'); // a slice of Buffer's shared 8 KiB pool
    const neighbour = Buffer.from('still here');
    const own = Buffer.from(JSON.stringify({ big: 'é'.repeat(5000) }));
    const ownCopy = Buffer.from(own);
    expect(pooled.buffer.byteLength).toBeGreaterThan(pooled.length);
    expect(own.buffer.byteLength).toBe(own.length);
    expect(await postWebhook({ ...input({ body: pooled }), moveBody: true })).toMatchObject({ statusCode: 200 });
    expect(await postWebhook({ ...input({ body: own }), moveBody: true })).toMatchObject({ statusCode: 200 });
    expect(receiver.requests.map((r) => r.raw)).toEqual([Buffer.from('{"pooled":true}'), ownCopy]);
    expect(neighbour.toString()).toBe('still here');
    expect(pooled.toString()).toBe('{"pooled":true}');
    expect(own.length).toBe(0); // moved: detached here
  });
});

describe('the delivery worker when the webhook thread dies', () => {
  let clock: FakeClock;
  let deps: TestDeps;
  let receiver: WebhookReceiver;
  beforeEach(async () => {
    clock = fakeClock(Date.now());
    deps = testDeps({ WEBHOOK_TIMEOUT_MS: '10000' }, { now: clock.now });
    receiver = await startWebhookReceiver();
  });
  afterEach(async () => {
    await receiver.close();
    await deps.cleanup();
  });

  it('records the attempt as failed and retries it on the schedule, through a new thread', async () => {
    const { user, domain } = await seedUserAndDomain(deps);
    const { message } = await seedMessage(deps, { userId: user.id, domainId: domain.id });
    const d = await seedDelivery(deps, { userId: user.id, messageId: message.id, url: receiver.url + '/hook' });
    receiver.next({ hang: true });
    const worker = createDeliveryWorker(deps);
    const run = worker.runOnce();
    await receiver.waitFor(1, 5000);
    await webhookThread()!.terminate();
    await run;
    const row = (await deps.repos.deliveries.getById(d.id))!;
    expect(row).toMatchObject({ status: 'pending', attempts: 1, lastStatus: null, lastError: THREAD_DIED });
    expect(row.nextAttemptAt).toBeGreaterThan(clock.now());
    expect((await deps.repos.deliveries.attempts(d.id)).map((a) => [a.statusCode, a.error, a.finishedAt !== null])).toEqual([[null, THREAD_DIED, true]]);

    clock.set(row.nextAttemptAt!);
    await worker.runOnce();
    expect(await deps.repos.deliveries.getById(d.id)).toMatchObject({ status: 'delivered', attempts: 2, lastStatus: 200 });
    expect(receiver.requests.map((r) => r.headers['webhook-id'])).toEqual([d.id, d.id]);
  });
});
