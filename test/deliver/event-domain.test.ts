import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeliveryWorker } from '../../src/deliver/worker.js';
import { addDomain, markVerified, signup, testApi, type TestApi } from '../helpers/api.js';
import { startSmtp, type RunningSmtp } from '../helpers/smtp.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

/**
 * One message to three of an account's domains is stored once, filed under the first
 * recipient's domain; each domain's webhook must still say which domain it is for.
 */
let api: TestApi;
let smtp: RunningSmtp;
let receiver: WebhookReceiver;
beforeAll(async () => {
  api = testApi({ ALLOW_INSECURE_WEBHOOKS: 'true' });
  smtp = await startSmtp(api.deps);
  receiver = await startWebhookReceiver();
});
afterAll(async () => {
  await smtp.close();
  await receiver.close();
  api.deps.cleanup();
});

describe('data.domain of a message addressed to several domains of one account', () => {
  it("is each route's own domain, and for a catch-all the domain whose catch-all it was", async () => {
    const { token } = await signup(api);
    for (const name of ['one.test', 'two.test', 'three.test']) {
      const d = await addDomain(api, token, name);
      await markVerified(api, d.id);
      if (name === 'three.test') {
        // No route: its catch-all webhook takes the mail.
        const set = await api.call('PUT', `/api/domains/${d.id}/webhook`, { token, body: { url: `${receiver.url}/catch-all-three` } });
        expect(set.status).toBe(200);
      } else {
        const route = await api.call('POST', '/api/routes', {
          token,
          body: { domain_id: d.id, match: `*@${name}`, action: 'webhook', destination: `${receiver.url}/route-${name}` },
        });
        expect(route.status).toBe(201);
      }
    }
    await smtp.transport.sendMail({ from: 'shop@sender.test', to: ['a@one.test', 'b@two.test', 'c@three.test'], subject: 'All three', text: 'hi' });
    await createDeliveryWorker(api.deps).runOnce();

    const domainOf = Object.fromEntries(receiver.requests.map((r) => [r.url, (JSON.parse(r.body) as { data: { domain: string } }).data.domain]));
    expect(domainOf).toEqual({ '/route-one.test': 'one.test', '/route-two.test': 'two.test', '/catch-all-three': 'three.test' });
  });
});
