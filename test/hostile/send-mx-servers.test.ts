import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closeTransfers, transfer } from '../../src/send/transfer.js';
import { createOutboundWorker } from '../../src/send/outbound-worker.js';
import { signup, testApi, type TestApi } from '../helpers/api.js';
import { fakeClock } from '../helpers/deps.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { startMxServer, type MxServer } from '../helpers/mx-server.js';
import { sendingDomain } from '../helpers/sending.js';

/**
 * Broken and hostile receiving MX servers (DESIGN §9): each must end as a retry or a bounce with
 * the remote reply recorded, the worker alive, no other destination held up, nothing lost.
 * A raw `net` server plays the hostile MX.
 */
interface Hostile {
  port: number;
  sockets: Socket[];
  close(): Promise<void>;
}

async function hostile(onConn: (s: Socket) => void, host = '127.0.0.1', port = 0): Promise<Hostile> {
  const sockets: Socket[] = [];
  const srv: Server = createServer((s) => {
    sockets.push(s);
    s.on('error', () => undefined);
    onConn(s);
  });
  await new Promise<void>((resolve) => srv.listen(port, host, resolve));
  return {
    port: (srv.address() as AddressInfo).port,
    sockets,
    close: () => new Promise((resolve) => {
      sockets.forEach((s) => s.destroy());
      srv.close(() => resolve());
    }),
  };
}

/** A server that answers each command line (and the end of DATA, as '.') with `reply`'s text, if any. */
function scripted(reply: (line: string, s: Socket) => string | null, greeting = '220 mx.test ESMTP\r\n') {
  return (s: Socket) => {
    s.write(greeting);
    let buf = '';
    let inData = false;
    s.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      for (let i = buf.indexOf('\r\n'); i >= 0; i = buf.indexOf('\r\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (inData && line !== '.') continue;
        if (/^DATA/i.test(line)) inData = true;
        if (line === '.') inData = false;
        const r = reply(line, s);
        if (r && !s.destroyed) s.write(r);
      }
    });
  };
}
const normal = (line: string) =>
  /^EHLO/i.test(line) ? '250-mx.test\r\n250 PIPELINING\r\n' : /^(MAIL|RCPT|RSET)/i.test(line) ? '250 ok\r\n' : /^DATA/i.test(line) ? '354 go on\r\n' : line === '.' ? '250 queued\r\n' : /^QUIT/i.test(line) ? '221 bye\r\n' : '500 what\r\n';

/** Writes one byte of a reply every `ms`, never finishing it. */
const drip = (s: Socket, ms: number) => {
  const t = setInterval(() => !s.destroyed && s.write('2'), ms);
  s.on('close', () => clearInterval(t));
};

const raw = Buffer.from('From: a@example.com\r\nTo: r@dest.test\r\nSubject: x\r\n\r\nbody\r\n');

let servers: Hostile[] = [];
afterEach(async () => {
  closeTransfers();
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

describe('one transaction against a hostile MX (transfer)', () => {
  const one = async (onConn: (s: Socket) => void, deadline?: number) => {
    const h = await hostile(onConn);
    servers.push(h);
    const started = Date.now();
    const r = await transfer({ mailFrom: 'bounce@example.com', recipients: ['r@dest.test'], raw }, { kind: 'mx', mx: { host: 'mx.dest.test', ip: '127.0.0.1' }, port: h.port, helo: 'mailhook.test' }, deadline);
    return { ...r, ms: Date.now() - started, h };
  };

  it('a reply dripped a byte at a time (idle timeout never fires) ends at the deadline: no code, connection closed', async () => {
    const r = await one(scripted((line, s) => (line === '.' ? (drip(s, 200), null) : normal(line))), Date.now() + 1500);
    expect(r.results[0]).toMatchObject({ code: null, reply: expect.stringMatching(/ETIMEDOUT.*deadline/) });
    expect(r.ms).toBeGreaterThanOrEqual(1400);
    expect(r.ms).toBeLessThan(5000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(r.h.sockets.every((s) => s.destroyed || s.readableEnded)).toBe(true);
  });

  it('a greeting or EHLO reply dripped forever: the same', async () => {
    const greeting = await one((s) => drip(s, 200), Date.now() + 1000);
    expect(greeting.results[0]!.code).toBeNull();
    expect(greeting.ms).toBeLessThan(4000);
    const ehlo = await one(scripted((line, s) => (/^EHLO/i.test(line) ? (s.write('250-mx.test\r\n'), drip(s, 200), null) : normal(line))), Date.now() + 1000);
    expect(ehlo.results[0]!.code).toBeNull();
    expect(ehlo.ms).toBeLessThan(4000);
  });

  // These held on main too: kept as the record of what each does.
  it.each([
    ['a reply without CRLF, then close', null, (s: Socket) => (s.write('220 mx.test'), setTimeout(() => s.end(), 100))],
    ['250 to DATA, then close', 250, scripted((line, s) => (line === '.' ? (s.end('250 ok\r\n'), null) : normal(line)))],
    ['close in the middle of DATA', null, scripted((line, s) => (/^DATA/i.test(line) ? (s.write('354 go on\r\n'), setTimeout(() => s.destroy(), 5), null) : normal(line)))],
    ['garbage after the greeting', null, scripted(normal, '220 mx.test\r\nGARBAGE\r\n\u0000\u0001\r\n')],
    ['an endless multi-line reply', null, (s: Socket) => (s.write('220-mx.test\r\n'), ((t) => s.on('close', () => clearInterval(t)))(setInterval(() => !s.destroyed && s.write(`220-${'x'.repeat(60_000)}\r\n`), 1)))],
    ['a reply line of megabytes', null, scripted((line, s) => (/^EHLO/i.test(line) ? (s.write('250-'), ((t) => s.on('close', () => clearInterval(t)))(setInterval(() => !s.destroyed && s.write('y'.repeat(65_536)), 1)), null) : normal(line)))],
    ['a 550 with a huge multi-line text', 550, scripted((line) => (/^RCPT/i.test(line) ? `550-${'z'.repeat(5000)}\r\n550 5.1.1 no\r\n` : normal(line)))],
  ] as const)('%s: ends with code %s, reply kept short', async (_name, code, onConn) => {
    const r = await one(onConn as (s: Socket) => void);
    expect(r.ms).toBeLessThan(5000);
    expect(r.results[0]!.code).toBe(code);
    expect(r.results[0]!.reply.length).toBeGreaterThan(0);
    expect(r.results[0]!.reply.length).toBeLessThanOrEqual(1024);
  });
});

describe('an MX whose TLS fails (opportunistic STARTTLS)', () => {
  /** Offers STARTTLS; answers it with `starttls` (a 220 followed by bytes that are no TLS, or a refusal). Records each connection's commands. */
  const brokenTls = (starttls: 'garbage' | 'refuse', sessions: string[][], endAfterMessage = false) =>
    (s: Socket) => {
      const commands: string[] = [];
      sessions.push(commands);
      scripted((line, sock) => {
        commands.push(line.split(' ')[0]!.toUpperCase());
        if (/^EHLO/i.test(line)) return '250-mx.test\r\n250 STARTTLS\r\n';
        if (/^STARTTLS/i.test(line)) return starttls === 'refuse' ? '454 4.7.0 TLS not available\r\n' : (setTimeout(() => sock.write('not tls\r\n'), 10), '220 go ahead\r\n');
        if (line === '.' && endAfterMessage) return (sock.end('250 queued\r\n'), null);
        return normal(line);
      })(s);
    };
  const via = (port: number) => ({ kind: 'mx' as const, mx: { host: 'mx.dest.test', ip: '127.0.0.1' }, port, helo: 'mailhook.test' });
  const message = { mailFrom: 'bounce@example.com', recipients: ['r@dest.test'], raw };

  it('a failed handshake: the message goes on a new plaintext connection, and later connections skip STARTTLS', async () => {
    const sessions: string[][] = [];
    const h = await hostile(brokenTls('garbage', sessions, true));
    servers.push(h);
    expect((await transfer(message, via(h.port))).results[0]).toMatchObject({ code: 250, reply: '250 queued' });
    expect(sessions).toEqual([
      ['EHLO', 'STARTTLS'],
      ['EHLO', 'MAIL', 'RCPT', 'DATA', '.'],
    ]);
    // The server closed that connection: the next transaction opens one, in plaintext from the start.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await transfer(message, via(h.port))).results[0]!.code).toBe(250);
    expect(sessions[2]).toEqual(['EHLO', 'MAIL', 'RCPT', 'DATA', '.']);
  });

  it('STARTTLS refused (454): the same connection goes on in plaintext', async () => {
    const sessions: string[][] = [];
    const h = await hostile(brokenTls('refuse', sessions));
    servers.push(h);
    expect((await transfer(message, via(h.port))).results[0]!.code).toBe(250);
    expect(sessions).toEqual([['EHLO', 'STARTTLS', 'MAIL', 'RCPT', 'DATA', '.']]);
  });

  it('a relay never gives its TLS up: a failed handshake is a failed attempt, nothing sent in plaintext', async () => {
    const sessions: string[][] = [];
    const h = await hostile(brokenTls('garbage', sessions));
    servers.push(h);
    const relay = { host: '127.0.0.1', port: h.port, secure: false, requireTls: true, user: null, pass: null };
    const r = await transfer(message, { kind: 'relay', relay, helo: 'mailhook.test', verifyTls: false });
    expect(r.results[0]!.code).toBeNull();
    expect(sessions.flat()).not.toContain('MAIL');
  });
});

describe('the outbound worker against a dripping MX', () => {
  let dns: TestDnsServer;
  let mx: MxServer;
  let api: TestApi;
  beforeAll(async () => {
    [dns, mx] = await Promise.all([startDnsServer(), startMxServer()]);
  });
  afterAll(async () => {
    await Promise.all([dns.close(), mx.close()]);
  });
  afterEach(async () => {
    await api?.deps.cleanup();
  });

  it('its recipient is deferred at the attempt deadline with the reason recorded; another destination is delivered', async () => {
    // The dripping MX listens on 127.0.0.2, the good one on 127.0.0.1, both on OUTBOUND_SMTP_PORT.
    const bad = await hostile(scripted((line, s) => (line === '.' ? (drip(s, 200), null) : normal(line))), '127.0.0.2', mx.port);
    servers.push(bad);
    api = testApi({ DNS_SERVERS: dns.address, OUTBOUND_SMTP_PORT: String(mx.port) }, { now: fakeClock(Date.now()).now });
    const { token } = await signup(api);
    const domain = await sendingDomain(api, token, 'example.com');
    dns.set([
      domain.dkimRecord,
      { name: 'dest.test', type: 'MX', value: 'mx.dest.test' },
      { name: 'mx.dest.test', type: 'A', value: '127.0.0.1' },
      { name: 'drip.test', type: 'MX', value: 'mx.drip.test' },
      { name: 'mx.drip.test', type: 'A', value: '127.0.0.2' },
    ]);
    const worker = createOutboundWorker(api.deps, { random: () => 0.5, attemptMs: 1500 });
    const res = await api.call('POST', '/v1/send', { token, body: { from: 'a@example.com', to: ['x@drip.test', 'y@dest.test'], subject: 's', text: 't' } });
    expect(res.status).toBe(202);
    const started = Date.now();
    await worker.runOnce();
    expect(Date.now() - started).toBeLessThan(6000);
    const rs = await api.deps.repos.sends.recipients(res.body.id);
    expect(rs.map((r) => [r.address, r.status])).toEqual([['x@drip.test', 'deferred'], ['y@dest.test', 'sent']]);
    expect(rs[0]!.lastReply).toMatch(/deadline/);
    expect(mx.mails.map((m) => m.rcptTo)).toEqual([['y@dest.test']]);
    await worker.stop();
  }, 20_000);

  it("an account sending to eight dripping domains does not hold up another destination's mail", async () => {
    const bad = await hostile(scripted((line, s) => (line === '.' ? (drip(s, 200), null) : normal(line))), '127.0.0.2', mx.port);
    servers.push(bad);
    api = testApi({ DNS_SERVERS: dns.address, OUTBOUND_SMTP_PORT: String(mx.port) }, { now: fakeClock(Date.now()).now });
    const { token } = await signup(api);
    const domain = await sendingDomain(api, token, 'example.com');
    const dripping = Array.from({ length: 8 }, (_, i) => `drip${i}.test`);
    dns.set([
      domain.dkimRecord,
      { name: 'dest.test', type: 'MX', value: 'mx.dest.test' },
      { name: 'mx.dest.test', type: 'A', value: '127.0.0.1' },
      ...dripping.flatMap((d) => [
        { name: d, type: 'MX' as const, value: `mx.${d}` },
        { name: `mx.${d}`, type: 'A' as const, value: '127.0.0.2' },
      ]),
    ]);
    // Four sends to each dripping domain: enough for each to fill its four connections, 32 in all, the whole pool.
    for (const d of dripping) {
      for (let i = 0; i < 4; i++) {
        const r = await api.call('POST', '/v1/send', { token, body: { from: 'a@example.com', to: [`x${i}@${d}`], subject: 's', text: 't' } });
        expect(r.status).toBe(202);
      }
    }
    const worker = createOutboundWorker(api.deps, { random: () => 0.5, attemptMs: 6000 });
    worker.start();
    try {
      // The dripping servers hold their connections (and slots) until the attempt's deadline, 6 s.
      for (const t0 = Date.now(); bad.sockets.length < 24 && Date.now() - t0 < 3000; ) await new Promise((resolve) => setTimeout(resolve, 20));
      const started = Date.now();
      const healthy = await api.call('POST', '/v1/send', { token, body: { from: 'a@example.com', to: ['y@dest.test'], subject: 'healthy', text: 't' } });
      expect(healthy.status).toBe(202);
      worker.kick();
      while (mx.mails.length === 0 && Date.now() - started < 5000) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(mx.mails.map((m) => m.rcptTo), 'delivered while the dripping servers still hold their slots').toEqual([['y@dest.test']]);
      expect(Date.now() - started).toBeLessThan(5000);
      expect(bad.sockets.length, 'the dripping domains still got most of the pool').toBeGreaterThanOrEqual(20);
    } finally {
      await worker.stop();
    }
  }, 30_000);
});
