import { Readable } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { parseMessage } from '../../src/parse/parse-message.js';
import { extractReply } from '../../src/parse/reply-thread.js';
import { assembleReply } from '../../src/parse/reply.js';
import { splitFragments } from '../../src/parse/reply-fragments.js';
import { REPLY_CASES } from './reply-cases.js';

async function textOf(c: (typeof REPLY_CASES)[number]): Promise<string> {
  if (c.text !== undefined) return c.text;
  // HTML-only mail: the reply is computed from mailparser's HTML → text, as at ingest.
  const raw = `From: a@b.test\r\nSubject: re\r\nContent-Type: text/html; charset=utf-8\r\n\r\n${c.html}\r\n`;
  const { parsed } = await parseMessage(Readable.from([Buffer.from(raw)]), async (_i, s) => void s.resume());
  expect(parsed.html).not.toBe('');
  return parsed.text;
}

describe('reply extraction (data.reply)', () => {
  it.each(REPLY_CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const reply = await extractReply(await textOf(c));
    expect({ text: reply.text, signature: reply.signature }).toEqual(c.expect);
    if (c.quotedHas) expect(reply.quoted).toContain(c.quotedHas);
    else expect(reply.quoted).toBe('');
    // The new text never carries the quote.
    if (c.quotedHas) expect(reply.text).not.toContain(c.quotedHas);
  });

  it('a CRLF body gives the same split as LF', async () => {
    const c = REPLY_CASES[0]!;
    const reply = await extractReply(c.text!.replace(/\n/g, '\r\n'));
    expect(reply.text).toBe(c.expect.text);
  });

  it('inputs the library is quadratic on end within the bound, whole text kept', async () => {
    for (const hostile of ['\n'.repeat(300_000) + 'x', 'On a '.repeat(200_000), ('Op schreef :\n').repeat(50_000), 'De: ['.repeat(300_000)]) {
      const t0 = performance.now();
      const reply = await extractReply(hostile);
      // Generous: the machine is shared; the library alone took 165 s on 32 KiB of blank lines.
      expect(performance.now() - t0).toBeLessThan(5000);
      expect(typeof reply.text).toBe('string');
    }
  });

  it('when the thread runs out of time the text comes back unsplit, and the next call works', async () => {
    const big = ('On Monday Ada wrote a line of text ' + 'x '.repeat(450) + '\n').repeat(70);
    const late = await extractReply(big + '\nOn Mon, Nov 24, 2025 at 10:15 AM Ada <a@b.c> wrote:\n> q', 1);
    expect(late).toEqual({ text: (big + '\nOn Mon, Nov 24, 2025 at 10:15 AM Ada <a@b.c> wrote:\n> q').trim(), signature: '', quoted: '' });
    const next = await extractReply(REPLY_CASES[0]!.text!);
    expect(next.text).toBe(REPLY_CASES[0]!.expect.text);
  });

  it('a text no expression can match is split on the event loop, without the thread (issue 14)', async () => {
    const text = 'Thanks, that works.\n\n> the old message\n> its second line\n';
    const expected = assembleReply(splitFragments(text));
    expect(expected.quoted).toContain('the old message');
    // The thread's deadline (1 ms) passes before the loop could read any answer of the thread.
    const reply = extractReply(text, 1);
    const until = performance.now() + 20;
    while (performance.now() < until);
    expect(await reply).toEqual(expected);
  });

  it('empty text is an empty reply', async () => {
    expect(await extractReply('')).toEqual({ text: '', signature: '', quoted: '' });
  });
});
