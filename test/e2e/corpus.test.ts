import { readdirSync, readFileSync } from 'node:fs';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { newWebhookSecret } from '../../src/deliver/sign.js';
import { createDeliveryWorker, type DeliveryWorker } from '../../src/deliver/worker.js';
import { CORPUS_DIR, disagreements, loadOracle, type Field, type Reading } from '../corpus/compare.js';
import { KNOWN_MAILHOOK_DEFECTS, PYTHON_IS_WRONG, UNFILED_MAILHOOK_DEFECTS } from '../corpus/reviewed.js';
import { seedUserAndDomain, testDeps, type TestDeps } from '../helpers/deps.js';
import { startSmtp, type RunningSmtp } from '../helpers/smtp.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

// Real email from public test suites, with each file's origin and licence in test/corpus/SOURCES.md.
const files = readdirSync(CORPUS_DIR).filter((f) => f.endsWith('.eml')).sort();
// Python's email package read every file (test/corpus/oracle.py); mailparser is not its own judge.
const oracle = loadOracle();
const reviewed = [...PYTHON_IS_WRONG, ...KNOWN_MAILHOOK_DEFECTS, ...UNFILED_MAILHOOK_DEFECTS];

interface Payload {
  data: {
    id: string;
    subject: string;
    from: { address: string };
    text: string;
    attachments: { filename: string; size: number; sha256: string }[];
  };
}

const show = (value: unknown) => JSON.stringify(value).slice(0, 400);

describe('the reviewed lists of the corpus test', () => {
  it('name corpus files, each field of a file at most once, each with a reason', () => {
    const seen = new Set<string>();
    for (const entry of reviewed) {
      expect(files, entry.file).toContain(entry.file);
      expect(entry.reason.length, entry.file).toBeGreaterThan(20);
      for (const field of entry.fields) {
        expect(seen.has(`${entry.file} ${field}`), `${entry.file} ${field} is listed twice`).toBe(false);
        seen.add(`${entry.file} ${field}`);
      }
    }
  });

  it('stand beside an oracle that read every file of the corpus', () => {
    expect(Object.keys(oracle).sort()).toEqual(files);
    const unread = Object.entries(oracle).filter(([, reading]) => 'error' in reading);
    expect(unread.map(([file]) => file)).toEqual([]);
  });
});

describe('the public corpus goes through SMTP → webhook', () => {
  let deps: TestDeps;
  let smtp: RunningSmtp;
  let worker: DeliveryWorker;
  let receiver: WebhookReceiver;
  const secret = newWebhookSecret();

  beforeAll(async () => {
    deps = testDeps({ MAX_MESSAGE_BYTES: String(10 * 1024 * 1024) });
    receiver = await startWebhookReceiver();
    await seedUserAndDomain(deps, 'corpus.test', { webhookUrl: receiver.url });
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

  it(`delivers all ${files.length} messages with the subject, sender, text and attachments Python reads`, { timeout: 180_000 }, async () => {
    expect(files.length).toBeGreaterThan(300);
    const sent = new Map<string, string>(); // msg id → file
    for (const file of files) {
      const info = await smtp.transport.sendMail({
        envelope: { from: 'sender@corpus-sender.test', to: ['inbox@corpus.test'] },
        raw: readFileSync(CORPUS_DIR + file),
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

    const listed = new Map<string, Set<Field>>();
    for (const entry of reviewed) listed.set(entry.file, new Set([...(listed.get(entry.file) ?? []), ...entry.fields]));
    const problems: string[] = [];
    for (const [id, file] of sent) {
      const data = received.get(id)!.data;
      const actual: Reading = {
        subject: data.subject,
        from: data.from.address,
        text: data.text,
        attachments: data.attachments.map(({ filename, size, sha256 }) => ({ filename, size, sha256 })),
      };
      const python = oracle[file]!;
      const differ = disagreements(actual, python);
      const expected = listed.get(file) ?? new Set<Field>();
      for (const field of differ) {
        if (!expected.has(field)) problems.push(`${file} ${field}: Mailhook ${show(actual[field])}, Python ${show(python[field])}`);
      }
      for (const field of expected) {
        if (!differ.includes(field)) problems.push(`${file} ${field} now agrees with Python: take it off test/corpus/reviewed.ts`);
      }
    }
    expect(problems).toEqual([]);
    // The receiver has each body before the worker records its 2xx: wait for the last records.
    const delivered = () => (deps.db.prepare("SELECT count(*) AS n FROM deliveries WHERE status = 'delivered'").get() as { n: number }).n;
    await vi.waitFor(() => expect(delivered()).toBe(files.length), { timeout: 30_000, interval: 100 });
  });
});
