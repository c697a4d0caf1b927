/**
 * CPU per reply split, email-reply-parser (`new EmailReplyParser().read(text).getFragments()`)
 * against src/parse/reply-fragments.ts, on the text as the reply thread gets it
 * (prepareReplyInput): the ingest bench's 4 KB message, a 4 KB top-posted reply with an
 * attribution, a quote and a signature, and every text of the corpus (test/corpus). Also the
 * reply's part on the event loop (prepareReplyInput + assembleReply), for scale.
 *   node --import tsx bench/reply-split.ts
 */
import EmailReplyParser from 'email-reply-parser';
import { assembleReply, prepareReplyInput } from '../src/parse/reply.js';
import { splitFragments } from '../src/parse/reply-fragments.js';
import { loadOracle } from '../test/corpus/compare.js';
import { plainMessage } from './lib/messages.js';

const bodyOf = (raw: Buffer) => raw.toString('latin1').split('\r\n\r\n').slice(1).join('\r\n\r\n').replace(/\r\n/g, '\n');
const ingest = bodyOf(plainMessage(0, 'in0@bench.test'));
const prose = ingest.split('\n').slice(0, 30);
const reply = [
  'Thanks, that works for me. I will send the signed copy tomorrow morning.',
  '',
  '-- ',
  'Bob Stone',
  'Acme Support',
  '',
  'On Mon, Nov 24, 2025 at 10:15 AM Ada Lovelace <ada@example.com> wrote:',
  '',
  ...prose.map((l) => `> ${l}`),
  '>',
  '> Ada',
  '',
].join('\n');
const corpus = Object.values(loadOracle()).flatMap((r) => r.text.filter((t): t is string => !!t));

const library = (t: string) => new EmailReplyParser().read(t).getFragments();

/** CPU microseconds per call of `run` over `texts`, after a warm-up. */
function cpuPerCall(texts: string[], run: (t: string) => unknown, rounds: number): number {
  for (let i = 0; i < Math.max(1, rounds / 10); i++) for (const t of texts) run(t);
  const t0 = process.cpuUsage();
  for (let i = 0; i < rounds; i++) for (const t of texts) run(t);
  const used = process.cpuUsage(t0);
  return (used.user + used.system) / (rounds * texts.length);
}

const cases: [string, string[], number][] = [
  [`ingest bench message (${ingest.length} chars of prose)`, [ingest], 2000],
  [`top-posted reply (${reply.length} chars)`, [reply], 2000],
  [`corpus (${corpus.length} texts, ${Math.round(corpus.reduce((n, t) => n + t.length, 0) / 1024)} KiB)`, corpus, 5],
];
console.log('| text | email-reply-parser | reply-fragments.ts | ratio |');
console.log('|---|---|---|---|');
for (const [name, texts, rounds] of cases) {
  const input = texts.map(prepareReplyInput);
  const before = cpuPerCall(input, library, rounds);
  const after = cpuPerCall(input, splitFragments, rounds * 10);
  console.log(`| ${name} | ${before.toFixed(0)} µs | ${after.toFixed(1)} µs | ${(before / after).toFixed(1)}× |`);
}
const toFragments = (t: string) => splitFragments(t).map(({ content, quoted, signature }) => ({ content, quoted, signature }));
const fragments = toFragments(prepareReplyInput(ingest));
console.log(`\non the event loop, ingest bench message: prepareReplyInput ${cpuPerCall([ingest], prepareReplyInput, 20000).toFixed(1)} µs, ` +
  `assembleReply ${cpuPerCall([ingest], () => assembleReply(fragments), 20000).toFixed(1)} µs`);
