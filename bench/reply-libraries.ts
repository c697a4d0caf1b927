/**
 * `node --import tsx bench/reply-libraries.ts`: how many of the hand-checked replies in
 * test/parse/reply-cases.ts each candidate library gets right (new text exactly, and signature
 * exactly), plus its time on a 1 MiB text. The library Mailhook wraps (src/parse/reply.ts) was
 * chosen by this table; README "Reply text" records the run.
 */
import { Readable } from 'node:stream';
import { performance } from 'node:perf_hooks';
import EmailReplyParser from 'email-reply-parser';
import nodeReplyParser from 'node-email-reply-parser';
// @ts-expect-error planer ships no types
import planer from 'planer';
import { parseMessage } from '../src/parse/parse-message.js';
import { assembleReply, prepareReplyInput } from '../src/parse/reply.js';
import { REPLY_CASES } from '../test/parse/reply-cases.js';

type Split = { text: string; signature: string };
interface FragmentLike {
  getContent(): string;
  isSignature(): boolean;
  isQuoted(): boolean;
}

const byFragments = (fragments: FragmentLike[]): Split => ({
  text: fragments
    .filter((f) => !f.isQuoted() && !f.isSignature())
    .map((f) => f.getContent().trim())
    .filter(Boolean)
    .join('\n\n'),
  signature: fragments
    .filter((f) => f.isSignature() && !f.isQuoted())
    .map((f) => f.getContent())
    .join('\n')
    .replace(/^(--|__) ?\n/, '')
    .trim(),
});

const CANDIDATES: Record<string, (text: string) => Split> = {
  'email-reply-parser': (t) => byFragments(new EmailReplyParser().read(t).getFragments()),
  'node-email-reply-parser': (t) => byFragments(nodeReplyParser(t).getFragments()),
  'Mailhook (email-reply-parser + src/parse/reply.ts)': (t) => {
    const fragments = new EmailReplyParser().read(prepareReplyInput(t)).getFragments();
    return assembleReply(fragments.map((f) => ({ content: f.getContent(), quoted: f.isQuoted(), signature: f.isSignature() })));
  },
  planer: (t) => ({ text: (planer as { extractFromPlain(s: string): string }).extractFromPlain(t).trim(), signature: '' }),
};

async function textOf(c: (typeof REPLY_CASES)[number]): Promise<string> {
  if (c.text !== undefined) return c.text;
  const raw = `From: a@b.test\r\nSubject: x\r\nContent-Type: text/html; charset=utf-8\r\n\r\n${c.html}\r\n`;
  const { parsed } = await parseMessage(Readable.from([Buffer.from(raw)]), async (_i, s) => void s.resume());
  return parsed.text;
}

const texts = await Promise.all(REPLY_CASES.map(textOf));
const huge = ('x'.repeat(200) + ' On Monday wrote\n').repeat(5000).slice(0, 1024 * 1024); // ordinary lines, 1 MiB
console.log(`| Library | New text right (of ${REPLY_CASES.length}) | Signature right | 1 MiB text |`);
console.log('|---|---|---|---|');
for (const [name, run] of Object.entries(CANDIDATES)) {
  let text = 0;
  let signature = 0;
  const wrong: string[] = [];
  for (const [i, c] of REPLY_CASES.entries()) {
    let got: Split;
    try {
      got = run(texts[i]!);
    } catch (err) {
      wrong.push(`${c.name}: threw ${(err as Error).message}`);
      continue;
    }
    if (got.text === c.expect.text) text++;
    else wrong.push(`${c.name}: ${JSON.stringify(got.text)}`);
    if (got.signature === c.expect.signature) signature++;
    else wrong.push(`${c.name}: signature ${JSON.stringify(got.signature)}`);
  }
  const t0 = performance.now();
  run(huge);
  const ms = Math.round(performance.now() - t0);
  console.log(`| ${name} | ${text} | ${signature} | ${ms} ms |`);
  if (process.env.VERBOSE) for (const w of wrong) console.log(`    wrong: ${w}`);
}
