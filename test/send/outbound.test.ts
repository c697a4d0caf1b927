import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dkimVerify, type DNSResolver } from 'mailauth';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAuthResolver } from '../../src/parse/auth.js';
import { closeTransfers } from '../../src/send/transfer.js';
import { BATCH, createOutboundWorker, OUTBOUND_PER_DESTINATION, type OutboundWorker } from '../../src/send/outbound-worker.js';
import { MAX_RECIPIENTS } from '../../src/send/request.js';
import { signup, testApi, type TestApi } from '../helpers/api.js';
import { fakeClock, type FakeClock } from '../helpers/deps.js';
import { startSmtp } from '../helpers/smtp.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { startMxServer, type MxServer } from '../helpers/mx-server.js';
import { sendingDomain, type SendingDomain } from '../helpers/sending.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

let dns: TestDnsServer;
let mx: MxServer;
let hooks: WebhookReceiver;
let api: TestApi;
let clock: FakeClock;
let worker: OutboundWorker;
let token: string;
let domain: SendingDomain;
let secret: string;

beforeAll(async () => {
  [dns, mx, hooks] = await Promise.all([startDnsServer(), startMxServer(), startWebhookReceiver()]);
});
afterAll(async () => {
  await Promise.all([dns.close(), mx.close(), hooks.close()]);
});

async function setup(env: Record<string, string> = {}) {
  clock = fakeClock(Date.now());
  api = testApi({ DNS_SERVERS: dns.address, OUTBOUND_SMTP_PORT: String(mx.port), ...env }, { now: clock.now });
  ({ token } = await signup(api));
  domain = await sendingDomain(api, token, 'example.com');
  secret = (await api.call('PUT', `/api/domains/${domain.id}/webhook`, { token, body: { url: hooks.url } })).body.secret;
  dns.set([
    domain.dkimRecord,
    { name: 'dest.test', type: 'MX', value: 'mx.dest.test' },
    { name: 'mx.dest.test', type: 'A', value: '127.0.0.1' },
  ]);
  worker = createOutboundWorker(api.deps, { random: () => 0.5 });
}

beforeEach(() => {
  mx.mails.length = 0;
  mx.onRcpt = () => undefined;
  mx.onData = () => undefined;
  hooks.requests.length = 0;
});
afterEach(async () => {
  // Kept SMTP connections would hold the test servers open.
  closeTransfers();
  await api?.deps.cleanup();
});

const send = (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  api.call('POST', '/v1/send', { token, body: { from: 'Support <support@example.com>', subject: 'Hello', text: 'Hi there', ...body }, headers });

/** Event bodies verified with the public standardwebhooks library. */
function events() {
  const wh = new Webhook(secret);
  return hooks.requests.map((r) => wh.verify(r.body, r.headers as Record<string, string>) as { type: string; data: Record<string, unknown> });
}

const recipients = async (id: string) => (await api.deps.repos.sends.recipients(id)).map((r) => [r.address, r.status]);

describe('outbound queue, direct to MX', () => {
  it('delivers to the MX found in DNS: one connection, a transaction per recipient with its own VERP address, bytes as stored, DKIM pass, email.sent', async () => {
    await setup();
    const res = await send({ to: ['a@dest.test', 'b@dest.test'], html: '<p>hi</p>' });
    expect(res.status).toBe(202);
    const before = mx.connections;
    await worker.runOnce();
    expect(mx.mails).toHaveLength(2);
    expect(mx.connections - before).toBe(1);
    expect(mx.mails.map((m) => m.rcptTo)).toEqual([['a@dest.test'], ['b@dest.test']]);
    // VERP, tagged for the recipient (src/send/envelope.ts): the two addresses differ.
    for (const m of mx.mails) expect(m.mailFrom).toMatch(new RegExp(`^bounce\\+${res.body.id}-[0-9a-f]{16}@example\\.com$`));
    expect(mx.mails[0]!.mailFrom).not.toBe(mx.mails[1]!.mailFrom);
    const got = mx.mails[0]!;
    expect(got.raw.equals((await api.deps.repos.sends.raw(res.body.id))!)).toBe(true);
    expect(mx.mails[1]!.raw.equals(got.raw)).toBe(true);
    const verified = await dkimVerify(got.raw, { resolver: createAuthResolver([dns.address], 2000) as DNSResolver });
    expect(verified.results[0]).toMatchObject({ status: { result: 'pass' }, signingDomain: 'example.com' });
    expect(await recipients(res.body.id)).toEqual([['a@dest.test', 'sent'], ['b@dest.test', 'sent']]);

    await worker.runOnce();
    const evs = events();
    expect(evs.map((e) => [e.type, e.data.recipient])).toEqual([['email.sent', 'a@dest.test'], ['email.sent', 'b@dest.test']]);
    expect(evs[0]!.data).toMatchObject({ send_id: res.body.id, domain: 'example.com', status: 'sent', smtp: { code: 250, mx: `mx.dest.test:${mx.port}` } });

    const view = await api.call('GET', `/api/sends/${res.body.id}`, { token });
    expect(view.status).toBe(200);
    expect(view.body.recipients[0]).toMatchObject({ address: 'a@dest.test', status: 'sent', attempts: [{ code: 250 }] });
  });

  it('451 then 250: deferred with email.delivery_delayed, retried after the back-off, then sent with email.sent', async () => {
    await setup();
    let refused = 0;
    mx.onRcpt = () => (refused++ === 0 ? { code: 451, message: '4.7.1 greylisted, try later' } : undefined);
    const res = await send({ to: 'grey@dest.test' });
    await worker.runOnce();
    expect(mx.mails).toHaveLength(0);
    const r = (await api.deps.repos.sends.recipients(res.body.id))[0]!;
    expect(r).toMatchObject({ status: 'deferred', lastCode: 451 });
    expect(r.nextAttemptAt! - clock.now()).toBe(60_000);
    await worker.runOnce(); // posts the event; the recipient is not due yet
    expect(mx.mails).toHaveLength(0);
    clock.advance(60_000);
    await worker.runOnce();
    expect(mx.mails).toHaveLength(1);
    await worker.runOnce();
    expect(events().map((e) => e.type)).toEqual(['email.delivery_delayed', 'email.sent']);
    expect(events()[0]!.data.smtp).toMatchObject({ code: 451, reply: expect.stringContaining('greylisted') });
    expect(await recipients(res.body.id)).toEqual([['grey@dest.test', 'sent']]);
  });

  it('the first attempt takes the send just committed from memory; a retry reads it back (issue #12)', async () => {
    await setup();
    const reads: string[] = [];
    const sends = api.deps.repos.sends as { -readonly [K in keyof typeof api.deps.repos.sends]: (typeof api.deps.repos.sends)[K] };
    const { getById, raw } = sends;
    sends.getById = async (id: string) => (reads.push('getById'), getById.call(sends, id));
    sends.raw = async (id: string) => (reads.push('raw'), raw.call(sends, id));
    try {
      let refused = 0;
      mx.onRcpt = () => (refused++ === 0 ? { code: 451, message: '4.7.1 greylisted, try later' } : undefined);
      const res = await send({ to: 'fresh@dest.test' });
      await worker.runOnce();
      expect(await recipients(res.body.id)).toEqual([['fresh@dest.test', 'deferred']]);
      expect(reads).toEqual([]);
      clock.advance(60_000);
      await worker.runOnce();
      expect(reads).toEqual(['getById', 'raw']);
      expect(mx.mails).toHaveLength(1);
      expect(mx.mails[0]!.raw.equals((await raw.call(sends, res.body.id))!)).toBe(true);
    } finally {
      Object.assign(sends, { getById, raw });
    }
  });

  it('550: bounced with the remote reply, suppressed; the next send marks it suppressed and still sends to the others', async () => {
    await setup();
    mx.onRcpt = (a) => (a === 'gone@dest.test' ? { code: 550, message: '5.1.1 no such user' } : undefined);
    const first = await send({ to: ['gone@dest.test', 'ok@dest.test'] });
    await worker.runOnce();
    await worker.runOnce();
    expect(await recipients(first.body.id)).toEqual([['gone@dest.test', 'bounced'], ['ok@dest.test', 'sent']]);
    const bounced = events().find((e) => e.type === 'email.bounced')!;
    expect(bounced.data).toMatchObject({ recipient: 'gone@dest.test', smtp: { code: 550, reply: expect.stringContaining('no such user') } });
    const list = await api.call('GET', '/api/suppressions', { token });
    expect(list.body.data).toEqual([expect.objectContaining({ address: 'gone@dest.test', reason: 'bounce', send_id: first.body.id })]);
    // One address, in any case (DESIGN §7: GET/DELETE /api/suppressions(/:address)); 404 for one that is not.
    const one = await api.call('GET', '/api/suppressions/Gone@Dest.test', { token });
    expect(one.status).toBe(200);
    expect(one.body).toEqual(list.body.data[0]);
    expect(await api.call('GET', '/api/suppressions/ok@dest.test', { token })).toMatchObject({ status: 404, body: { error: 'suppression not found' } });

    mx.mails.length = 0;
    const second = await send({ to: ['gone@dest.test', 'ok@dest.test'] });
    expect(await recipients(second.body.id)).toEqual([['gone@dest.test', 'suppressed'], ['ok@dest.test', 'queued']]);
    await worker.runOnce();
    expect(mx.mails.map((m) => m.rcptTo)).toEqual([['ok@dest.test']]);

    const del = await api.call('DELETE', '/api/suppressions/gone@dest.test', { token });
    expect(del.status).toBe(204);
    expect((await api.call('GET', '/api/suppressions', { token })).body.data).toEqual([]);
    expect((await api.call('GET', '/api/suppressions/gone@dest.test', { token })).status).toBe(404);
  });

  it('the same Idempotency-Key twice puts one message at the MX', async () => {
    await setup();
    const a = await send({ to: 'once@dest.test' }, { 'idempotency-key': 'same' });
    const b = await send({ to: 'once@dest.test' }, { 'idempotency-key': 'same' });
    expect(b.body).toEqual(a.body);
    await worker.runOnce();
    await worker.runOnce();
    expect(mx.mails).toHaveLength(1);
  });

  it('an MX that refuses the connection: a deferral (retried), not a bounce', async () => {
    const closed = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const port = (srv.address() as AddressInfo).port;
        srv.close(() => resolve(port));
      });
    });
    await setup({ OUTBOUND_SMTP_PORT: String(closed) });
    const res = await send({ to: 'x@dest.test' });
    await worker.runOnce();
    expect((await api.deps.repos.sends.recipients(res.body.id))[0]).toMatchObject({ status: 'deferred', lastCode: null, attempts: 1 });
    const view = await api.call('GET', `/api/sends/${res.body.id}`, { token });
    expect(view.body.recipients[0].attempts[0].error).toMatch(/ECONNREFUSED|ECONNECTION|ESOCKET/);
    // A manual retry makes it due now instead of in a minute.
    await worker.runOnce();
    expect((await api.deps.repos.sends.recipients(res.body.id))[0]!.attempts).toBe(1);
    const retried = await api.call('POST', `/api/sends/${res.body.id}/retry`, { token });
    expect(retried.status).toBe(200);
    await worker.runOnce();
    expect((await api.deps.repos.sends.recipients(res.body.id))[0]).toMatchObject({ status: 'deferred', attempts: 2 });
    expect((await api.call('POST', '/api/sends/snd_unknown/retry', { token })).status).toBe(404);
  });
});

describe('bounces that come later', () => {
  const dsn = (to: string, recipient: string) =>
    [
      'From: Mail Delivery System <MAILER-DAEMON@mx.dest.test>',
      `To: ${to}`,
      'Subject: Undelivered Mail Returned to Sender',
      'MIME-Version: 1.0',
      'Content-Type: multipart/report; report-type=delivery-status; boundary="B"',
      '',
      '--B',
      'Content-Type: text/plain',
      '',
      'Your message could not be delivered.',
      '--B',
      'Content-Type: message/delivery-status',
      '',
      'Reporting-MTA: dns; mx.dest.test',
      '',
      `Final-Recipient: rfc822; ${recipient}`,
      'Action: failed',
      'Status: 5.2.1',
      'Diagnostic-Code: smtp; 550 5.2.1 mailbox disabled',
      '',
      '--B--',
      '',
    ].join('\r\n');

  it('a DSN over SMTP to the send\'s bounce address marks the recipient bounced, suppresses it and posts email.bounced', async () => {
    await setup();
    const res = await send({ to: ['later@dest.test', 'fine@dest.test'] });
    await worker.runOnce();
    expect(await recipients(res.body.id)).toEqual([['later@dest.test', 'sent'], ['fine@dest.test', 'sent']]);
    const bounceTo = mx.mails[0]!.mailFrom;
    const smtp = await startSmtp(api.deps);
    try {
      const info = await smtp.transport.sendMail({ envelope: { from: '', to: [bounceTo] }, raw: dsn(bounceTo, 'later@dest.test') });
      expect(info.accepted).toEqual([bounceTo]);
      // No route and no catch-all needed for a send's own bounce address; an unknown send's is refused at RCPT.
      await api.deps.repos.domains.setWebhook(domain.id, null, null);
      expect((await smtp.transport.sendMail({ envelope: { from: '', to: [bounceTo] }, raw: dsn(bounceTo, 'later@dest.test') })).accepted).toEqual([bounceTo]);
      const fake = bounceTo.replace(/snd_\w{6}/, 'snd_000000');
      await expect(smtp.transport.sendMail({ envelope: { from: '', to: [fake] }, raw: dsn(fake, 'fine@dest.test') })).rejects.toMatchObject({ responseCode: 550 });
    } finally {
      await smtp.close();
    }
    expect(await recipients(res.body.id)).toEqual([['later@dest.test', 'bounced'], ['fine@dest.test', 'sent']]);
    expect(await api.deps.repos.sends.isSuppressed((await api.deps.repos.sends.getById(res.body.id))!.userId, 'later@dest.test')).toBe(true);
    await worker.runOnce();
    const bounced = events().find((e) => e.type === 'email.bounced')!;
    expect(bounced.data).toMatchObject({ recipient: 'later@dest.test', smtp: { code: 550, reply: '550 5.2.1 mailbox disabled', mx: 'dsn' } });
    // Nothing was stored as an inbound message.
    expect(api.deps.db.prepare('SELECT count(*) AS n FROM messages').get()).toEqual({ n: 0 });
  });
});

describe('outbound queue, through SMTP_RELAY', () => {
  it('uses the relay with AUTH over STARTTLS (self-signed certificate made here)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mailhook-relay-'));
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=relay.test'], { stdio: 'ignore' });
    const logins: string[] = [];
    const relay = await startMxServer({
      key: readFileSync(key),
      cert: readFileSync(cert),
      authMethods: ['PLAIN', 'LOGIN'],
      authOptional: false,
      allowInsecureAuth: false,
      onAuth(auth, session, cb) {
        if (!session.secure) return cb(new Error('TLS first'));
        logins.push(`${auth.username}:${auth.password}`);
        if (auth.username === 'relayuser' && auth.password === 'p@ss') return cb(null, { user: 'relayuser' });
        cb(new Error('bad credentials'));
      },
    });
    try {
      await setup({ SMTP_RELAY: `smtp://relayuser:${encodeURIComponent('p@ss')}@127.0.0.1:${relay.port}` });
      const res = await send({ to: ['a@far.test', 'b@elsewhere.test'] });
      await worker.runOnce();
      expect(relay.mails).toHaveLength(2);
      expect(relay.mails[0]).toMatchObject({ secure: true, user: 'relayuser', rcptTo: ['a@far.test'] });
      expect(relay.mails[1]).toMatchObject({ secure: true, user: 'relayuser', rcptTo: ['b@elsewhere.test'] });
      expect(relay.mails[0]!.mailFrom).not.toBe(relay.mails[1]!.mailFrom);
      expect(logins).toEqual(['relayuser:p@ss']);
      expect(await recipients(res.body.id)).toEqual([['a@far.test', 'sent'], ['b@elsewhere.test', 'sent']]);
      expect(mx.mails).toHaveLength(0);
    } finally {
      closeTransfers();
      await relay.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a pass reads only what it can start (issue #12)', () => {
  it('reads at most BATCH due rows per free slot of a destination, and still delivers them all', async () => {
    await setup();
    const ids: string[] = [];
    for (let i = 0; i < 45; i++) ids.push((await send({ to: [`a${i}@dest.test`, `b${i}@dest.test`] })).body.id);
    // The real queue, its read counted.
    const q = api.deps.repos.outbound as { -readonly [K in keyof typeof api.deps.repos.outbound]: (typeof api.deps.repos.outbound)[K] };
    const dueFor = q.dueFor.bind(q);
    const reads: { limit: number; rows: number }[] = [];
    q.dueFor = async (dest, now, limit) => {
      const rows = await dueFor(dest, now, limit);
      reads.push({ limit, rows: rows.length });
      return rows;
    };
    await worker.runOnce();
    // 90 rows due at one destination, 4 free slots of 20 sends: one read of 80 rows, not all 90.
    // The read stopped at its limit, so its last send (maybe cut in two) waits for the next pass.
    const free = OUTBOUND_PER_DESTINATION * BATCH;
    expect(reads).toEqual([{ limit: free, rows: free }]);
    expect(mx.mails).toHaveLength(free - 2); // a transaction per recipient
    await worker.runOnce();
    expect(reads[1]).toEqual({ limit: free, rows: 90 - free + 2 });
    expect(mx.mails).toHaveLength(90);
    for (const id of ids) expect((await recipients(id)).every(([, status]) => status === 'sent')).toBe(true);
  });

  it('a send whose recipients at one destination a read cuts in two: every recipient gets one transaction, none twice', async () => {
    await setup();
    // 35 one-recipient sends, then one to 50 addresses at the same destination: 85 rows, read 80 at a time.
    for (let i = 0; i < 35; i++) await send({ to: [`s${i}@dest.test`] });
    const big = Array.from({ length: MAX_RECIPIENTS }, (_, i) => `m${i}@dest.test`);
    const { id } = (await send({ to: big })).body;
    await worker.runOnce();
    await worker.runOnce();
    expect(mx.mails).toHaveLength(35 + MAX_RECIPIENTS);
    expect(mx.mails.every((m) => m.rcptTo.length === 1)).toBe(true);
    expect(mx.mails.filter((m) => m.rcptTo[0]!.startsWith('m')).map((m) => m.rcptTo[0]).sort()).toEqual([...big].sort());
    expect((await recipients(id)).every(([, status]) => status === 'sent')).toBe(true);
  });

  it('the events of an outcome are posted from memory after its commit: no event read, no lease of their own; past the pool they wait for a place (issue 12)', async () => {
    await setup();
    const q = api.deps.repos.outbound as { -readonly [K in keyof typeof api.deps.repos.outbound]: (typeof api.deps.repos.outbound)[K] };
    const calls: string[] = [];
    const { dueEvents, leaseEvent } = q;
    q.dueEvents = (now, limit) => (calls.push('dueEvents'), dueEvents.call(q, now, limit));
    q.leaseEvent = (id, now, until) => (calls.push('leaseEvent'), leaseEvent.call(q, id, now, until));
    const res = await send({ to: ['a@dest.test', 'b@dest.test'] });
    await worker.runOnce(); // delivered, and its events posted: one pass
    expect(events().map((e) => [e.type, e.data.recipient])).toEqual([['email.sent', 'a@dest.test'], ['email.sent', 'b@dest.test']]);
    expect(calls).toEqual([]);
    const rows = api.deps.db.prepare('SELECT status, attempts, last_status FROM send_events WHERE send_id = ? ORDER BY id').all(res.body.id);
    expect(rows).toEqual([
      { status: 'delivered', attempts: 1, last_status: 200 },
      { status: 'delivered', attempts: 1, last_status: 200 },
    ]);

    // 50 at once, more than the pool's 16: all from memory, at most 16 at a time.
    hooks.requests.length = 0;
    let open = 0;
    let most = 0;
    hooks.setDefault(() => {
      most = Math.max(most, ++open);
      setTimeout(() => open--, 30); // before the answer, due at the same time
      return { delayMs: 30 };
    });
    await send({ to: Array.from({ length: MAX_RECIPIENTS }, (_, i) => `r${i}@dest.test`) });
    await worker.runOnce();
    hooks.setDefault({});
    expect(hooks.requests).toHaveLength(MAX_RECIPIENTS);
    expect(most).toBe(16);
    expect(calls).toEqual([]);
  });

  it('no event query while the event pool is full; a finished event kicks the loop for the rest', async () => {
    await setup();
    // 20 email.sent events, posted from memory by the pass that delivers, refused: their retries
    // are the passes' to read.
    await send({ to: Array.from({ length: 20 }, (_, i) => `r${i}@dest.test`) });
    hooks.setDefault({ status: 503 });
    await worker.runOnce();
    expect(mx.mails).toHaveLength(20);
    expect(hooks.requests).toHaveLength(20);
    clock.advance(60_000); // past the first retry (30 s)
    const q = api.deps.repos.outbound as { -readonly [K in keyof typeof api.deps.repos.outbound]: (typeof api.deps.repos.outbound)[K] };
    const dueEvents = q.dueEvents.bind(q);
    let eventReads = 0;
    q.dueEvents = (now, limit) => {
      eventReads++;
      return dueEvents(now, limit);
    };
    hooks.setDefault({ delayMs: 400 });
    worker.start();
    await hooks.waitFor(36); // the pool (16) is full, its requests unanswered
    await new Promise((r) => setTimeout(r, 20));
    const readsWhenFull = eventReads;
    for (let i = 0; i < 50; i++) {
      worker.kick();
      await new Promise((r) => setImmediate(r));
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(eventReads - readsWhenFull).toBe(0);
    hooks.setDefault({});
    await hooks.waitFor(40, 3000);
    await worker.stop();
    expect(events().filter((e) => e.type === 'email.sent')).toHaveLength(40);
  });
});
