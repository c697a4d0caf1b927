import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { afterEach, describe, expect, it } from 'vitest';
import { addRoute, seedUserAndDomain, testDeps, type TestDeps } from '../helpers/deps.js';
import { startSmtp, type RunningSmtp } from '../helpers/smtp.js';

async function storeRoute(deps: TestDeps, userId: string, domainId: string) {
  await addRoute(deps, { userId, domainId }, { priority: 1 });
}

/** Reads from a fresh connection until `until` matches what arrived, or the socket closes. */
function connect(port: number) {
  const socket = net.connect(port, '127.0.0.1');
  let buf = '';
  socket.on('data', (d) => (buf += d.toString()));
  const closed = new Promise<void>((r) => socket.on('close', () => r()));
  const waitFor = async (re: RegExp, ms = 5000) => {
    const end = Date.now() + ms;
    while (!re.test(buf) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    return buf;
  };
  return { socket, closed, waitFor, text: () => buf };
}

describe('SMTP sessions', () => {
  let deps: TestDeps | undefined;
  let smtp: RunningSmtp | undefined;
  let certDir: string | undefined;
  afterEach(async () => {
    await smtp?.close();
    await deps?.cleanup();
    if (certDir) rmSync(certDir, { recursive: true, force: true });
    smtp = deps = certDir = undefined;
  });

  it('offers STARTTLS when a certificate is configured and records tls in the envelope', async () => {
    certDir = mkdtempSync(join(tmpdir(), 'mailhook-tls-'));
    const key = join(certDir, 'key.pem');
    const cert = join(certDir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=mx.mailhook.test'], { stdio: 'ignore' });
    deps = testDeps({ TLS_CERT: cert, TLS_KEY: key });
    const { user, domain } = await seedUserAndDomain(deps);
    await storeRoute(deps, user.id, domain.id);
    smtp = await startSmtp(deps);
    const tls = nodemailer.createTransport({ host: '127.0.0.1', port: smtp.port, secure: false, requireTLS: true, tls: { rejectUnauthorized: false } });
    const info = await tls.sendMail({ from: 'a@sender.test', to: 'x@example.com', text: 'over TLS' });
    tls.close();
    const id = /msg_\w+/.exec(info.response ?? '')![0];
    expect((await deps.repos.messages.get(user.id, id))!.envelope.tls).toBe(true);
  });

  it('does not offer STARTTLS without a certificate', async () => {
    deps = testDeps();
    smtp = await startSmtp(deps);
    const c = connect(smtp.port);
    await c.waitFor(/^220 /m);
    c.socket.write('EHLO c.test\r\n');
    const text = await c.waitFor(/250 [^\r\n]*\r\n(?![\s\S])/);
    expect(text).toMatch(/250[ -]PIPELINING/);
    expect(text).not.toMatch(/STARTTLS/);
    c.socket.destroy();
  });

  it('greets with MX_HOST and says ESMTP once (smtp-server writes "ESMTP" before the banner itself)', async () => {
    deps = testDeps({ MX_HOST: 'mx.greeting.test' });
    smtp = await startSmtp(deps);
    const c = connect(smtp.port);
    expect(await c.waitFor(/\r\n/)).toBe('220 mx.greeting.test ESMTP Mailhook\r\n');
    c.socket.destroy();
  });

  it('closes an idle connection after SMTP_IDLE_TIMEOUT_MS', async () => {
    deps = testDeps({ SMTP_IDLE_TIMEOUT_MS: '1000' });
    smtp = await startSmtp(deps);
    const c = connect(smtp.port);
    await c.waitFor(/^220 /m);
    const started = Date.now();
    await c.closed;
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(c.text()).toMatch(/^421 /m);
  });

  it('refuses connections beyond MAX_CONNECTIONS_PER_IP with 421, and serves again once one closes', async () => {
    deps = testDeps({ MAX_CONNECTIONS_PER_IP: '2' });
    smtp = await startSmtp(deps);
    const a = connect(smtp.port);
    const b = connect(smtp.port);
    await a.waitFor(/^220 /m);
    await b.waitFor(/^220 /m);
    const c = connect(smtp.port);
    await c.closed;
    expect(c.text()).toMatch(/^421 /m);
    a.socket.destroy();
    await a.closed;
    await new Promise((r) => setTimeout(r, 50));
    const d = connect(smtp.port);
    expect(await d.waitFor(/^220 /m)).toMatch(/^220 /m);
    b.socket.destroy();
    d.socket.destroy();
  });
});
