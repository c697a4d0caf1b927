import { createHash, randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import type { Route } from '../../src/db/routes.js';
import { newWebhookSecret } from '../../src/deliver/sign.js';
import { createDeliveryWorker, type DeliveryWorker } from '../../src/deliver/worker.js';
import { PRESIGN_SECONDS } from '../../src/store/s3-blob-store.js';
import { LINK_LIFETIME_MS } from '../../src/store/signed-links.js';
import { sweep } from '../../src/store/sweeper.js';
import { addRoute, fakeClock, seedUserAndDomain, testDeps, type FakeClock, type TestDeps } from '../helpers/deps.js';
import { startS3Server, type S3Server } from '../helpers/s3-server.js';
import { startSmtp, type RunningSmtp } from '../helpers/smtp.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const DAY = 86_400_000;

interface Payload {
  data: {
    id: string;
    attachments: { index: number; filename: string; size: number; sha256: string; url: string }[];
    raw_url: string;
    size: number;
  };
}

let s3: S3Server;
beforeAll(async () => {
  s3 = await startS3Server();
});
afterAll(() => s3.close());

describe.each([
  { mode: 'streamed through Mailhook', redirect: false },
  { mode: 'redirected to a presigned S3 URL', redirect: true },
])('end to end with S3 storage, links $mode', ({ redirect }) => {
  let clock: FakeClock;
  let deps: TestDeps;
  let smtp: RunningSmtp;
  let worker: DeliveryWorker;
  let receiver: WebhookReceiver;
  let route: Route;

  beforeEach(async () => {
    clock = fakeClock(Date.now());
    // Every blob to the bucket (INLINE_BLOB_BYTES=0): small ones would be committed with the rows (test/e2e/inline-blobs.test.ts).
    deps = testDeps({ ...s3.env, S3_PRESIGN_REDIRECT: String(redirect), RETENTION_DAYS: '30', INLINE_BLOB_BYTES: '0' }, { now: clock.now });
    receiver = await startWebhookReceiver();
    const { user, domain } = await seedUserAndDomain(deps, 'example.com');
    route = await addRoute(deps, { userId: user.id, domainId: domain.id }, {
      match: 'support@example.com',
      action: 'webhook',
      destination: receiver.url,
      secret: newWebhookSecret(),
      priority: 10,
      stop: true,
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

  it('stores in the bucket, serves the exact bytes, expires links and sweeps the objects', async () => {
    expect(deps.blobs.kind).toBe('s3');
    const pdf = randomBytes(6 * 1024 * 1024 + 3); // over one 5 MiB part: a multipart upload
    const page = Buffer.from('<script>alert(document.domain)</script>');
    const info = await smtp.transport.sendMail({
      from: 'ada@sender.test',
      to: 'support@example.com',
      subject: 'With attachments',
      text: 'see attached',
      attachments: [
        { filename: 'report.pdf', content: pdf, contentType: 'application/pdf' },
        { filename: 'page.html', content: page, contentType: 'text/html' },
      ],
    });
    const id = /msg_\w+/.exec(info.response ?? '')![0];
    expect(await s3.keys(`msg/${id}/`)).toEqual([`msg/${id}/0`, `msg/${id}/1`, `msg/${id}/raw.eml`]);

    const [req] = await receiver.waitFor(1, 10_000);
    const p = new Webhook(route.secret!).verify(req!.body, req!.headers as Record<string, string>) as Payload;
    const app = createApp(deps);
    const path = (url: string) => new URL(url).pathname + new URL(url).search;
    /** Our answer, and the bytes the client ends up with (following our 302 to S3 for real). */
    const download = async (url: string) => {
      const ours = await app.request(path(url));
      if (!redirect || ours.status !== 302) return { ours, final: ours };
      const location = new URL(ours.headers.get('location')!);
      expect(location.origin).toBe(s3.endpoint);
      expect(location.searchParams.get('X-Amz-Expires')).toBe(String(PRESIGN_SECONDS));
      expect(ours.headers.get('cache-control')).toBe('no-store');
      return { ours, final: await fetch(location) };
    };

    for (const [i, want] of [pdf, page].entries()) {
      const { ours, final } = await download(p.data.attachments[i]!.url);
      expect(ours.status).toBe(redirect ? 302 : 200);
      expect(final.status).toBe(200);
      expect(sha256(Buffer.from(await final.arrayBuffer()))).toBe(sha256(want));
      expect(p.data.attachments[i]!.sha256).toBe(sha256(want));
      expect(final.headers.get('content-disposition')).toMatch(/^attachment; filename="(report\.pdf|page\.html)"/);
    }
    const html = await download(p.data.attachments[1]!.url);
    if (!redirect) {
      expect(html.final.headers.get('x-content-type-options')).toBe('nosniff');
      expect(html.final.headers.get('content-security-policy')).toContain('sandbox');
    }
    const raw = await download(p.data.raw_url);
    const rawBytes = Buffer.from(await raw.final.arrayBuffer());
    expect(rawBytes.length).toBe(p.data.size);
    expect(rawBytes.toString()).toContain('Subject: With attachments');

    const link = p.data.attachments[0]!.url;
    const tampered = link.replace(/sig=([^&])/, (_, c: string) => `sig=${c === 'x' ? 'y' : 'x'}`);
    expect((await app.request(path(tampered))).status).toBe(403);

    // Seven days on: the link is 410 before the sweep and after it, and the objects are gone.
    clock.advance(LINK_LIFETIME_MS);
    expect((await app.request(path(link))).status).toBe(410);
    expect(await sweep(deps)).toEqual({ attachmentsPurged: 2, messagesDeleted: 0 });
    expect(await s3.keys(`msg/${id}/`)).toEqual([`msg/${id}/raw.eml`]);
    const gone = await app.request(path(link));
    expect(gone.status).toBe(410);
    expect(await gone.json()).toHaveProperty('error');

    clock.advance(30 * DAY - LINK_LIFETIME_MS + 1);
    expect(await sweep(deps)).toEqual({ attachmentsPurged: 0, messagesDeleted: 1 });
    expect(await s3.keys(`msg/${id}/`)).toEqual([]);
  });
});
