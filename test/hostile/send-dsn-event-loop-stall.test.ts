import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closeTransfers } from '../../src/send/transfer.js';
import { createOutboundWorker, type OutboundWorker } from '../../src/send/outbound-worker.js';
import { signup, testApi, type TestApi } from '../helpers/api.js';
import { fakeClock } from '../helpers/deps.js';
import { startSmtp, type RunningSmtp } from '../helpers/smtp.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { startMxServer, type MxServer } from '../helpers/mx-server.js';
import { sendingDomain, type SendingDomain } from '../helpers/sending.js';

/**
 * A DSN is read on the event loop every SMTP session and API call shares (DESIGN §1 invariant
 * 5): whoever holds one bounce address (any recipient) must not be able to hold it with one
 * report. Runs alone (vitest.config.ts, ALONE), so that the bound measures the server.
 */
let dns: TestDnsServer;
let mx: MxServer;
let api: TestApi;
let worker: OutboundWorker;
let smtp: RunningSmtp;

beforeAll(async () => {
  [dns, mx] = await Promise.all([startDnsServer(), startMxServer()]);
});
afterAll(async () => {
  await Promise.all([dns.close(), mx.close()]);
});
afterEach(async () => {
  closeTransfers();
  await smtp?.close();
  await api?.deps.cleanup();
  mx.mails.length = 0;
});

async function account(name: string): Promise<{ token: string; domain: SendingDomain }> {
  const { token } = await signup(api);
  return { token, domain: await sendingDomain(api, token, name) };
}

async function setup(names: string[]) {
  const clock = fakeClock(Date.now());
  api = testApi({ DNS_SERVERS: dns.address, OUTBOUND_SMTP_PORT: String(mx.port) }, { now: clock.now });
  const accounts = [];
  for (const n of names) accounts.push(await account(n));
  dns.set([
    ...accounts.map((a) => a.domain.dkimRecord),
    { name: 'dest.test', type: 'MX', value: 'mx.dest.test' },
    { name: 'other.test', type: 'MX', value: 'mx.dest.test' },
    { name: 'mx.dest.test', type: 'A', value: '127.0.0.1' },
  ]);
  worker = createOutboundWorker(api.deps, { random: () => 0.5 });
  smtp = await startSmtp(api.deps);
  return accounts;
}

const send = async (token: string, from: string, to: string[]) => {
  const res = await api.call('POST', '/v1/send', { token, body: { from, to, subject: 'Hello', text: 'Hi' } });
  expect(res.status).toBe(202);
  return res.body.id as string;
};

const dsn = (to: string, recipient: string) =>
  [
    'From: MAILER-DAEMON@mx.dest.test',
    `To: ${to}`,
    'Subject: Undelivered Mail Returned to Sender',
    'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=delivery-status; boundary="B"',
    '',
    '--B',
    'Content-Type: message/delivery-status',
    '',
    'Reporting-MTA: dns; mx.dest.test',
    '',
    `Final-Recipient: rfc822; ${recipient}`,
    'Action: failed',
    'Status: 5.1.1',
    'Diagnostic-Code: smtp; 550 5.1.1 no such user',
    '',
    '--B--',
    '',
  ].join('\r\n');

const status = async (sendId: string) => Object.fromEntries((await api.deps.repos.sends.recipients(sendId)).map((r) => [r.address, r.status]));
describe('a DSN of 1 MiB', () => {
  it('a DSN of 1 MiB naming the send\'s 50 recipients over and over: each is bounced once, and the event loop is not held (3.1–4.8 s on main)', async () => {
    const [sender] = await setup(['shop.test']);
    const to = Array.from({ length: 50 }, (_, i) => `r${i}@dest.test`);
    const id = await send(sender!.token, 'orders@shop.test', to);
    await worker.runOnce();
    // A webhook, so that each bounce makes an event too (not posted here).
    await api.deps.repos.domains.setWebhook(sender!.domain.id, 'https://hooks.example.test/x', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
    const bounceTo = mx.mails[0]!.mailFrom;
    let report = dsn(bounceTo, to[0]!).replace(/\r\n--B--\r\n$/, '');
    for (let i = 1; report.length < 1024 * 1024 - 200; i++) report += `Final-Recipient: rfc822; ${to[i % 50]}\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n`;
    const h = monitorEventLoopDelay({ resolution: 10 });
    h.enable();
    await smtp.transport.sendMail({ envelope: { from: '', to: [bounceTo] }, raw: `${report}--B--\r\n` });
    h.disable();
    expect(h.max / 1e6).toBeLessThan(500);
    expect(Object.values(await status(id)).every((s) => s === 'bounced')).toBe(true);
    expect(api.deps.db.prepare("SELECT count(*) AS n FROM send_events WHERE type = 'email.bounced'").get()).toEqual({ n: 50 });
  });

});
