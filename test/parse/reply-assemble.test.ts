import { describe, expect, it } from 'vitest';
import { assembleReply, MAX_REPLY_INPUT, prepareReplyInput, type Fragment, type Reply } from '../../src/parse/reply.js';
import { splitFragments } from '../../src/parse/reply-fragments.js';
import { REPLY_CASES } from './reply-cases.js';
import { generatedTexts } from './reply-texts.js';

// The oracles: prepareReplyInput and assembleReply as they were written first (before issue 14's
// session 10 made them cheaper on the event loop); the current ones must give the same strings.
function preparedBefore(text: string): string {
  return text
    .slice(0, MAX_REPLY_INPUT)
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((l) => (l.length > 998 ? l.slice(0, 998) : l).replace(/^[ \t]+$/, ''))
    .join('\n')
    .replace(/\n{4,}/g, '\n\n\n');
}

const RULE = /^[ \t]*[-_=]{10,}[ \t]*$/;
const DELIMITER = /^[ \t]*(--|__) ?[ \t]*\n/;
const joinPartsBefore = (parts: string[]) =>
  parts
    .map((p) => p.replace(/^\n+|\s+$/g, ''))
    .filter(Boolean)
    .join('\n\n');
function assembledBefore(fragments: Fragment[]): Reply {
  const text: string[] = [];
  const signature: string[] = [];
  const quoted: string[] = [];
  for (const f of fragments) {
    const firstLine = f.content.replace(/^\n+/, '').split('\n', 1)[0] ?? '';
    if (f.quoted || (f.signature && RULE.test(firstLine))) quoted.push(f.content);
    else if (f.signature) signature.push(f.content.replace(/^\n+/, '').replace(DELIMITER, ''));
    else text.push(f.content);
  }
  let body = joinPartsBefore(text);
  const lines = body.split('\n');
  while (lines.length > 0 && (RULE.test(lines.at(-1)!) || lines.at(-1)!.trim() === '')) lines.pop();
  body = lines.join('\n');
  return { text: body, signature: joinPartsBefore(signature), quoted: joinPartsBefore(quoted) };
}

const PROSE = 'The quick brown fox jumps over the lazy dog while the mail queue keeps on moving along.\n'.repeat(43);
const ODD = [
  '',
  '\n',
  '\n\n\n\n\n',
  ' ',
  '\t \t',
  ' \n\t\n  \n',
  'a\r',
  '\r\r\n\n\r',
  'x'.repeat(998),
  'x'.repeat(999) + '\n' + ' '.repeat(1200) + '\n' + '\t'.repeat(999) + 'y',
  'x'.repeat(999),
  'a\n' + 'y'.repeat(999) + '\nb',
  'a\n\t \nb',
  ' '.repeat(997) + 'z',
  'a\n \n\t\nb',
  'a\n\n\n\n\n\nb\n\n\n\nc\n\n\nd',
  'end  \u00a0\u2028\ufeff\n',
  '\ufeff\u00a0 start',
  PROSE,
  `\n\n  \n${PROSE}`,
  PROSE.repeat(20), // over MAX_REPLY_INPUT
  'line\n' + '-'.repeat(40) + '\n' + '_'.repeat(12) + '\n  \n',
  '----------\n==========',
  'Hi\n\n-- \nAnn\n',
  'Hi\n\n__\nAnn\n',
  'Hi\n\n\n\n-- \n-----------\nAnn',
];

function inputs(): string[] {
  const texts = [...ODD, ...REPLY_CASES.flatMap((c) => (c.text === undefined ? [] : [c.text, c.text.replace(/\n/g, '\r\n')])), ...generatedTexts(3000, 20261207)];
  return texts;
}

describe('the reply thread hand-off, on the event loop', () => {
  it('prepareReplyInput gives what it gave before, for every text', () => {
    for (const t of inputs()) expect(prepareReplyInput(t), JSON.stringify(t.slice(0, 200))).toBe(preparedBefore(t));
  });

  it('assembleReply gives what it gave before, for the fragments of every text and for odd fragments', () => {
    const cases: Fragment[][] = inputs().map((t) => splitFragments(prepareReplyInput(t)).map(({ content, quoted, signature }) => ({ content, quoted, signature })));
    const bits = ['', '\n', '\n\n', ' ', '\t', '\u00a0', '\u2028', '\ufeff', 'text', '-'.repeat(10), '-'.repeat(9), '_'.repeat(15), '=========== ', '-- ', '__\n', 'a\nb'];
    let n = 0;
    for (let i = 0; i < 4000; i++) {
      const pick = () => bits[(n = (n * 1103515245 + 12345) >>> 0) % bits.length]!;
      const frags: Fragment[] = Array.from({ length: 1 + (i % 4) }, (_, j) => ({
        content: Array.from({ length: 1 + ((i + j) % 6) }, pick).join(''),
        quoted: (i + j) % 5 === 0,
        signature: (i + j) % 3 === 0,
      }));
      cases.push(frags);
    }
    for (const frags of cases) expect(assembleReply(frags), JSON.stringify(frags).slice(0, 300)).toEqual(assembledBefore(frags));
  });
});
