import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dkimVerify } from 'mailauth';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openDb } from '../../src/db/open.js';
import { closeTransfers } from '../../src/send/transfer.js';
import { createOutboundWorker } from '../../src/send/outbound-worker.js';
import { signup, testApi, type TestApi } from '../helpers/api.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { startMxServer, type MxServer } from '../helpers/mx-server.js';
import { sendingDomain, staticResolver } from '../helpers/sending.js';
import { startSmtp } from '../helpers/smtp.js';

let dns: TestDnsServer;
let mx: MxServer;
let api: TestApi;
beforeAll(async () => {
  [dns, mx] = await Promise.all([startDnsServer(), startMxServer()]);
});
afterAll(() => Promise.all([dns.close(), mx.close()]));
afterEach(() => {
  // Kept SMTP connections would hold the test servers open.
  closeTransfers();
  api?.deps.cleanup();
});

const ORIGINAL = [
  'From: Orig <orig@sender.test>',
  'To: fwd@example.com',
  'Subject: =?UTF-8?Q?caf=C3=A9?= forward me',
  'Message-ID: <orig-1@sender.test>',
  'MIME-Version: 1.0',
  'Content-Type: text/plain; charset=utf-8',
  'Content-Transfer-Encoding: 8bit',
  '',
  'Body line one \u00e9',
  'trailing spaces   ',
  '',
].join('\r\n');

describe('forward routes', () => {
  it('validates the destination as an email address', async () => {
    api = testApi();
    const { token } = await signup(api);
    const d = await sendingDomain(api, token);
    const base = { domain_id: d.id, match: 'fwd@example.com', action: 'forward' };
    let res = await api.call('POST', '/api/routes', { token, body: base });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/^destination: required for forward routes/);
    res = await api.call('POST', '/api/routes', { token, body: { ...base, destination: 'https://example.org/hook' } });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/^destination: not an email address/);
    res = await api.call('POST', '/api/routes', { token, body: { ...base, destination: 'Me <me@dest.test>' } });
    expect(res.status).toBe(400);
    res = await api.call('POST', '/api/routes', { token, body: { ...base, destination: 'me@dest.test' } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ action: 'forward', destination: 'me@dest.test' });
  });

  it('forwards byte-identical with an SRS envelope sender; a looped copy is not forwarded again; a bounce to the SRS address is matched', async () => {
    api = testApi({ DNS_SERVERS: dns.address, OUTBOUND_SMTP_PORT: String(mx.port) });
    const { token } = await signup(api);
    const d = await sendingDomain(api, token);
    dns.set([d.dkimRecord, { name: 'dest.test', type: 'MX', value: 'mx.dest.test' }, { name: 'mx.dest.test', type: 'A', value: '127.0.0.1' }]);
    const route = await api.call('POST', '/api/routes', { token, body: { domain_id: d.id, match: 'fwd@example.com', action: 'forward', destination: 'me@dest.test' } });
    expect(route.status).toBe(201);
    const worker = createOutboundWorker(api.deps, { random: () => 0.5 });
    const smtp = await startSmtp(api.deps);
    try {
      await smtp.transport.sendMail({ envelope: { from: 'orig@sender.test', to: ['fwd@example.com'] }, raw: ORIGINAL });
      await worker.runOnce();
      expect(mx.mails).toHaveLength(1);
      const got = mx.mails[0]!;
      expect(got.rcptTo).toEqual(['me@dest.test']);
      expect(got.mailFrom).toMatch(/^SRS0=[^=]{4}=[a-z2-7]{2}=sender\.test=orig@example\.com$/);
      // The original follows the prepended loop mark and signature byte for byte.
      const original = Buffer.from(ORIGINAL);
      expect(got.raw.subarray(got.raw.length - original.length).equals(original)).toBe(true);
      expect(got.raw.toString()).toContain(`X-Mailhook-Forwarded: ${route.body.id}\r\n`);
      // The forwarding domain's signature covers the loop mark and the original as they went out.
      const verified = await dkimVerify(got.raw, { resolver: staticResolver([d.dkimRecord]) });
      expect(verified.results.map((r) => [r.signingDomain, r.status.result])).toEqual([['example.com', 'pass']]);
      // The forward shows on the message like a delivery: status and attempts.
      const msgId = (api.deps.db.prepare('SELECT id FROM messages').get() as { id: string }).id;
      const view = await api.call('GET', `/api/messages/${msgId}`, { token });
      expect(view.body.forwards).toEqual([
        expect.objectContaining({ kind: 'forward', status: 'sent', recipients: [expect.objectContaining({ address: 'me@dest.test', status: 'sent', attempts: [expect.objectContaining({ code: 250 })] })] }),
      ]);

      const sends = () => api.deps.db.prepare("SELECT count(*) AS n FROM sends WHERE kind = 'forward'").get();
      expect(sends()).toEqual({ n: 1 });
      // The forwarded copy comes back (the destination forwards to us again): stored, not forwarded again.
      await smtp.transport.sendMail({ envelope: { from: 'me@dest.test', to: ['fwd@example.com'] }, raw: got.raw });
      await worker.runOnce();
      expect(sends()).toEqual({ n: 1 });
      expect(mx.mails).toHaveLength(1);
      expect(api.deps.db.prepare('SELECT count(*) AS n FROM messages').get()).toEqual({ n: 2 });

      const dsn = [
        `To: ${got.mailFrom}`,
        'Subject: failure',
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"',
        '',
        '--B',
        'Content-Type: message/delivery-status',
        '',
        'Reporting-MTA: dns; mx.dest.test',
        '',
        'Final-Recipient: rfc822; me@dest.test',
        'Action: failed',
        'Status: 5.1.1',
        'Diagnostic-Code: smtp; 550 5.1.1 gone',
        '',
        '--B--',
        '',
      ].join('\r\n');
      const info = await smtp.transport.sendMail({ envelope: { from: '', to: [got.mailFrom] }, raw: dsn });
      expect(info.accepted).toEqual([got.mailFrom]);
      const fwd = api.deps.db.prepare("SELECT id FROM sends WHERE kind = 'forward'").get() as { id: string };
      expect((await api.deps.repos.sends.recipients(fwd.id))[0]).toMatchObject({ address: 'me@dest.test', status: 'bounced', lastCode: 550 });
      // A forged SRS address (wrong hash) is not a bounce address.
      const forged = got.mailFrom.replace(/^SRS0=[^=]{4}=/, 'SRS0=zzzz=');
      await expect(smtp.transport.sendMail({ envelope: { from: '', to: [forged] }, raw: dsn })).rejects.toMatchObject({ responseCode: 550 });
    } finally {
      await smtp.close();
    }
  });

  it('an older database: routes is rebuilt so action may be forward, rows and other columns kept', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mailhook-routes-'));
    try {
      const file = join(dir, 'mailhook.db');
      const old = new Database(file);
      old.exec(`CREATE TABLE routes (
        id TEXT PRIMARY KEY, user_id TEXT NOT NULL, domain_id TEXT NOT NULL, match TEXT NOT NULL,
        action TEXT NOT NULL CHECK (action IN ('webhook', 'store', 'drop', 'reject')), destination TEXT, secret TEXT,
        priority INTEGER NOT NULL DEFAULT 100, stop INTEGER NOT NULL DEFAULT 0, filters TEXT, enabled INTEGER NOT NULL DEFAULT 1,
        created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, extra TEXT) STRICT;
        INSERT INTO routes (id, user_id, domain_id, match, action, created_at, updated_at, extra) VALUES ('rte_1', 'u', 'd', '*@a.test', 'store', 1, 1, 'kept');`);
      old.close();
      const db = openDb(file);
      db.pragma('foreign_keys = OFF');
      expect(db.prepare('SELECT id, action, extra FROM routes').all()).toEqual([{ id: 'rte_1', action: 'store', extra: 'kept' }]);
      db.prepare("INSERT INTO routes (id, user_id, domain_id, match, action, destination, created_at, updated_at) VALUES ('rte_2', 'u', 'd', 'x@a.test', 'forward', 'me@b.test', 1, 1)").run();
      expect(db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'routes' AND name = 'routes_domain'").get()).toEqual({ name: 'routes_domain' });
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
