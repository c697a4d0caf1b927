import { Webhook } from 'standardwebhooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Route } from '../../src/db/routes.js';
import { newWebhookSecret } from '../../src/deliver/sign.js';
import { createDeliveryWorker, type DeliveryWorker } from '../../src/deliver/worker.js';
import { addRoute, seedUserAndDomain, testDeps, type TestDeps } from '../helpers/deps.js';
import { startSmtp, type RunningSmtp } from '../helpers/smtp.js';
import { startWebhookReceiver, type ReceivedRequest, type WebhookReceiver } from '../helpers/webhook-receiver.js';

/** The receiver's view: standardwebhooks verifies the bytes it got, then JSON. */
function verified(route: Route, req: ReceivedRequest): { data: Record<string, unknown> } {
  const headers = req.headers as Record<string, string>;
  return new Webhook(route.secret!).verify(req.body, headers) as { data: Record<string, unknown> };
}

describe('webhook payload: data.reply', () => {
  let deps: TestDeps;
  let smtp: RunningSmtp;
  let worker: DeliveryWorker;
  let receiver: WebhookReceiver;
  let route: Route;

  beforeEach(async () => {
    deps = testDeps();
    receiver = await startWebhookReceiver();
    const { user, domain } = seedUserAndDomain(deps, 'example.com');
    route = addRoute(deps, { userId: user.id, domainId: domain.id }, {
      action: 'webhook',
      destination: receiver.url,
      secret: newWebhookSecret(),
    });
    worker = createDeliveryWorker(deps);
    worker.start();
    smtp = await startSmtp(deps, { onStored: worker.kick });
  });

  afterEach(async () => {
    await smtp.close();
    await worker.stop();
    await receiver.close();
    deps.cleanup();
  });

  it('carries the new text, the signature and the quote of a reply sent over SMTP', async () => {
    await smtp.transport.sendMail({
      from: 'bob@sender.test',
      to: 'support@example.com',
      subject: 'Re: invoice',
      text: 'Paid it this morning.\n\n-- \nBob Stone\n\nOn Mon, Nov 24, 2025 at 10:15 AM Ada <ada@example.com> wrote:\n\n> Please pay invoice 7.\n',
    });
    const [req] = await receiver.waitFor(1, 15_000);
    const event = verified(route, req!);
    expect(event.data.reply).toEqual({
      text: 'Paid it this morning.',
      signature: 'Bob Stone',
      quoted: 'On Mon, Nov 24, 2025 at 10:15 AM Ada <ada@example.com> wrote:\n\n> Please pay invoice 7.',
    });
    expect(event.data.text).toContain('Please pay invoice 7.');
  });
});
