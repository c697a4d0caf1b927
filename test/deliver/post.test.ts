import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_RESPONSE_BYTES, postWebhook, type PostInput } from '../../src/deliver/post.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { SECRET } from './seed.js';

describe('postWebhook (one attempt)', () => {
  let receiver: WebhookReceiver;
  let other: WebhookReceiver;
  beforeEach(async () => {
    receiver = await startWebhookReceiver();
    other = await startWebhookReceiver();
  });
  afterEach(async () => {
    await receiver.close();
    await other.close();
  });

  const input = (over: Partial<PostInput> = {}): PostInput => ({
    url: receiver.url + '/hook',
    secret: SECRET,
    id: 'dlv_test',
    body: '{"type":"email.received"}',
    now: Date.now(),
    timeoutMs: 2000,
    allowInsecure: true,
    ...over,
  });

  it('POSTs the JSON body with signature headers the public verifier accepts', async () => {
    receiver.next({ status: 204 });
    const r = await postWebhook(input());
    expect(r).toMatchObject({ statusCode: 204, error: null, body: '', retryAfter: null });
    const [req] = receiver.requests;
    expect(req!.method).toBe('POST');
    expect(req!.url).toBe('/hook');
    expect(req!.headers['content-type']).toBe('application/json');
    expect(req!.headers['user-agent']).toMatch(/^Mailhook\//);
    expect(req!.body).toBe('{"type":"email.received"}');
    expect(req!.headers['webhook-id']).toBe('dlv_test');
    expect(new Webhook(SECRET).verify(req!.body, req!.headers as Record<string, string>)).toEqual({ type: 'email.received' });
  });

  it('reports the status, the body and Retry-After of a failure', async () => {
    receiver.next({ status: 429, headers: { 'retry-after': '120' }, body: 'slow down' });
    const r = await postWebhook(input());
    expect(r).toMatchObject({ statusCode: 429, body: 'slow down', retryAfter: '120', error: null });
  });

  it('does not follow a redirect', async () => {
    receiver.next({ status: 307, headers: { location: other.url + '/elsewhere' } });
    const r = await postWebhook(input());
    expect(r.statusCode).toBe(307);
    expect(r.error).toMatch(/redirect to .*\/elsewhere not followed/);
    expect(receiver.requests).toHaveLength(1);
    expect(other.requests).toHaveLength(0);
  });

  it('reads only the first 1 KiB of an endless response body, then hangs up', async () => {
    receiver.next({ status: 200, streamBytes: 1024 ** 3 });
    const r = await postWebhook(input());
    expect(r.statusCode).toBe(200);
    expect(r.body).toHaveLength(MAX_RESPONSE_BYTES);
    expect(r.body).toBe('x'.repeat(MAX_RESPONSE_BYTES));
    const [req] = receiver.requests;
    await req!.closed;
    expect(req!.bytesSent).toBeLessThan(64 * 1024 ** 2);
  });

  it('gives up after the timeout when the receiver never answers', async () => {
    receiver.next({ hang: true });
    const r = await postWebhook(input({ timeoutMs: 200 }));
    expect(r).toMatchObject({ statusCode: null, error: 'timed out after 200 ms' });
    expect(r.latencyMs).toBeGreaterThanOrEqual(190);
    await receiver.requests[0]!.closed; // we hung up
  });

  it('counts a slow body against the same timeout', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(200);
      res.write('partial');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const r = await postWebhook(input({ url: `http://127.0.0.1:${port}/`, timeoutMs: 200 }));
    expect(r).toMatchObject({ statusCode: 200, body: 'partial', error: 'timed out after 200 ms' });
    server.closeAllConnections();
    server.close();
  });

  it('never throws: refused connections and bad URLs become errors', async () => {
    const closed = await startWebhookReceiver();
    await closed.close();
    const refused = await postWebhook(input({ url: closed.url }));
    expect(refused.statusCode).toBeNull();
    expect(refused.error).toMatch(/ECONNREFUSED/);
    const ftp = await postWebhook(input({ url: 'ftp://example.com/' }));
    expect(ftp.error).toMatch(/https/);
  });

  it('without ALLOW_INSECURE_WEBHOOKS refuses http:// and literal private addresses without connecting', async () => {
    const http = await postWebhook(input({ allowInsecure: false }));
    expect(http.error).toMatch(/https/);
    const literal = await postWebhook(input({ url: 'https://127.0.0.1:1/hook', allowInsecure: false }));
    expect(literal.error).toMatch(/127\.0\.0\.1, a loopback address/);
    expect(receiver.requests).toHaveLength(0);
  });

  it('without ALLOW_INSECURE_WEBHOOKS refuses a host name that resolves to loopback when connecting', async () => {
    const port = new URL(receiver.url).port;
    const r = await postWebhook(input({ url: `https://localhost:${port}/hook`, allowInsecure: false }));
    expect(r.statusCode).toBeNull();
    expect(r.error).toBe('refused: the address is not public');
    expect(r.detail).toMatch(/localhost resolves to (127\.0\.0\.1|::1), a loopback address/);
    expect(receiver.requests).toHaveLength(0);
  });
});
