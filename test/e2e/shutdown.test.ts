import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { newWebhookSecret } from '../../src/deliver/sign.js';
import { createDeps } from '../../src/deps.js';
import { addRoute, seedUserAndDomain } from '../helpers/deps.js';
import { startMailhook, type MailhookProcess } from '../helpers/process.js';
import { smtpSession, type SmtpSession } from '../helpers/smtp-session.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

const SHUTDOWN_MS = 10_000;
const ENV = {
  ALLOW_INSECURE_WEBHOOKS: 'true',
  AUTH_CHECKS: 'false',
  LOG_LEVEL: 'info',
  MX_HOST: 'mx.stop.test',
  SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_MS),
  // All 50 deliveries in flight at once against the one slow receiver.
  WEBHOOK_CONCURRENCY: '100',
  WEBHOOK_CONCURRENCY_PER_DESTINATION: '64',
};
const RECEIVER_DELAY_MS = 4000;
const delivered = (r: WebhookReceiver) => new Set(r.requests.map((q) => (JSON.parse(q.body) as { data: { id: string } }).data.id));

/** Opens a transaction and sends the start of its body; finish() ends DATA and resolves with the reply. */
async function openTransaction(port: number, n: number): Promise<{ s: SmtpSession; finish(): Promise<string> }> {
  const s = smtpSession(port);
  expect(await s.reply()).toMatch(/^220 /);
  expect(await s.command('EHLO client.test')).toMatch(/^250 /);
  expect(await s.command('MAIL FROM:<a@sender.test>')).toMatch(/^250 /);
  expect(await s.command('RCPT TO:<in@stop.test>')).toMatch(/^250 /);
  expect(await s.command('DATA')).toMatch(/^354 /);
  s.write(`From: a@sender.test\r\nTo: in@stop.test\r\nSubject: during stop ${n}\r\n\r\nfirst half of ${n}\r\n`);
  return {
    s,
    finish() {
      s.write(`second half of ${n}\r\n.\r\n`);
      return s.reply();
    },
  };
}

describe('graceful stop on SIGTERM', () => {
  let dir: string;
  let receiver: WebhookReceiver;
  let proc: MailhookProcess | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mailhook-stop-'));
    receiver = await startWebhookReceiver();
    const deps = createDeps(loadConfig({ ...ENV, DATA_DIR: dir, LOG_LEVEL: 'silent' }));
    const { user, domain } = await seedUserAndDomain(deps, 'stop.test');
    await addRoute(deps, { userId: user.id, domainId: domain.id }, {
      match: '*@stop.test',
      action: 'webhook',
      destination: receiver.url,
      secret: newWebhookSecret(),
    });
    deps.db!.close();
  });

  afterAll(async () => {
    await proc?.kill('SIGKILL');
    await receiver.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('finishes 20 transactions in progress or answers them 4xx, records 50 attempts in flight, exits 0; nothing acknowledged is lost', { timeout: 180_000 }, async () => {
    receiver.setDefault({ delayMs: RECEIVER_DELAY_MS });
    proc = await startMailhook({ ...ENV, DATA_DIR: dir });
    const port = proc.smtpPort;

    // 50 messages whose deliveries are all in flight (the receiver holds each 4 s) when the signal lands.
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, pool: true, maxConnections: 5 });
    const first = await Promise.all(
      Array.from({ length: 50 }, (_, n) => transport.sendMail({ from: 'a@sender.test', to: 'in@stop.test', subject: `before ${n}`, text: `m${n}` })),
    );
    transport.close();
    const firstIds = first.map((info) => /msg_\w+/.exec(info.response)![0]);
    await receiver.waitFor(50, 30_000);

    // 20 transactions in the middle of DATA, and one session idle between transactions.
    const open = await Promise.all(Array.from({ length: 20 }, (_, n) => openTransaction(port, n)));
    const idle = smtpSession(port);
    expect(await idle.reply()).toMatch(/^220 /);
    expect(await idle.command('EHLO idle.test')).toMatch(/^250 /);

    const signalledAt = Date.now();
    const exited = new Promise<number | null>((resolve) => proc!.child.once('exit', (code) => resolve(code)));
    proc.child.kill('SIGTERM');

    // The idle session is told at once; a new connection gets 421 4.3.2 instead of a banner.
    expect(await idle.reply()).toMatch(/^421 4\.3\.2 /);
    let late: string;
    do {
      late = await smtpSession(port).reply();
    } while (late.startsWith('220 ') && Date.now() - signalledAt < 5000); // the signal may not have arrived yet
    expect(late).toMatch(/^421 4\.3\.2 /);

    // 15 senders finish their message; 5 stall past SHUTDOWN_TIMEOUT_MS.
    const replies = await Promise.all(open.map((t, n) => (n < 15 ? t.finish() : t.s.reply())));
    const code = await exited;
    const took = Date.now() - signalledAt;
    expect(code).toBe(0);
    expect(took).toBeLessThan(SHUTDOWN_MS + 8000);

    for (const r of replies) expect(r).toMatch(/^(250|4\d\d) /);
    const acked = replies.filter((r) => r.startsWith('250 ')).map((r) => /msg_\w+/.exec(r)![0]);
    expect(acked).toHaveLength(15);
    for (const r of replies.slice(15)) expect(r).toMatch(/^421 4\.3\.2 /);

    // Every attempt in flight ended and was recorded: no open attempt row, all 50 delivered.
    const db = new Database(join(dir, 'mailhook.db'), { readonly: true });
    expect((db.prepare('SELECT COUNT(*) AS n FROM delivery_attempts WHERE finished_at IS NULL').get() as { n: number }).n).toBe(0);
    const statuses = db.prepare(`SELECT status FROM deliveries WHERE message_id IN (${firstIds.map(() => '?').join(',')})`).all(...firstIds);
    expect(statuses).toEqual(Array.from({ length: 50 }, () => ({ status: 'delivered' })));
    // The stalled transactions stored nothing; the 15 finished ones are there, waiting for delivery.
    expect((db.prepare('SELECT COUNT(*) AS n FROM messages').get() as { n: number }).n).toBe(65);
    db.close();

    // After a restart, every message that got a 250 during the stop is delivered.
    receiver.setDefault({});
    proc = await startMailhook({ ...ENV, DATA_DIR: dir });
    const deadline = Date.now() + 60_000;
    while (acked.some((id) => !delivered(receiver).has(id)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(acked.filter((id) => !delivered(receiver).has(id))).toEqual([]);
    expect(proc.log()).not.toContain('interrupted');
    await proc.kill('SIGTERM');
  });

  it('exits at once on a second signal, without waiting for a stalled transaction', { timeout: 60_000 }, async () => {
    proc = await startMailhook({ ...ENV, DATA_DIR: dir, SHUTDOWN_TIMEOUT_MS: '60000' });
    const stalled = await openTransaction(proc.smtpPort, 99);
    const exited = new Promise<number | null>((resolve) => proc!.child.once('exit', (code) => resolve(code)));
    proc.child.kill('SIGTERM');
    while (!proc.log().includes('"stopping"')) await new Promise((r) => setTimeout(r, 20));
    const secondAt = Date.now();
    proc.child.kill('SIGTERM');
    expect(await exited).toBe(143);
    expect(Date.now() - secondAt).toBeLessThan(5000);
    expect(await stalled.s.reply()).not.toMatch(/^250 /);
  });
});
