import net from 'node:net';
import { once } from 'node:events';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { groupReplies } from '../../src/smtp/server.js';
import { addRoute, seedUserAndDomain, testDeps, type TestDeps } from '../helpers/deps.js';
import { startSmtp, type RunningSmtp } from '../helpers/smtp.js';

/** A real loopback connection: `server` is our end (groupReplies applied), `read()` what the peer got so far. */
async function socketPair() {
  const listener = net.createServer();
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  const accepted = once(listener, 'connection') as Promise<[net.Socket]>;
  const client = net.connect((listener.address() as net.AddressInfo).port, '127.0.0.1');
  const [server] = await accepted;
  groupReplies(server);
  let got = '';
  client.on('data', (d) => (got += d.toString()));
  const read = async (until: string) => {
    const end = Date.now() + 5000;
    while (!got.includes(until) && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    return got;
  };
  const close = () => {
    client.destroy();
    server.destroy();
    listener.close();
  };
  return { server, client, read, close };
}

describe('SMTP replies written in one turn of the event loop leave in one write (issue 14)', () => {
  let close: (() => void) | undefined;
  afterEach(() => close?.());

  it('holds the replies of one turn and sends them, in order, at its end', async () => {
    const p = await socketPair();
    close = p.close;
    p.server.write('250 2.1.0 Accepted\r\n');
    p.server.write('250 2.1.5 Accepted\r\n');
    p.server.write('354 End data with <CR><LF>.<CR><LF>\r\n');
    // Without the grouping each write was handed to the kernel at once (nothing left waiting).
    expect(p.server.writableLength).toBeGreaterThan(0);
    await nextTurn();
    expect(p.server.writableLength).toBe(0);
    expect(await p.read('354')).toBe('250 2.1.0 Accepted\r\n250 2.1.5 Accepted\r\n354 End data with <CR><LF>.<CR><LF>\r\n');
    p.server.write('250 OK: queued\r\n');
    expect(await p.read('queued')).toMatch(/354 .*\r\n250 OK: queued\r\n$/);
  });

  it('sends a 220 at once, with whatever was held before it (STARTTLS hands the socket to TLS next)', async () => {
    const p = await socketPair();
    close = p.close;
    p.server.write('250 ok\r\n');
    p.server.write('220 Ready to start TLS\r\n');
    expect(p.server.writableLength).toBe(0);
    expect(await p.read('220')).toBe('250 ok\r\n220 Ready to start TLS\r\n');
  });

  it('end() sends what is held before the FIN', async () => {
    const p = await socketPair();
    close = p.close;
    p.server.write('221 Bye\r\n');
    p.server.end();
    await once(p.client, 'end');
    expect(await p.read('221')).toBe('221 Bye\r\n');
  });
});

describe('a pipelining client through the whole SMTP server', () => {
  let deps: TestDeps | undefined;
  let smtp: RunningSmtp | undefined;
  afterEach(async () => {
    await smtp?.close();
    await deps?.cleanup();
  });

  it('gets every reply, in order, and its message stored', async () => {
    deps = testDeps();
    const { user, domain } = await seedUserAndDomain(deps, 'alice.test');
    await addRoute(deps, { userId: user.id, domainId: domain.id }, { match: '*@alice.test' });
    smtp = await startSmtp(deps);
    const c = net.connect(smtp.port, '127.0.0.1');
    let got = '';
    c.on('data', (d) => (got += d.toString()));
    const waitFor = async (re: RegExp) => {
      const end = Date.now() + 5000;
      while (!re.test(got) && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
      return got;
    };
    await waitFor(/^220 /m);
    c.write('EHLO client.test\r\n');
    await waitFor(/^250 /m);
    got = '';
    c.write('MAIL FROM:<a@sender.test>\r\nRCPT TO:<nobody@elsewhere.test>\r\nRCPT TO:<x@alice.test>\r\nDATA\r\n');
    const replies = (await waitFor(/^354 /m)).split('\r\n').filter(Boolean).map((l) => l.slice(0, 3));
    expect(replies).toEqual(['250', '550', '250', '354']);
    got = '';
    c.write('Subject: pipelined\r\n\r\nhello\r\n.\r\nQUIT\r\n');
    const end = await waitFor(/^221 /m);
    expect(end).toMatch(/^250 .*msg_\w+[^]*^221 /m);
    const id = /msg_\w+/.exec(end)![0];
    expect((await deps.repos.messages.get(user.id, id))?.parsed.subject).toBe('pipelined');
    c.destroy();
  });
});
