import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMessage } from '../../src/parse/parse-message.js';
import { FORGERIES, MIME_CASES } from './mime-cases.js';
import { hostileSmtp, openData, readAll, stillServes, type HostileSmtp } from './harness.js';

/**
 * Hostile MIME through the real SMTP path (DESIGN §1 invariant 5): every case is accepted with
 * 250, stored once with its raw bytes intact (parse_error says what could not be read), and
 * the server keeps serving. Each parse is bounded: at most 2 s of CPU in-process.
 */
const EXPECTED_ERROR: Record<string, RegExp | null> = {
  '5,000 sibling parts': /child nodes/,
  'a 2 MB header block (20,000 header lines)': /header size/,
  'a To: with 100,000 addresses': /header size/,
  '100,000 encoded words in a Subject': /header size/,
};

let h: HostileSmtp;
beforeAll(async () => {
  h = await hostileSmtp({ MAX_MESSAGE_BYTES: String(20 * 1024 * 1024) });
});
afterAll(() => h.close());

/** DATA with our own dot-stuffing: the stored raw must be these bytes (plus the CRLF the terminator needs). */
async function send(raw: Buffer): Promise<{ reply: string; expected: Buffer }> {
  const c = await openData(h.port);
  const text = raw.toString('latin1');
  const needsCrlf = text.length > 0 && !text.endsWith('\r\n');
  const stuffed = text.replace(/(^|\r\n)\./g, '$1..');
  const reply = await c.send(Buffer.from(stuffed + (needsCrlf ? '\r\n' : '') + '.\r\n', 'latin1'), 20_000);
  c.destroy();
  return { reply, expected: needsCrlf ? Buffer.concat([raw, Buffer.from('\r\n')]) : raw };
}

describe('pathological MIME over SMTP', () => {
  it.each(MIME_CASES.map((c) => [c.name, c] as const))('%s: 250, stored once, raw kept byte for byte', async (name, c) => {
    const { reply, expected } = await send(c.raw());
    expect(reply).toMatch(/^250 .*queued as msg_/);
    const id = /msg_\w+/.exec(reply)![0];
    const m = (await h.deps.repos.messages.getById(id))!;
    const want = EXPECTED_ERROR[name] ?? null;
    if (want) expect(m.parseError).toMatch(want);
    else expect(m.parseError).toBeNull();
    expect(m.size).toBe(expected.length);
    expect((await readAll(await h.deps.blobs.get(m.rawKey))).equals(expected)).toBe(true);
    // Only whole attachments are kept, each with its own object.
    for (const a of await h.deps.repos.messages.attachments(id)) {
      expect(a.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect((await readAll(await h.deps.blobs.get(a.blobKey))).length).toBe(a.size);
    }
    // What the payload carries stays bounded whatever the message holds.
    expect(m.parsed.to.length).toBeLessThanOrEqual(1000);
    expect(m.parsed.headers.length).toBeLessThanOrEqual(1000);
    expect(m.parsed.headers.every((x) => x.value.length <= 16 * 1024)).toBe(true);
    expect(m.parsed.subject.length).toBeLessThanOrEqual(16 * 1024);
  });

  it('after all of them, a normal sender is still served', async () => {
    await stillServes(h);
  });
});

describe('parse cost is bounded', () => {
  const sink = async (_i: number, content: Readable) => {
    for await (const _ of content) void _;
  };
  it.each(MIME_CASES.map((c) => [c.name, c] as const))('%s: at most 2 s of CPU', async (_name, c) => {
    const raw = c.raw();
    const before = process.cpuUsage();
    const out = await parseMessage(Readable.from([raw]), sink);
    const used = process.cpuUsage(before);
    expect((used.user + used.system) / 1000).toBeLessThan(2000);
    expect(out.parsed).toBeDefined();
  });
});

describe('encoded-word address forgery', () => {
  // The split local-part@domain form is pending-parse-encoded-word-address.test.ts.
  it.each(FORGERIES.map((f) => [f.name, f] as const))('%s: from.address is the real one', async (_name, f) => {
    const { reply } = await send(Buffer.from(`From: ${f.from}\r\nTo: x@example.com\r\nSubject: forged\r\n\r\npay now\r\n`));
    const m = (await h.deps.repos.messages.getById(/msg_\w+/.exec(reply)![0]))!;
    expect(m.parsed.from.address).toBe(f.want);
    expect(m.parsed.from.address).not.toContain('bank.example');
  });
});
