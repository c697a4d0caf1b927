import { createServer, type AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closeTransfers } from '../../src/send/transfer.js';
import { createOutboundWorker } from '../../src/send/outbound-worker.js';
import { signup, testApi, type TestApi } from '../helpers/api.js';
import { fakeClock } from '../helpers/deps.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { startMxServer, type MxServer } from '../helpers/mx-server.js';
import { sendingDomain } from '../helpers/sending.js';
import { startSmtp, type RunningSmtp } from '../helpers/smtp.js';

/**
 * SRS addresses of `forward` routes and forward loops (DESIGN §9): a bounce address is taken back
 * only while it is ours and fresh; nothing goes round for ever.
 */
let dns: TestDnsServer;
let mx: MxServer;
let api: TestApi;
let smtp: RunningSmtp | undefined;
beforeAll(async () => {
  [dns, mx] = await Promise.all([startDnsServer(), startMxServer()]);
});
afterAll(() => Promise.all([dns.close(), mx.close()]));
afterEach(async () => {
  closeTransfers();
  await smtp?.close();
  smtp = undefined;
  await api?.deps.cleanup();
  mx.mails.length = 0;
});

const ORIGINAL = ['From: Orig <orig@sender.test>', 'To: fwd@example.com', 'Subject: forward me', 'Message-ID: <orig-1@sender.test>', '', 'Body', ''].join('\r\n');
const DAY = 86_400_000;

/** A port nothing listens on just now (the loop test needs Mailhook's SMTP port before its config exists). */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

const dsn = (to: string, recipient: string) =>
  [
    `To: ${to}`,
    'Subject: failure',
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
    'Diagnostic-Code: smtp; 550 5.1.1 gone',
    '',
    '--B--',
    '',
  ].join('\r\n');

describe('SRS bounce addresses', () => {
  it('one older than 21 days is refused at RCPT and changes nothing; a tampered one too; a fresh one is taken', async () => {
    const clock = fakeClock(Date.now());
    api = testApi({ DNS_SERVERS: dns.address, OUTBOUND_SMTP_PORT: String(mx.port) }, { now: clock.now });
    const { token } = await signup(api);
    const d = await sendingDomain(api, token);
    dns.set([d.dkimRecord, { name: 'dest.test', type: 'MX', value: 'mx.dest.test' }, { name: 'mx.dest.test', type: 'A', value: '127.0.0.1' }]);
    expect((await api.call('POST', '/api/routes', { token, body: { domain_id: d.id, match: 'fwd@example.com', action: 'forward', destination: 'me@dest.test' } })).status).toBe(201);
    const worker = createOutboundWorker(api.deps, { random: () => 0.5 });
    smtp = await startSmtp(api.deps);
    await smtp.transport.sendMail({ envelope: { from: 'orig@sender.test', to: ['fwd@example.com'] }, raw: ORIGINAL });
    await worker.runOnce();
    const srs = mx.mails[0]!.mailFrom;
    expect(srs).toMatch(/^SRS0=/);
    const fwd = (api.deps.db.prepare("SELECT id FROM sends WHERE kind = 'forward'").get() as { id: string }).id;
    const status = async () => (await api.deps.repos.sends.recipients(fwd))[0]!.status;

    // Another forwarding domain, a changed original sender: the hash no longer holds.
    for (const forged of [srs.replace(/@example\.com$/, '@other.test'), srs.replace('=orig@', '=victim@')]) {
      await expect(smtp.transport.sendMail({ envelope: { from: '', to: [forged] }, raw: dsn(forged, 'me@dest.test') })).rejects.toMatchObject({ responseCode: 550 });
    }
    clock.advance(22 * DAY);
    await expect(smtp.transport.sendMail({ envelope: { from: '', to: [srs] }, raw: dsn(srs, 'me@dest.test') })).rejects.toMatchObject({ responseCode: 550 });
    expect(await status()).toBe('sent');
    clock.advance(-20 * DAY);
    expect((await smtp.transport.sendMail({ envelope: { from: '', to: [srs] }, raw: dsn(srs, 'me@dest.test') })).accepted).toEqual([srs]);
    expect(await status()).toBe('bounced');
  });
});

describe('forward loops', () => {
  // This held on main too: kept as the record of what it does.
  it('account A forwards to B\'s domain and B forwards back to A, through our own SMTP server: each route forwards once, then it stops', async () => {
    // Both domains' MX is this Mailhook: what the worker sends comes back in over SMTP.
    const port = await freePort();
    api = testApi({ DNS_SERVERS: dns.address, OUTBOUND_SMTP_PORT: String(port) });
    smtp = await startSmtp(api.deps, {}, port);
    const a = await signup(api);
    const b = await signup(api);
    const da = await sendingDomain(api, a.token, 'a.test');
    const db = await sendingDomain(api, b.token, 'b.test');
    dns.set([
      da.dkimRecord, db.dkimRecord,
      { name: 'a.test', type: 'MX', value: 'mx.loop.test' }, { name: 'b.test', type: 'MX', value: 'mx.loop.test' }, { name: 'mx.loop.test', type: 'A', value: '127.0.0.1' },
    ]);
    expect((await api.call('POST', '/api/routes', { token: a.token, body: { domain_id: da.id, match: 'fwd@a.test', action: 'forward', destination: 'fwd@b.test' } })).status).toBe(201);
    expect((await api.call('POST', '/api/routes', { token: b.token, body: { domain_id: db.id, match: 'fwd@b.test', action: 'forward', destination: 'fwd@a.test' } })).status).toBe(201);
    const worker = createOutboundWorker(api.deps, { random: () => 0.5 });
    await smtp.transport.sendMail({ envelope: { from: 'orig@sender.test', to: ['fwd@a.test'] }, raw: ORIGINAL.replace('fwd@example.com', 'fwd@a.test') });
    for (let i = 0; i < 6; i++) await worker.runOnce();
    const sends = api.deps.db.prepare("SELECT d.name, r.status FROM sends s JOIN domains d ON d.id = s.domain_id JOIN send_recipients r ON r.send_id = s.id WHERE s.kind = 'forward' ORDER BY s.created_at").all();
    expect(sends).toEqual([{ name: 'a.test', status: 'sent' }, { name: 'b.test', status: 'sent' }]);
    // The original at A, A's forward at B, B's forward back at A (stored, not forwarded again).
    expect(api.deps.db.prepare('SELECT count(*) AS n FROM messages').get()).toEqual({ n: 3 });
  });
});
