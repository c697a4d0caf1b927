import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { simpleParser } from 'mailparser';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newWebhookSecret } from '../../src/deliver/sign.js';
import { MAX_HEADER_VALUE } from '../../src/parse/parse-message.js';
import { createDeliveryWorker, type DeliveryWorker } from '../../src/deliver/worker.js';
import { seedUserAndDomain, testDeps, type TestDeps } from '../helpers/deps.js';
import { startSmtp, type RunningSmtp } from '../helpers/smtp.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

// Real email from public test suites, with each file's origin and licence in test/corpus/SOURCES.md.
const CORPUS = fileURLToPath(new URL('../corpus/public/', import.meta.url));
const files = readdirSync(CORPUS).filter((f) => f.endsWith('.eml')).sort();

interface Payload {
  data: {
    id: string;
    subject: string;
    from: { address: string };
    attachments: { size: number }[];
    size: number;
  };
}

/** SMTP carries lines ending in CRLF, the last one included: the file as it is on the wire. */
const asOnTheWire = (raw: Buffer) => {
  const text = raw.toString('latin1').replace(/\r\n|\r|\n/g, '\r\n');
  return Buffer.from(text.endsWith('\r\n') ? text : text + '\r\n', 'latin1');
};

describe('the public corpus goes through SMTP → webhook', () => {
  let deps: TestDeps;
  let smtp: RunningSmtp;
  let worker: DeliveryWorker;
  let receiver: WebhookReceiver;
  const secret = newWebhookSecret();

  beforeAll(async () => {
    deps = testDeps({ MAX_MESSAGE_BYTES: String(10 * 1024 * 1024) });
    receiver = await startWebhookReceiver();
    seedUserAndDomain(deps, 'corpus.test', { webhookUrl: receiver.url });
    // seedUserAndDomain made its own catch-all secret; use one this test knows.
    deps.db.prepare('UPDATE domains SET webhook_secret = ?').run(secret);
    worker = createDeliveryWorker(deps);
    worker.start();
    smtp = await startSmtp(deps, { onStored: worker.kick });
  });
  afterAll(async () => {
    await smtp.close();
    await worker.stop();
    await receiver.close();
    deps.cleanup();
  });

  it(`delivers all ${files.length} messages, with subject, sender and attachments intact`, { timeout: 180_000 }, async () => {
    expect(files.length).toBeGreaterThan(300);
    const sent = new Map<string, string>(); // msg id → file
    for (const file of files) {
      const raw = readFileSync(CORPUS + file);
      const info = await smtp.transport.sendMail({
        envelope: { from: 'sender@corpus-sender.test', to: ['inbox@corpus.test'] },
        raw,
      });
      const id = /msg_\w+/.exec(info.response ?? '')?.[0];
      expect(id, `${file}: ${info.response}`).toBeDefined();
      sent.set(id!, file);
    }

    const requests = await receiver.waitFor(files.length, 120_000);
    const wh = new Webhook(secret);
    const received = new Map<string, Payload>();
    for (const req of requests) {
      const p = wh.verify(req.body, req.headers as Record<string, string>) as Payload;
      received.set(p.data.id, p);
    }
    expect(received.size).toBe(sent.size);

    for (const [id, file] of sent) {
      const p = received.get(id);
      expect(p, file).toBeDefined();
      // An independent reading: the same file parsed in one go, outside the pipeline.
      const expected = await simpleParser(asOnTheWire(readFileSync(CORPUS + file)), {
        skipTextToHtml: true,
        skipImageLinks: true,
        skipTextLinks: true,
      });
      // Header values are capped in the payload (the raw message keeps them whole).
      expect(p!.data.subject, file).toBe((expected.subject ?? '').slice(0, MAX_HEADER_VALUE));
      expect(p!.data.from.address, file).toBe(expected.from?.value[0]?.address ?? '');
      expect(
        p!.data.attachments.map((a) => a.size),
        file,
      ).toEqual(expected.attachments.map((a) => a.size));
    }
    const rows = deps.db.prepare("SELECT count(*) AS n FROM deliveries WHERE status = 'delivered'").get() as { n: number };
    expect(rows.n).toBe(files.length);
  });
});
