import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { countRows, hostileSmtp, openData, RawClient, sleep, stillServes, type HostileSmtp } from './harness.js';

/**
 * SMTP sessions that misbehave (DESIGN §1 invariant 5, §2 limits): each gets a precise reply or
 * a hang-up, nothing half-stored, and the next well-behaved sender is served.
 */
let h: HostileSmtp;
afterEach(async () => h?.close());

describe('protocol abuse', () => {
  // The commands must reach the server inside smtp-server's 100 ms greeting delay: on a machine
  // loaded enough to stall the event loop that long, the banner can win the race. Retried, not slowed.
  it('commands before the banner: 421 "talk too soon", no banner, hang-up', { retry: 2 }, async () => {
    h = await hostileSmtp();
    const c = new RawClient(h.port);
    c.write('EHLO early.test\r\nMAIL FROM:<a@sender.test>\r\nRCPT TO:<x@example.com>\r\nDATA\r\n');
    await c.until(/^421 /);
    expect(await c.closedWithin(2000)).toBe(true);
    expect(c.lines.some((l) => l.startsWith('220'))).toBe(false);
    expect(c.lines.filter((l) => l.startsWith('250') || l.startsWith('354'))).toEqual([]);
    expect(c.lines[0]).toMatch(/talk too soon/);
    await stillServes(h);
  });

  it.each(['GET / HTTP/1.1', 'POST /api/keys HTTP/1.1', 'OPTIONS / HTTP/1.0'])('an HTTP request line (%s) on the SMTP port: 421 and hang-up', async (line) => {
    h = await hostileSmtp();
    const c = await RawClient.open(h.port);
    c.write(`${line}\r\nHost: mx.mailhook.test\r\nContent-Type: text/plain\r\n\r\nMAIL FROM:<a@sender.test>\r\n`);
    await c.until(/^421 .*HTTP/);
    expect(await c.closedWithin(2000)).toBe(true);
    expect(c.codes()).not.toContain(250);
  });

  it('a proxy CONNECT line and its headers are unknown commands; what follows without EHLO is refused', async () => {
    h = await hostileSmtp();
    const c = await RawClient.open(h.port);
    c.write('CONNECT 127.0.0.1:25 HTTP/1.0\r\nHost: x\r\n\r\nMAIL FROM:<a@sender.test>\r\n');
    await c.until(/^503 /);
    expect(c.codes().slice(1)).toEqual([500, 500, 500, 503]);
    c.destroy();
  });

  it('ten unknown commands: nine 500s, then 421 and hang-up', async () => {
    h = await hostileSmtp();
    const c = await RawClient.open(h.port);
    c.write(Array.from({ length: 12 }, (_, i) => `XYZZY${i}\r\n`).join(''));
    await c.until(/^421 /);
    expect(await c.closedWithin(2000)).toBe(true);
    expect(c.codes().slice(1)).toEqual([...Array(9).fill(500), 421]);
    await stillServes(h);
  });

  it('DATA without MAIL or RCPT, and RCPT without MAIL, are refused in order', async () => {
    h = await hostileSmtp();
    const c = await RawClient.open(h.port);
    expect(await c.send('DATA\r\n')).toMatch(/^503 /); // HELO first
    expect(await c.send('EHLO c.test\r\n')).toMatch(/^250 /);
    expect(await c.send('RCPT TO:<x@example.com>\r\n')).toMatch(/^503 /);
    expect(await c.send('DATA\r\n')).toMatch(/^503 /);
    expect(await c.send('MAIL FROM:<a@sender.test>\r\n')).toMatch(/^250 /);
    expect(await c.send('MAIL FROM:<b@sender.test>\r\n')).toMatch(/^503 /); // nested MAIL
    expect(await c.send('DATA\r\n')).toMatch(/^503 /);
    expect(await c.send('AUTH PLAIN AGFhAGI=\r\n')).toMatch(/^5\d\d /); // no AUTH: we never relay
    c.destroy();
    expect(countRows(h.deps, 'messages')).toBe(0);
  });
});

describe('clients that leave or stall mid-DATA', () => {
  const spoolFiles = () => {
    const dir = join(h.deps.config.dataDir, 'spool');
    return existsSync(dir) ? readdirSync(dir) : [];
  };

  it.each([
    ['a TCP reset', (c: RawClient) => c.socket.resetAndDestroy()],
    ['a half-close (FIN)', (c: RawClient) => c.socket.end()],
  ])('%s mid-DATA: nothing stored, no spool file left, the server goes on', async (_name, leave) => {
    h = await hostileSmtp();
    const c = await openData(h.port);
    c.write(`Subject: cut\r\n\r\n${'x'.repeat(400 * 1024)}`); // over the in-memory spool size
    await sleep(100);
    leave(c);
    await c.closed;
    await sleep(200);
    expect(countRows(h.deps, 'messages')).toBe(0);
    expect(spoolFiles()).toEqual([]);
    await stillServes(h);
  });

  it('a client that goes silent mid-DATA gets 421 at the idle timeout, and nothing is stored', async () => {
    h = await hostileSmtp({ SMTP_IDLE_TIMEOUT_MS: '1000' });
    const c = await openData(h.port);
    c.write('Subject: stalled\r\n\r\nhalf a mess');
    const t = Date.now();
    await c.until(/^421 /, 4000);
    expect(Date.now() - t).toBeLessThan(3000);
    expect(await c.closedWithin(2000)).toBe(true);
    expect(countRows(h.deps, 'messages')).toBe(0);
    await stillServes(h);
  });

  it('while one client drips a byte every 50 ms, other senders are served at full speed', async () => {
    h = await hostileSmtp();
    const c = await openData(h.port);
    let dripping = true;
    const drip = (async () => {
      while (dripping && !c.isClosed) {
        c.write('x');
        await sleep(50);
      }
    })();
    const t = performance.now();
    for (let i = 0; i < 5; i++) await stillServes(h, `meanwhile ${i}`);
    expect(performance.now() - t).toBeLessThan(5000);
    dripping = false;
    await drip;
    expect(await c.send('\r\n.\r\n')).toMatch(/^250 /);
  });
});

describe('connection caps', () => {
  it('per IP: the connection over MAX_CONNECTIONS_PER_IP gets 421; a slot frees when one leaves', async () => {
    h = await hostileSmtp({ MAX_CONNECTIONS_PER_IP: '3' });
    const idle = await Promise.all([1, 2, 3].map(() => RawClient.open(h.port)));
    const over = new RawClient(h.port);
    await over.until(/^421 .*Too many connections from your address/);
    expect(await over.closedWithin(2000)).toBe(true);
    idle[0]!.destroy();
    await idle[0]!.closed;
    await sleep(50);
    const again = await RawClient.open(h.port);
    expect(again.lines[0]).toMatch(/^220 /);
  });

  // smtp-server calls onClose for connections that never reached onConnect (early talkers,
  // MAX_CONNECTIONS refusals, hang-ups in the greeting delay); they must not free per-IP slots.
  it('per IP: early talkers that never got a banner do not free slots for idle connections', async () => {
    h = await hostileSmtp({ MAX_CONNECTIONS_PER_IP: '3' });
    const held = await Promise.all([1, 2, 3].map(() => RawClient.open(h.port)));
    for (let i = 0; i < 5; i++) {
      const early = new RawClient(h.port);
      early.write('EHLO early.test\r\n');
      await early.closed;
    }
    await sleep(50);
    const more = await Promise.all([1, 2, 3].map(() => new RawClient(h.port)));
    const first = await Promise.all(more.map((c) => c.until(/^\d{3} /)));
    expect(first.every((l) => /^421 .*Too many connections from your address/.test(l))).toBe(true);
    expect(held.every((c) => !c.isClosed)).toBe(true);
  });

  it('per IP: clients hanging up during the greeting delay do not free slots either', async () => {
    h = await hostileSmtp({ MAX_CONNECTIONS_PER_IP: '2' });
    await Promise.all([1, 2].map(() => RawClient.open(h.port)));
    for (let i = 0; i < 4; i++) {
      const quick = new RawClient(h.port);
      await new Promise((r) => quick.socket.once('connect', r));
      quick.destroy();
    }
    await sleep(300);
    expect(await new RawClient(h.port).until(/^\d{3} /)).toMatch(/^421 /);
  });

  it('in all: refusals at MAX_CONNECTIONS do not free per-IP slots', async () => {
    h = await hostileSmtp({ MAX_CONNECTIONS: '2', MAX_CONNECTIONS_PER_IP: '2' });
    await Promise.all([1, 2].map(() => RawClient.open(h.port)));
    for (let i = 0; i < 3; i++) {
      const refused = new RawClient(h.port);
      await refused.until(/^421 /);
      await refused.closed;
    }
    await sleep(50);
    expect(await new RawClient(h.port).until(/^421 /)).toMatch(/^421 /);
  });

  it('in all: the connection over MAX_CONNECTIONS gets 421', async () => {
    h = await hostileSmtp({ MAX_CONNECTIONS: '3', MAX_CONNECTIONS_PER_IP: '100' });
    await Promise.all([1, 2, 3].map(() => RawClient.open(h.port)));
    const over = new RawClient(h.port);
    await over.until(/^421 .*Too many connected clients/);
    expect(await over.closedWithin(2000)).toBe(true);
  });

  it('an idle connection is closed with 421 at SMTP_IDLE_TIMEOUT_MS', async () => {
    h = await hostileSmtp({ SMTP_IDLE_TIMEOUT_MS: '1000' });
    const c = await RawClient.open(h.port);
    await c.send('EHLO c.test\r\n');
    const t = Date.now();
    await c.until(/^421 .*Timeout/, 4000);
    expect(Date.now() - t).toBeGreaterThanOrEqual(900);
    expect(await c.closedWithin(2000)).toBe(true);
  });
});

const hasOpenssl = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe.skipIf(!hasOpenssl)('STARTTLS (needs openssl to make a self-signed certificate)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'mailhook-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=mx.mailhook.test'], { stdio: 'ignore' });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const tlsEnv = () => ({ TLS_CERT: join(dir, 'cert.pem'), TLS_KEY: join(dir, 'key.pem') });

  /** Upgrades the raw client's socket; resolves with a line reader on the TLS socket. */
  async function upgrade(c: RawClient) {
    const secure = tls.connect({ socket: c.socket, rejectUnauthorized: false, servername: 'mx.mailhook.test' });
    await new Promise<void>((resolve, reject) => secure.once('secureConnect', resolve).once('error', reject));
    const lines: string[] = [];
    let buf = '';
    const waiters: (() => void)[] = [];
    secure.on('data', (d) => {
      buf += d.toString('latin1');
      const parts = buf.split('\r\n');
      buf = parts.pop()!;
      lines.push(...parts);
      waiters.splice(0).forEach((w) => w());
    });
    const send = (data: string) =>
      new Promise<string>((resolve, reject) => {
        const from = lines.length;
        const timer = setTimeout(() => reject(new Error(`no TLS reply; got ${JSON.stringify(lines)}`)), 5000);
        const check = () => {
          const hit = lines.slice(from).find((l) => /^\d{3} /.test(l));
          if (hit) {
            clearTimeout(timer);
            resolve(hit);
          } else waiters.push(check);
        };
        secure.write(data);
        check();
      });
    return { secure, lines, send };
  }

  it('commands pipelined in plaintext after STARTTLS are never executed (CVE-2011-0411 class)', async () => {
    h = await hostileSmtp(tlsEnv());
    const c = await RawClient.open(h.port);
    await c.send('EHLO c.test\r\n');
    expect(c.lines).toContain('250-STARTTLS');
    const from = c.lines.length;
    c.write('STARTTLS\r\nMAIL FROM:<injected@evil.test>\r\nRCPT TO:<x@example.com>\r\n');
    await c.until(/^220 /, 5000, from);
    const s = await upgrade(c);
    // Only the 220 for STARTTLS came back in plaintext; the injected MAIL/RCPT got no reply at all.
    expect(c.lines.slice(from)).toEqual([expect.stringMatching(/^220 /)]);
    expect(await s.send('EHLO c.test\r\n')).toMatch(/^250 /);
    expect(await s.send('RCPT TO:<x@example.com>\r\n')).toMatch(/^503 /); // no MAIL happened
    expect(await s.send('DATA\r\n')).toMatch(/^503 /);
    expect(await s.send('MAIL FROM:<real@sender.test>\r\n')).toMatch(/^250 /);
    expect(await s.send('RCPT TO:<x@example.com>\r\n')).toMatch(/^250 /);
    expect(await s.send('DATA\r\n')).toMatch(/^354 /);
    expect(await s.send('Subject: over tls\r\n\r\nsecret\r\n.\r\n')).toMatch(/^250 /);
    s.secure.destroy();
    const [m] = await h.deps.repos.messages.list({ userId: h.owner.userId, limit: 5 });
    expect(countRows(h.deps, 'messages')).toBe(1);
    expect(m!.envelope).toMatchObject({ mailFrom: 'real@sender.test', tls: true });
  });

  it('MAIL before STARTTLS does not survive the upgrade: RCPT after it is 503', async () => {
    h = await hostileSmtp(tlsEnv());
    const c = await RawClient.open(h.port);
    await c.send('EHLO c.test\r\n');
    expect(await c.send('MAIL FROM:<plain@sender.test>\r\n')).toMatch(/^250 /);
    expect(await c.send('STARTTLS\r\n')).toMatch(/^220 /);
    const s = await upgrade(c);
    expect(await s.send('RCPT TO:<x@example.com>\r\n')).toMatch(/^503 /); // EHLO first, then MAIL
    expect(await s.send('EHLO c.test\r\n')).toMatch(/^250 /);
    expect(await s.send('RCPT TO:<x@example.com>\r\n')).toMatch(/^503 /);
    s.secure.destroy();
    expect(countRows(h.deps, 'messages')).toBe(0);
  });

  it('garbage instead of a TLS handshake: the session ends, the server goes on', async () => {
    h = await hostileSmtp(tlsEnv());
    const c = await RawClient.open(h.port);
    await c.send('EHLO c.test\r\n');
    expect(await c.send('STARTTLS\r\n')).toMatch(/^220 /);
    c.write('MAIL FROM:<x@evil.test>\r\n'.repeat(100));
    expect(await c.closedWithin(3000)).toBe(true);
    await stillServes(h);
  });
});
