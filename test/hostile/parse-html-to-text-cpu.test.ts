import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseMessage } from '../../src/parse/parse-message.js';

/**
 * An HTML-only message
 * has its text derived by mailparser's html-to-text, with no size limit (maxHtmlLengthToParse
 * is unset): about 0.2 s of CPU per MB, so one 50 MiB message (MAX_MESSAGE_BYTES) costs ~10 s
 * of CPU, and a few senders in parallel keep both cores busy. The bound is 2 s.
 * Fixed: `new MailParser({ ..., maxHtmlLengthToParse: 2 * 1024 * 1024 })`: longer HTML keeps its
 * html, its text is '' (mailparser reports textConversionError, which can go to parse_error).
 */
describe('html-to-text cost', () => {
  it('a 16 MB HTML-only body parses within 2 s of CPU, html kept', async () => {
    const unit = '<p>hello <a href="http://x.example/">link</a> <b>bold</b></p>\r\n';
    const raw = Buffer.from(`From: a@sender.test\r\nSubject: big html\r\nContent-Type: text/html\r\n\r\n${unit.repeat(Math.ceil((16 * 1024 * 1024) / unit.length))}`);
    const before = process.cpuUsage();
    const out = await parseMessage(Readable.from([raw]), async (_i, c) => {
      for await (const _ of c) void _;
    });
    const used = process.cpuUsage(before);
    expect((used.user + used.system) / 1000).toBeLessThan(2000);
    // mailparser turns CRLF into LF: the HTML is all there, one byte shorter per line.
    expect(out.parsed.html.length).toBeGreaterThan(16 * 1024 * 1024 * 0.98);
  }, 60_000);
});
