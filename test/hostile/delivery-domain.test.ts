import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeliveryWorker } from '../../src/deliver/worker.js';
import { addDomain, createKey, markVerified, signup, testApi, type TestApi } from '../helpers/api.js';
import { startSmtp, type RunningSmtp } from '../helpers/smtp.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

/**
 * Issue 11, item 4: a delivery belongs to the domain whose route or catch-all queued it, even
 * after that route is deleted. Before, a key restricted to a.test could read and retry b.test's
 * delivery once b.test's route was gone, and a catch-all delivery was under every domain of its
 * message.
 */
let api: TestApi;
let smtp: RunningSmtp;
let receiver: WebhookReceiver;
let token: string;
beforeAll(async () => {
  api = testApi({ ALLOW_INSECURE_WEBHOOKS: 'true' });
  smtp = await startSmtp(api.deps);
  receiver = await startWebhookReceiver();
  ({ token } = await signup(api));
});
afterAll(async () => {
  await smtp.close();
  await receiver.close();
  api.deps.cleanup();
});

const verifiedDomain = async (name: string) => {
  const d = await addDomain(api, token, name);
  await markVerified(api, d.id);
  return d.id as string;
};
const deliveries = async (credential: string, q = '') =>
  (await api.call('GET', `/api/deliveries?${q}`, { token: credential })).body.data as { id: string; message_id: string; url: string; route_id: string | null }[];

describe('a delivery stays its domain’s', () => {
  it('after the route is deleted: a key of the other domain can neither read nor retry it', async () => {
    const a = await verifiedDomain('a.test');
    const b = await verifiedDomain('b.test');
    const routeOf = async (domainId: string, name: string) =>
      (await api.call('POST', '/api/routes', { token, body: { domain_id: domainId, match: `*@${name}`, action: 'webhook', destination: `${receiver.url}/${name}` } })).body.id as string;
    await routeOf(a, 'a.test');
    const bRoute = await routeOf(b, 'b.test');
    await smtp.transport.sendMail({ from: 'shop@sender.test', to: ['x@a.test', 'y@b.test'], subject: 'two domains', text: 'hi' });
    await createDeliveryWorker(api.deps).runOnce();
    expect(receiver.requests.map((r) => r.url).sort()).toEqual(['/a.test', '/b.test']);

    const keyA = (await createKey(api, token, ['deliveries:read', 'deliveries:write', 'messages:read'], a)).secret;
    const theirs = (await deliveries(token)).find((d) => d.url.endsWith('/b.test'))!;
    const mine = (await deliveries(token)).find((d) => d.url.endsWith('/a.test'))!;
    expect((await api.call('DELETE', `/api/routes/${bRoute}`, { token })).status).toBe(204);

    expect((await deliveries(keyA)).map((d) => d.id)).toEqual([mine.id]);
    expect((await api.call('GET', `/api/deliveries/${theirs.id}`, { token: keyA })).status).toBe(404);
    expect((await api.call('POST', `/api/deliveries/${theirs.id}/retry`, { token: keyA })).status).toBe(404);
    // The message is a.test's too, so keyA reads it, with a.test's delivery only.
    const message = await api.call('GET', `/api/messages/${mine.message_id}`, { token: keyA });
    expect(message.body.deliveries.map((x: { id: string }) => x.id)).toEqual([mine.id]);
    await createDeliveryWorker(api.deps).runOnce();
    expect(receiver.requests).toHaveLength(2);
    // The owner's unrestricted credential still sees and retries it.
    expect((await api.call('POST', `/api/deliveries/${theirs.id}/retry`, { token })).status).toBe(202);
  });

  it('a catch-all delivery is its own domain’s, signed with that domain’s secret, even to a shared URL', async () => {
    receiver.requests.length = 0;
    const c = await verifiedDomain('c.test');
    const d = await verifiedDomain('d.test');
    const secrets: Record<string, string> = {};
    for (const [id, name] of [[c, 'c.test'], [d, 'd.test']] as const) {
      const set = await api.call('PUT', `/api/domains/${id}/webhook`, { token, body: { url: `${receiver.url}/catch-all` } });
      secrets[name] = set.body.secret as string;
    }
    await smtp.transport.sendMail({ from: 'shop@sender.test', to: ['p@c.test', 'q@d.test'], subject: 'two catch-alls', text: 'hi' });
    await createDeliveryWorker(api.deps).runOnce();
    // One per domain: each receiver-side secret verifies exactly its own domain's event.
    const caught = receiver.requests.filter((r) => r.url === '/catch-all');
    expect(caught).toHaveLength(2);
    const domainsSeen = caught.map((r) => {
      const name = (JSON.parse(r.body) as { data: { domain: string } }).data.domain;
      expect(() => new Webhook(secrets[name]!).verify(r.body, r.headers as Record<string, string>)).not.toThrow();
      return name;
    });
    expect(domainsSeen.sort()).toEqual(['c.test', 'd.test']);

    const keyC = (await createKey(api, token, ['deliveries:read'], c)).secret;
    const keyD = (await createKey(api, token, ['deliveries:read'], d)).secret;
    const ofC = await deliveries(keyC);
    const ofD = await deliveries(keyD);
    expect(ofC).toHaveLength(1);
    expect(ofD).toHaveLength(1);
    expect(ofC[0]!.id).not.toBe(ofD[0]!.id);
    expect(ofC[0]!.route_id).toBeNull();
  });
});
