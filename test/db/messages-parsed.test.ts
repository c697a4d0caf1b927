import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KEEP_ROW_CHARS, parsedFromJson, parsedJson, writtenTextJson } from '../../src/db/messages.js';
import { buildEmailReceived } from '../../src/deliver/payload.js';
import { newId } from '../../src/ids.js';
import { emptyParsed } from '../../src/parse/parse-message.js';
import { assembleReply } from '../../src/parse/reply.js';
import { extractReply } from '../../src/parse/reply-thread.js';
import type { ParsedMessage } from '../../src/parse/types.js';
import { engine, seedUserAndDomain, sqliteOf, testDeps, type TestDeps } from '../helpers/deps.js';

const PROSE = 'The quick brown fox jumps over the lazy dog while the mail queue keeps on moving along.\n'.repeat(43);
const withText = (text: string, reply?: ParsedMessage['reply']): ParsedMessage => ({ ...emptyParsed(), subject: 's', text, ...(reply ? { reply } : {}) });

/** Texts and the reply the reply thread makes of each (as accept.ts stores them). */
async function cases(): Promise<ParsedMessage[]> {
  const texts = [
    PROSE, // the bench message: the reply is the text less its last newline
    `\n\n  \n${PROSE}`, // leading blank lines
    `Thanks, see below.\n\nOn Mon, 7 Dec 2026 at 10:00, Ann <ann@example.com> wrote:\n> the question\n> more\n`, // top-posted
    'Hi\n\n-- \nAnn\nExample Corp\n', // signature
    '> only a quote\n> nothing new\n',
    'Line one\r\nLine two\r\n', // CRLF: the reply is not a part of the text as it stands
    '   indented start\nsecond line\n',
    'Grüße 😀 \ud800 lone surrogate\n\u2028 and "quotes" \\ back\n',
    '',
    ' \n\t\n',
  ];
  const out: ParsedMessage[] = [];
  for (const t of texts) out.push(withText(t, await extractReply(t)));
  out.push(withText(PROSE)); // stored before reply extraction existed: no reply
  out.push(withText('abc', { text: 'zzz', signature: 'sig', quoted: 'q' })); // not a part of the text
  out.push(withText('abc abc', assembleReply([{ content: 'abc', quoted: false, signature: false }])));
  return out;
}

describe('the parsed column', () => {
  it('reads back every message as it was given, whatever form it was stored in', async () => {
    for (const p of await cases()) {
      const json = parsedJson(p);
      expect(parsedFromJson(json), JSON.stringify(p.text)).toEqual(p);
      // Rows written before: the whole JSON.
      expect(parsedFromJson(JSON.stringify(p))).toEqual(p);
    }
  });

  it('is the column as it was first written, byte for byte, and keeps the text\'s JSON for the webhook body', async () => {
    // parsedJson before it was put together around the text (issue 14, session 13).
    const before = (p: ParsedMessage): string => {
      const reply = p.reply;
      if (!reply || reply.text === '') return JSON.stringify(p);
      let start = 0;
      if (!p.text.startsWith(reply.text)) {
        start = p.text.length - p.text.trimStart().length;
        if (start === 0 || !p.text.startsWith(reply.text, start)) return JSON.stringify(p);
      }
      return JSON.stringify({ ...p, reply: undefined, replyIn: { start, end: start + reply.text.length, signature: reply.signature, quoted: reply.quoted } });
    };
    const more = [{ ...withText('"text":"x"'), subject: '","text":"' }, { ...emptyParsed(), text: PROSE, html: '' }];
    for (const p of [...(await cases()), ...more]) {
      expect(writtenTextJson(p)).toBeUndefined();
      expect(parsedJson(p), JSON.stringify(p.text)).toBe(before(p));
      expect(writtenTextJson(p)).toBe(JSON.stringify(p.text));
      // A text changed since it was written is not taken from the row.
      p.text += ' ';
      expect(writtenTextJson(p)).toBeUndefined();
    }
  });

  it('keeps no second copy of a large text for the webhook body: its row is not remembered', () => {
    const big = withText('x'.repeat(KEEP_ROW_CHARS));
    expect(parsedJson(big)).toBe(JSON.stringify(big));
    expect(writtenTextJson(big)).toBeUndefined();
    const small = withText('x'.repeat(KEEP_ROW_CHARS / 2));
    parsedJson(small);
    expect(writtenTextJson(small) === JSON.stringify(small.text)).toBe(true);
  });

  it('holds the text once when the reply is a part of it', async () => {
    const p = withText(PROSE, await extractReply(PROSE));
    expect(p.reply!.text.length).toBeGreaterThan(3000);
    const json = parsedJson(p);
    expect(json.length).toBeLessThan(JSON.stringify(p).length - 3000);
    expect(json.split('The quick brown fox').length - 1).toBe(43);
  });

  it('is read by older code (JSON.parse) as a message without a reply, never as a partial one', async () => {
    for (const p of await cases()) {
      const old = JSON.parse(parsedJson(p)) as ParsedMessage;
      if (old.reply !== undefined) expect(old.reply).toEqual(p.reply);
      const event = buildEmailReceived({
        config: { publicUrl: 'https://mx.example', secret: 'x'.repeat(32) },
        message: { id: 'msg_1', userId: 'usr_1', domainId: 'dom_1', envelope: { mailFrom: '', rcptTo: [], helo: '', remoteIp: '', tls: false }, parsed: old, auth: {}, size: 1, rawKey: 'k', parseError: null, receivedAt: 1, purgedAt: null },
        attachments: [],
        delivery: { routeId: null, createdAt: 1 },
        domain: 'example.com',
      });
      expect([null, p.reply]).toContainEqual(event.data.reply);
    }
  });

  describe.skipIf(engine !== 'sqlite')('in SQLite', () => {
    let deps: TestDeps;
    beforeEach(() => {
      deps = testDeps();
    });
    afterEach(() => deps.cleanup());

    it('stores the bench message with its text once and reads its reply back', async () => {
      const { user, domain } = await seedUserAndDomain(deps, 'a.test');
      const parsed = withText(PROSE, await extractReply(PROSE));
      const id = newId('msg');
      const envelope = { mailFrom: 'x@b.test', rcptTo: ['r@a.test'], helo: 'b.test', remoteIp: '127.0.0.1', tls: false };
      const message = { id, userId: user.id, domainId: domain.id, envelope, parsed, auth: {}, size: 1, rawKey: `msg/${id}/raw.eml`, parseError: null, receivedAt: 1, purgedAt: null };
      deps.db.transaction(() => sqliteOf(deps).messages.insert(message, []))();
      const column = deps.db.prepare<[string], { parsed: string }>('SELECT parsed FROM messages WHERE id = ?').get(id)!.parsed;
      expect(column.length).toBeLessThan(JSON.stringify(parsed).length - 3000);
      expect((await deps.repos.messages.get(user.id, id))!.parsed).toEqual(parsed);
    });
  });
});
