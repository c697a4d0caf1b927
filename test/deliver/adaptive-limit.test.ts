import { afterEach, describe, expect, it } from 'vitest';
import { createDeliveryWorker, type DeliveryWorker } from '../../src/deliver/worker.js';
import { fakeClock, seedUserAndDomain, testDeps, type TestDeps } from '../helpers/deps.js';
import { startWebhookReceiver, type Behaviour, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { seedDelivery, seedMessage } from './seed.js';

/**
 * The per-destination limit adapts (src/deliver/limit.ts): a fast app with a backlog gets more
 * than the starting 8 at once, never more than WEBHOOK_CONCURRENCY_PER_DESTINATION; an app
 * answering 503s or timing out, or one that queues our requests, gets fewer.
 */
describe('adaptive per-destination concurrency', () => {
  let deps: TestDeps;
  let receiver: WebhookReceiver;
  let worker: DeliveryWorker;

  afterEach(async () => {
    await receiver.close();
    await worker.stop();
    await deps.cleanup();
  });

  /**
   * A receiver counting its own open requests; `inflight[i]` is the count when request i arrived
   * (itself included), `done()` resolves once `n` requests were answered.
   */
  async function setUp(env: Record<string, string>, n: number, behave: (inflight: number, index: number) => Behaviour) {
    deps = testDeps({ WEBHOOK_TIMEOUT_MS: '20000', ...env }, { now: fakeClock(Date.now()).now });
    receiver = await startWebhookReceiver();
    const inflight: number[] = [];
    let open = 0;
    let closed = 0;
    let onDone = () => {};
    const done = new Promise<void>((resolve) => (onDone = resolve));
    receiver.setDefault((_i, req) => {
      inflight.push(++open);
      void req.closed.then(() => {
        open--;
        if (++closed === n) onDone();
      });
      return behave(open, inflight.length - 1);
    });
    const { user, domain } = await seedUserAndDomain(deps);
    const { message } = await seedMessage(deps, { userId: user.id, domainId: domain.id });
    for (let i = 0; i < n; i++) await seedDelivery(deps, { userId: user.id, messageId: message.id, url: `${receiver.url}/hook?n=${i}` });
    worker = createDeliveryWorker(deps);
    worker.start();
    return { inflight, done };
  }

  it('grows above 8 for a fast receiver with a backlog, up to the default ceiling of 32', async () => {
    const { inflight, done } = await setUp({}, 400, () => ({ delayMs: 50 }));
    await done;
    expect(Math.max(...inflight)).toBeGreaterThan(8);
    expect(Math.max(...inflight)).toBeLessThanOrEqual(32);
  });

  it('never goes above a ceiling the operator set (12), and reaches it', async () => {
    const { inflight, done } = await setUp({ WEBHOOK_CONCURRENCY_PER_DESTINATION: '12' }, 400, () => ({ delayMs: 50 }));
    await done;
    expect(Math.max(...inflight)).toBe(12);
  });

  it('never goes above a ceiling below the start (4)', async () => {
    const { inflight, done } = await setUp({ WEBHOOK_CONCURRENCY_PER_DESTINATION: '4' }, 100, () => ({ delayMs: 50 }));
    await done;
    expect(Math.max(...inflight)).toBe(4);
  });

  it('halves on 503s: after the first rounds at most 2 requests at once', async () => {
    // The first round's answers come late, so that all of it is in flight before any: at 50 ms, on
    // PostgreSQL under CI's load, answers came back while the round's later requests were still
    // being claimed (4 at most in flight once).
    const { inflight, done } = await setUp({}, 60, (_open, i) => ({ status: 503, delayMs: i < 8 ? 300 : 50 }));
    await done;
    // The first round at (about: on PostgreSQL the claims of one round may straddle an answer) the starting 8.
    expect(Math.max(...inflight.slice(0, 8))).toBeGreaterThan(4);
    expect(Math.max(...inflight.slice(20))).toBeLessThanOrEqual(2);
  });

  it('halves on 429s too', async () => {
    const { inflight, done } = await setUp({}, 60, () => ({ status: 429, delayMs: 50 }));
    await done;
    expect(Math.max(...inflight.slice(20))).toBeLessThanOrEqual(2);
  });

  it('halves on timeouts', async () => {
    const { inflight, done } = await setUp({ WEBHOOK_TIMEOUT_MS: '200' }, 40, () => ({ hang: true }));
    await done;
    expect(Math.max(...inflight.slice(0, 8))).toBeGreaterThan(4);
    expect(Math.max(...inflight.slice(20))).toBeLessThanOrEqual(2);
  });

  it('does not climb for a receiver that queues our requests (latency ≈ in flight × 80 ms)', async () => {
    let busyUntil = 0;
    const { inflight, done } = await setUp({}, 80, () => {
      // One request at a time, 80 ms each: the n-th open request waits for the n - 1 before it.
      // The baseline is the first answer's latency (later ones all queue), and on a loaded machine
      // that first one also pays the connection and a slow start: 87 ms where 40 were due was seen.
      // At 80 ms a request, any baseline up to 170 ms still puts 7 in flight (560 ms) past
      // "queueing" (3 × baseline + 50 ms), so the limit must come down to 6 or below.
      busyUntil = Math.max(Date.now(), busyUntil) + 80;
      return { delayMs: busyUntil - Date.now() };
    });
    await done;
    expect(Math.max(...inflight)).toBeLessThanOrEqual(8);
    // The limit stepped down from 8 as the latency rose above the baseline, and stayed down.
    expect(Math.max(...inflight.slice(40))).toBeLessThanOrEqual(6);
  });
});
