import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { codes, rawSmtp } from '../helpers/smtp.js';
import { countRows, hostileSmtp, openData, RawClient, readAll, stillServes, subjects, type HostileSmtp } from './harness.js';

/**
 * SMTP framing (DESIGN §2, invariant 5): only <CRLF>.<CRLF> ends DATA. Every other end-of-data
 * look-alike is message content, so a pipelined second transaction hidden behind one is never
 * run (SMTP smuggling, CVE-2023-51764 class).
 */
let h: HostileSmtp;
beforeEach(async () => {
  h = await hostileSmtp();
});
afterEach(() => h.close());

const rawOf = async (id: string) => (await readAll(await h.deps.blobs.get((await h.deps.repos.messages.getById(id))!.rawKey))).toString('latin1');
const onlyMessage = () => {
  const rows = h.deps.db.prepare('SELECT id, subject FROM messages').all() as { id: string; subject: string }[];
  expect(rows).toHaveLength(1);
  return rows[0]!;
};

describe('end-of-data smuggling', () => {
  const variants: [string, string][] = [
    ['\\n.\\n', '\n.\n'],
    ['\\n.\\r\\n', '\n.\r\n'],
    ['\\n.\\r', '\n.\r'],
    ['\\r.\\r', '\r.\r'],
    ['\\r.\\n', '\r.\n'],
    ['\\r.\\r\\n', '\r.\r\n'],
    ['\\r\\n.\\n', '\r\n.\n'],
    ['\\r\\n.\\r', '\r\n.\r'],
    ['\\r\\n.\\r\\r\\n', '\r\n.\r\r\n'],
    ['\\r\\n\\x00.\\r\\n', '\r\n\x00.\r\n'],
  ];
  it.each(variants)('%s followed by a pipelined transaction stores one message, never two', async (_name, eod) => {
    const script =
      'EHLO c.test\r\nMAIL FROM:<a@sender.test>\r\nRCPT TO:<x@example.com>\r\nDATA\r\n' +
      `Subject: first\r\n\r\nbody${eod}` +
      'MAIL FROM:<evil@sender.test>\r\nRCPT TO:<victim@example.com>\r\nDATA\r\n' +
      'Subject: smuggled\r\n\r\nevil\r\n.\r\nQUIT\r\n';
    // The script ends with QUIT: the 221 and the close end the wait; the idle bound only covers a
    // hang, and must outlast a slow commit under a loaded machine (it was 800 ms and fired once).
    const replies = await rawSmtp(h.port, script, 5000);
    // One 354 and one 250 for DATA: the smuggled MAIL/RCPT/DATA were message text, never commands.
    expect(codes(replies).filter((c) => c === 354)).toHaveLength(1);
    expect(replies.filter((l) => /^250 .*queued as msg_/.test(l))).toHaveLength(1);
    const row = onlyMessage();
    expect(row.subject).toBe('first');
    const raw = await rawOf(row.id);
    // The look-alike and everything after it are kept, byte for byte, inside the one message.
    expect(raw).toContain(`body${eod}MAIL FROM:<evil@sender.test>`);
    expect((await h.deps.repos.messages.getById(row.id))!.envelope.rcptTo).toEqual(['x@example.com']);
    await stillServes(h);
  });
});

describe('bytes inside a message', () => {
  it('keeps a bare CR and a bare LF in headers as received, and stores the message once', async () => {
    const c = await openData(h.port);
    const reply = await c.send('Subject: bare\rX-Cr: 1\r\nX-Lf: a\nX-After-Lf: b\r\nFrom: a@sender.test\r\n\r\nbody\r\n.\r\n');
    expect(reply).toMatch(/^250 /);
    c.destroy();
    const row = onlyMessage();
    const raw = await rawOf(row.id);
    expect(raw).toContain('Subject: bare\rX-Cr: 1\r\nX-Lf: a\nX-After-Lf: b\r\n');
    // The bare CR does not end the Subject line for the parser (the bare LF does, as in most MUAs).
    expect(row.subject).toBe('bare X-Cr: 1');
    // That the headers[] of the payload carry no CR either: pending-parse-header-line-breaks.test.ts.
    await stillServes(h);
  });

  it('un-stuffs dot-stuffed lines: ".." arrives as "." and "..." as ".."', async () => {
    const c = await openData(h.port);
    expect(await c.send('Subject: dots\r\n\r\n..leading dot\r\n..\r\n...\r\nend\r\n.\r\n')).toMatch(/^250 /);
    c.destroy();
    const raw = await rawOf(onlyMessage().id);
    expect(raw).toBe('Subject: dots\r\n\r\n.leading dot\r\n.\r\n..\r\nend\r\n');
  });

  it('un-stuffs a dot-stuffed first body line that arrives in its own TCP segment', async () => {
    const c = await openData(h.port);
    // "..\r\n" as the very first DATA bytes is a stuffed ".", not the terminator.
    c.write('..\r\n');
    await new Promise((r) => setTimeout(r, 50));
    expect(await c.send('Subject: late\r\n\r\nx\r\n.\r\n')).toMatch(/^250 /);
    c.destroy();
    expect(await rawOf(onlyMessage().id)).toBe('.\r\nSubject: late\r\n\r\nx\r\n');
  });

  it('stores NUL bytes in headers and body as received', async () => {
    const c = await openData(h.port);
    expect(await c.send('Subject: nul\x00here\r\nFrom: a@sender.test\r\n\r\nbin\x00ary\r\n.\r\n')).toMatch(/^250 /);
    c.destroy();
    const row = onlyMessage();
    expect(await rawOf(row.id)).toContain('bin\x00ary');
    expect(row.subject.startsWith('nul')).toBe(true);
    await stillServes(h);
  });

  it('takes a 1 MB body line and a 1 MB header line', async () => {
    const c = await openData(h.port);
    const long = 'y'.repeat(1024 * 1024);
    const reply = await c.send(`Subject: long\r\nX-Long: ${long}\r\n\r\n${long}\r\n.\r\n`, 15_000);
    expect(reply).toMatch(/^250 /);
    c.destroy();
    const row = onlyMessage();
    const m = (await h.deps.repos.messages.getById(row.id))!;
    expect(m.size).toBeGreaterThan(2 * 1024 * 1024);
    // The stored copy of the header is capped; the raw message keeps it whole.
    expect(m.parsed.headers.every((hd) => hd.value.length <= 16 * 1024)).toBe(true);
    expect((await rawOf(row.id)).length).toBe(m.size);
    await stillServes(h);
  });
});

describe('command lines', () => {
  it('a 1 MB command line gets 421 and a hang-up', async () => {
    const c = await RawClient.open(h.port);
    c.write(`EHLO ${'a'.repeat(1024 * 1024)}\r\n`);
    await c.until(/^421 /);
    expect(await c.closedWithin(2000)).toBe(true);
    await stillServes(h);
  });

  it('a command line that never ends is cut off at 16 KiB: the server hangs up long before 1 MB', async () => {
    const c = await RawClient.open(h.port);
    let sent = 0;
    while (!c.isClosed && sent < 1024 * 1024) {
      c.write('B'.repeat(4096));
      sent += 4096;
      await new Promise((r) => setImmediate(r));
      if (sent % (64 * 1024) === 0) await new Promise((r) => setTimeout(r, 5));
    }
    expect(await c.closedWithin(2000)).toBe(true);
    expect(c.lines.some((l) => /^421 .*too long/i.test(l))).toBe(true);
    expect(sent).toBeLessThan(1024 * 1024);
    await stillServes(h);
  });
});

describe('message size', () => {
  it('SIZE= exactly at the limit is accepted, one byte over is 552 at MAIL, and the session goes on', async () => {
    const limit = h.deps.config.maxMessageBytes;
    const c = await RawClient.open(h.port);
    const ehlo = await c.send('EHLO c.test\r\n');
    expect(c.lines).toContain(`250 SIZE ${limit}`);
    expect(ehlo).toMatch(/^250 /);
    expect(await c.send(`MAIL FROM:<a@sender.test> SIZE=${limit + 1}\r\n`)).toMatch(/^552 5\.3\.4 /);
    expect(await c.send(`MAIL FROM:<a@sender.test> SIZE=${limit}\r\n`)).toMatch(/^250 /);
    expect(await c.send('RCPT TO:<x@example.com>\r\n')).toMatch(/^250 /);
    expect(await c.send('DATA\r\n')).toMatch(/^354 /);
    expect(await c.send('Subject: declared\r\n\r\nsmall\r\n.\r\n')).toMatch(/^250 /);
    c.destroy();
    expect(subjects(h.deps)).toEqual(['declared']);
  });
});

describe('message size (small limit)', () => {
  beforeEach(async () => {
    await h.close();
    h = await hostileSmtp({ MAX_MESSAGE_BYTES: '65536' });
  });

  it('an undeclared over-size body is 552 after the dot, nothing is stored, the same connection goes on', async () => {
    const c = await openData(h.port);
    const line = 'z'.repeat(998) + '\r\n';
    const reply = await c.send(`Subject: too big\r\n\r\n${line.repeat(200)}.\r\n`);
    expect(reply).toMatch(/^552 /);
    expect(countRows(h.deps, 'messages')).toBe(0);
    expect(countRows(h.deps, 'attachments')).toBe(0);
    // The connection is still good for the next transaction.
    expect(await c.send('MAIL FROM:<a@sender.test>\r\n')).toMatch(/^250 /);
    expect(await c.send('RCPT TO:<x@example.com>\r\n')).toMatch(/^250 /);
    expect(await c.send('DATA\r\n')).toMatch(/^354 /);
    expect(await c.send('Subject: fits\r\n\r\nok\r\n.\r\n')).toMatch(/^250 /);
    c.destroy();
    expect(subjects(h.deps)).toEqual(['fits']);
  });
});
