import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { addRoute, seedUserAndDomain, testDeps, type TestDeps } from '../helpers/deps.js';
import { startSmtp, type RunningSmtp } from '../helpers/smtp.js';

const HEADER = 'PROXY TCP4 203.0.113.7 127.0.0.1 40000 25\r\n';

/**
 * A raw connection from 127.0.0.1. `header` is written at once, before the banner, the way
 * Fly's proxy_proto handler does it.
 */
function connect(port: number, header?: string | Buffer) {
  const socket = net.connect(port, '127.0.0.1');
  let buf = '';
  socket.on('data', (d) => (buf += d.toString('latin1')));
  // A refused connection may be reset while we still write; the assertions look at `buf`.
  socket.on('error', () => undefined);
  const closed = new Promise<void>((r) => socket.on('close', () => r()));
  if (header !== undefined) socket.write(header);
  const waitFor = async (re: RegExp, from = 0, ms = 5000) => {
    const end = Date.now() + ms;
    while (!re.test(buf.slice(from)) && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    return buf.slice(from);
  };
  /** Writes `line` and waits for the last line of its reply. */
  const say = (line: string) => {
    const from = buf.length;
    socket.write(line);
    return waitFor(/^\d{3} [^\r\n]*\r\n/m, from);
  };
  return { socket, closed, waitFor, say, text: () => buf };
}

/** One message through an open connection; returns the id from the 250 reply. */
async function sendOne(c: ReturnType<typeof connect>): Promise<string> {
  await c.waitFor(/^220 /m);
  expect(await c.say('EHLO client.test\r\n')).toMatch(/^250 /m);
  expect(await c.say('MAIL FROM:<a@sender.test>\r\n')).toMatch(/^250 /m);
  expect(await c.say('RCPT TO:<x@example.com>\r\n')).toMatch(/^250 /m);
  expect(await c.say('DATA\r\n')).toMatch(/^354 /m);
  const queued = await c.say('From: a@sender.test\r\nSubject: proxied\r\n\r\nhello\r\n.\r\n');
  expect(queued).toMatch(/^250 /m);
  await c.say('QUIT\r\n');
  await c.closed;
  return /msg_\w+/.exec(queued)![0];
}

async function seed(deps: TestDeps) {
  const { user, domain } = await seedUserAndDomain(deps);
  await addRoute(deps, { userId: user.id, domainId: domain.id }, { priority: 1 });
  return user;
}

let deps: TestDeps | undefined;
let smtp: RunningSmtp | undefined;
afterEach(async () => {
  await smtp?.close();
  deps?.cleanup();
  smtp = deps = undefined;
});

describe('SMTP behind a proxy (SMTP_PROXY_PROTOCOL=true)', () => {
  it.each([
    [HEADER, '203.0.113.7'],
    ['PROXY TCP6 2001:DB8:0:0:0:0:0:7 ::1 40000 25\r\n', '2001:db8::7'],
    ['PROXY TCP6 ::ffff:203.0.113.7 ::1 40000 25\r\n', '203.0.113.7'],
  ])('stores the address of %j as the client IP, not the proxy\'s', async (header, ip) => {
    deps = testDeps({ SMTP_PROXY_PROTOCOL: 'true' });
    const user = await seed(deps);
    smtp = await startSmtp(deps);
    const id = await sendOne(connect(smtp.port, header));
    expect((await deps.repos.messages.get(user.id, id))!.envelope.remoteIp).toBe(ip);
  });

  it('caps connections per proxied address, not per proxy', async () => {
    deps = testDeps({ SMTP_PROXY_PROTOCOL: 'true', MAX_CONNECTIONS_PER_IP: '1' });
    smtp = await startSmtp(deps);
    const a = connect(smtp.port, HEADER);
    const b = connect(smtp.port, 'PROXY TCP4 198.51.100.9 127.0.0.1 40001 25\r\n');
    expect(await a.waitFor(/^220 /m)).toMatch(/^220 /m);
    expect(await b.waitFor(/^220 /m)).toMatch(/^220 /m);
    const c = connect(smtp.port, HEADER);
    await c.closed;
    expect(c.text()).toMatch(/^421 /m);
    a.socket.destroy();
    b.socket.destroy();
  });

  it.each([
    ['an SMTP command', 'EHLO client.test\r\n'],
    ['a source that is not an IP address', 'PROXY TCP4 evil.test 127.0.0.1 40000 25\r\n'],
    ['a PROXY v2 (binary) header', Buffer.from('0d0a0d0a000d0a515549540a2111000ccb00710700000000', 'hex')],
  ])('hangs up without a banner on %s instead of a header, and keeps serving', async (_, first) => {
    deps = testDeps({ SMTP_PROXY_PROTOCOL: 'true' });
    smtp = await startSmtp(deps);
    const bad = connect(smtp.port, first);
    await bad.closed;
    expect(bad.text()).not.toMatch(/^220 /m);
    expect(bad.text()).toMatch(/Invalid PROXY header/);
    const good = connect(smtp.port, HEADER);
    expect(await good.waitFor(/^220 /m)).toMatch(/^220 /m);
    good.socket.destroy();
  });

  it('hangs up on a client that waits for a banner instead of sending a header', async () => {
    deps = testDeps({ SMTP_PROXY_PROTOCOL: 'true', SMTP_IDLE_TIMEOUT_MS: '1000' });
    smtp = await startSmtp(deps);
    const silent = connect(smtp.port);
    const started = Date.now();
    await silent.closed;
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(silent.text()).toBe('');
  });
});

describe('SMTP without SMTP_PROXY_PROTOCOL', () => {
  it('treats a PROXY line as an unknown command, so a client cannot choose its address', async () => {
    deps = testDeps();
    const user = await seed(deps);
    smtp = await startSmtp(deps);
    const c = connect(smtp.port);
    await c.waitFor(/^220 /m);
    expect(await c.say(HEADER)).toMatch(/^500 /m);
    const id = await sendOne(c);
    expect((await deps.repos.messages.get(user.id, id))!.envelope.remoteIp).toBe('127.0.0.1');
  });

  it('refuses a header sent before the banner (proxy_proto on in fly.toml, the variable off)', async () => {
    deps = testDeps();
    smtp = await startSmtp(deps);
    const c = connect(smtp.port, HEADER);
    await c.waitFor(/^421 /m);
    expect(c.text()).toMatch(/^421 .*too soon/m);
    c.socket.destroy();
  });
});
