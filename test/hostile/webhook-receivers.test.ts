import { createServer as createNetServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_RESPONSE_BYTES } from '../../src/deliver/post.js';
import { MAX_RETRY_AFTER_MS, RETRY_SCHEDULE_MS } from '../../src/deliver/schedule.js';
import { createDeliveryWorker } from '../../src/deliver/worker.js';
import { fakeClock, seedUserAndDomain, testDeps, type FakeClock, type TestDeps } from '../helpers/deps.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { seedDelivery, seedMessage } from '../deliver/seed.js';

/**
 * Receivers an attacker (or a broken app) controls: each attempt is bounded in time
 * (WEBHOOK_TIMEOUT_MS, headers and body included) and in memory (1 KiB read), and the answer
 * maps onto DESIGN §6's rules whatever the receiver does. test/deliver/* has the plain cases
 * (500 → timeout → 200, 410, 429, 3xx, a 1 GiB 200); these are the nastier ones.
 */
const TIMEOUT = 400;
let clock: FakeClock;
let deps: TestDeps;
let receiver: WebhookReceiver;
let owner: { userId: string; domainId: string };
const servers: Server[] = [];

beforeEach(async () => {
  clock = fakeClock(Date.now());
  deps = testDeps({ WEBHOOK_TIMEOUT_MS: String(TIMEOUT) }, { now: clock.now });
  receiver = await startWebhookReceiver();
  const { user, domain } = await seedUserAndDomain(deps);
  owner = { userId: user.id, domainId: domain.id };
});
afterEach(async () => {
  await receiver.close();
  for (const s of servers.splice(0)) s.close();
  deps.cleanup();
});

const queue = async (url = receiver.url + '/hook') => {
  const { message } = await seedMessage(deps, owner);
  return await seedDelivery(deps, { userId: owner.userId, messageId: message.id, url });
};
const reload = async (id: string) => (await deps.repos.deliveries.getById(id))!;
const lastAttempt = async (id: string) => (await deps.repos.deliveries.attempts(id)).at(-1)!;

/** A raw TCP "HTTP server" whose every byte and pause the test scripts. */
async function rawHttp(onRequest: (socket: Socket) => void): Promise<string> {
  const sockets = new Set<Socket>();
  const server = createNetServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.once('data', () => onRequest(socket));
  });
  server.on('close', () => sockets.forEach((s) => s.destroy()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  const close = server.close.bind(server);
  server.close = ((cb?: () => void) => {
    sockets.forEach((s) => s.destroy());
    return close(cb);
  }) as typeof server.close;
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
}

async function attemptTimed(id: string): Promise<number> {
  const t = performance.now();
  await createDeliveryWorker(deps).runOnce();
  expect((await reload(id)).attempts).toBe(1);
  return performance.now() - t;
}

describe('slow and endless receivers are cut at the timeout', () => {
  it('status line then one header byte every 50 ms: timed out, retried', async () => {
    const url = await rawHttp((s) => {
      s.write('HTTP/1.1 200 OK\r\n');
      const t = setInterval(() => (s.destroyed ? clearInterval(t) : s.write('X')), 50);
    });
    const d = await queue(url);
    const ms = await attemptTimed(d.id);
    expect(ms).toBeLessThan(TIMEOUT + 1000);
    expect(await reload(d.id)).toMatchObject({ status: 'pending', lastStatus: null, lastError: `timed out after ${TIMEOUT} ms` });
  });

  it('accepts the connection and never reads the (large) request: timed out', async () => {
    const url = await rawHttp(() => {}); // reads the first chunk, then nothing: TCP fills up
    const { message } = await seedMessage(deps, owner);
    deps.db.prepare('UPDATE messages SET parsed = json_set(parsed, ?, ?) WHERE id = ?').run('$.text', 'x'.repeat(8 * 1024 * 1024), message.id);
    const d = await seedDelivery(deps, { userId: owner.userId, messageId: message.id, url });
    const ms = await attemptTimed(d.id);
    expect(ms).toBeLessThan(TIMEOUT + 1500);
    expect((await reload(d.id)).lastError).toBe(`timed out after ${TIMEOUT} ms`);
  });

  it('a 500 streaming a gigabyte: 1 KiB kept, connection dropped, retried on the schedule', async () => {
    receiver.next({ status: 500, streamBytes: 1024 ** 3 });
    const d = await queue();
    await attemptTimed(d.id);
    const a = await lastAttempt(d.id);
    expect(a.statusCode).toBe(500);
    expect(a.responseBody).toHaveLength(MAX_RESPONSE_BYTES);
    await receiver.requests[0]!.closed;
    expect(receiver.requests[0]!.bytesSent).toBeLessThan(64 * 1024 * 1024);
    const row = await reload(d.id);
    expect(row.status).toBe('pending');
    expect(row.nextAttemptAt! - clock.now()).toBeGreaterThanOrEqual(0.8 * RETRY_SCHEDULE_MS[0]!);
  });

  it('a 1 KiB-capped body is cut on bytes, not characters, and stays valid text', async () => {
    receiver.next({ status: 503, body: '€'.repeat(2000) });
    const d = await queue();
    await attemptTimed(d.id);
    const body = (await lastAttempt(d.id)).responseBody!;
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(MAX_RESPONSE_BYTES + 3);
    expect(body.startsWith('€€€')).toBe(true);
  });
});

describe('malformed answers are failures, never crashes', () => {
  it.each([
    ['a 100 KiB header block', (s: Socket) => s.end(`HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(100 * 1024)}\r\n\r\nok`)],
    ['not HTTP at all', (s: Socket) => s.end('SSH-2.0-OpenSSH_9.6\r\n')],
    ['an invalid status code', (s: Socket) => s.end('HTTP/1.1 999999 Nope\r\ncontent-length: 0\r\n\r\n')],
    ['a reset before any answer', (s: Socket) => s.resetAndDestroy()],
    ['a hang-up before any answer', (s: Socket) => s.end()],
    ['a NUL in a header', (s: Socket) => s.end('HTTP/1.1 200 OK\r\nX: a\x00b\r\ncontent-length: 0\r\n\r\n')],
  ])('%s: recorded as an error, retried', async (_name, answer) => {
    const url = await rawHttp(answer);
    const d = await queue(url);
    await attemptTimed(d.id);
    const row = await reload(d.id);
    expect(row.status).toBe('pending');
    expect(row.lastError).toEqual(expect.any(String));
    expect(row.lastStatus === null || row.lastStatus < 200 || row.lastStatus >= 300).toBe(true);
  });

  it('a 200 whose body is cut short still counts as delivered (the status decides)', async () => {
    const url = await rawHttp((s) => {
      s.write('HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\npartial');
      setTimeout(() => s.destroy(), 20);
    });
    const d = await queue(url);
    await attemptTimed(d.id);
    expect(await reload(d.id)).toMatchObject({ status: 'delivered', lastStatus: 200 });
  });
});

describe('Retry-After is bounded both ways', () => {
  it.each([
    ['a decade', String(10 * 365 * 86_400), MAX_RETRY_AFTER_MS, MAX_RETRY_AFTER_MS],
    ['0 (no tight loop)', '0', 0.8 * RETRY_SCHEDULE_MS[0]!, 1.2 * RETRY_SCHEDULE_MS[0]!],
    ['a date in the past', 'Wed, 21 Oct 2015 07:28:00 GMT', 0.8 * RETRY_SCHEDULE_MS[0]!, 1.2 * RETRY_SCHEDULE_MS[0]!],
    ['garbage', '-1; DROP TABLE deliveries', 0.8 * RETRY_SCHEDULE_MS[0]!, 1.2 * RETRY_SCHEDULE_MS[0]!],
    ['a huge number', '9'.repeat(400), MAX_RETRY_AFTER_MS, MAX_RETRY_AFTER_MS],
    ['an hour', '3600', 3600_000, 3600_000],
  ])('429 with Retry-After: %s', async (_name, value, min, max) => {
    receiver.next({ status: 429, headers: { 'retry-after': value } });
    const d = await queue();
    await attemptTimed(d.id);
    const wait = (await reload(d.id)).nextAttemptAt! - clock.now();
    expect(wait).toBeGreaterThanOrEqual(min);
    expect(wait).toBeLessThanOrEqual(max);
    expect((await reload(d.id)).status).toBe('pending');
  });

  it('410 stops for good, whatever Retry-After says', async () => {
    receiver.setDefault({ status: 410, headers: { 'retry-after': '1' }, body: 'gone' });
    const d = await queue();
    await attemptTimed(d.id);
    clock.advance(4 * 86_400_000);
    await createDeliveryWorker(deps).runOnce();
    expect(receiver.requests).toHaveLength(1);
    expect(await reload(d.id)).toMatchObject({ status: 'failed', lastStatus: 410, nextAttemptAt: null });
  });
});
