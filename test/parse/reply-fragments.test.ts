import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import EmailReplyParser from 'email-reply-parser';
import { describe, expect, it } from 'vitest';
import { parseMessage } from '../../src/parse/parse-message.js';
import { prepareReplyInput } from '../../src/parse/reply.js';
import { LIBRARY_LISTS, splitFragments, splitWithoutExpressions, type ReplyFragment } from '../../src/parse/reply-fragments.js';
import { QUOTE_HEADER_NEEDS, SIGNATURE_NEEDS, type Need } from '../../src/parse/reply-needs.js';
import { CORPUS_DIR, loadOracle } from '../corpus/compare.js';
import { HEADER_EXAMPLES, SIGNATURE_EXAMPLES, generatedTexts } from './reply-texts.js';

// The oracle: email-reply-parser itself, whose split src/parse/reply-fragments.ts reproduces.
function library(text: string): ReplyFragment[] | 'threw' {
  try {
    return new EmailReplyParser()
      .read(text)
      .getFragments()
      .map((f) => ({ content: f.getContent(), hidden: f.isHidden(), signature: f.isSignature(), quoted: f.isQuoted() }));
  } catch {
    return 'threw';
  }
}

function ours(text: string): ReplyFragment[] | 'threw' {
  try {
    return splitFragments(text);
  } catch {
    return 'threw';
  }
}

/** The inputs that differ, each with both splits (an empty list when all agree). */
function differences(texts: Iterable<string>) {
  const out: { text: string; library: unknown; ours: unknown }[] = [];
  for (const text of texts) {
    const [a, b] = [library(text), ours(text)];
    if (JSON.stringify(a) !== JSON.stringify(b)) out.push({ text, library: a, ours: b });
  }
  return out.slice(0, 3);
}

// An anyCase string in the lowercased text, and (as reply-fragments.ts looks for it) under the i flag.
const underI = (p: string) => new RegExp(p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'i');
const holds = (need: Need, s: string) =>
  need.pieces.every((p) => s.includes(p)) && need.anyCase.every((p) => s.toLowerCase().includes(p) && underI(p).test(s));

const lists = [
  ['quote header', LIBRARY_LISTS.quoteHeadersRegex, QUOTE_HEADER_NEEDS, HEADER_EXAMPLES],
  ['signature', LIBRARY_LISTS.signatureRegex, SIGNATURE_NEEDS, SIGNATURE_EXAMPLES],
] as const;

describe('email-reply-parser, the version reply-fragments.ts reproduces', () => {
  it('is 2.3.7, with the expressions reply-needs.ts lists, in its order', () => {
    const entry = createRequire(import.meta.url).resolve('email-reply-parser');
    expect(JSON.parse(readFileSync(new URL('../package.json', `file://${entry}`), 'utf8')).version).toBe('2.3.7');
    for (const [, regexes, needs] of lists) expect(regexes.map(String)).toEqual([...needs.keys()]);
  });

  it('each expression matches its example, and the example holds what reply-needs.ts says every match holds', () => {
    for (const [name, regexes, needs, examples] of lists) {
      expect(examples).toHaveLength(regexes.length);
      regexes.forEach((regex, i) => {
        expect(regex.test(examples[i]!), `${name} ${i} ${String(regex)}`).toBe(true);
        expect(holds(needs.get(String(regex))!, examples[i]!), `${name} ${i}`).toBe(true);
      });
    }
  });
});

describe('splitFragments gives email-reply-parser’s fragments', () => {
  it('on the replies of the hand-checked cases and on edge inputs', () => {
    const edges = ['', '\n', '\n\n\n', '\r\n', '\r', 'a\rb\r\nc', 'x\u2028-- \u2029y', '-- ', '--  ', ' --', '--\t', 'Sent from ', 'Sent from x ',
      '\ud83d', 'a\ud83d\n\udc00b', '😀\n> 😀\n-- \n😀', 'On $& Ada <a@b.c>\nwrote:\n> q', 'On $1 x\n$` y wrote:', "De: $' [\nmailto:a]",
      '\ufeff\n\u00a0\n\u3000', '>', '>\n\n>', ' > x', 'x\n\nOn Mon Ada wrote:\n\n> q\n-- \nsig', 'Cheers,\n\n\n', 'cheers!\r\nCHEERS'];
    expect(differences(edges)).toEqual([]);
  });

  it('on every text of the corpus (test/corpus), as it is and as extractReply hands it over', { timeout: 120_000 }, async () => {
    const texts = new Set<string>();
    for (const reading of Object.values(loadOracle())) for (const piece of reading.text) if (piece) texts.add(piece);
    for (const file of readdirSync(CORPUS_DIR).filter((f) => f.endsWith('.eml'))) {
      const raw = readFileSync(`${CORPUS_DIR}${file}`);
      const { parsed } = await parseMessage(Readable.from([raw]), async (_i, s) => void s.resume());
      texts.add(parsed.text);
    }
    const all = [...texts].flatMap((t) => [t, prepareReplyInput(t), t.replace(/\r?\n/g, '\r\n')]);
    expect(all.length).toBeGreaterThan(600);
    expect(differences(all)).toEqual([]);
  });

  it('on generated mail: prose, quotes, blank runs, signatures, quote headers, CRLF, odd characters', { timeout: 120_000 }, () => {
    const texts = generatedTexts(2500, 14);
    expect(differences(texts)).toEqual([]);
    expect(differences(texts.map(prepareReplyInput))).toEqual([]);
  });

  it('never skips an expression that matches: every text and line it matches holds its strings', () => {
    const missed: string[] = [];
    for (const text of generatedTexts(1500, 41).map((t) => t.replace(/\r\n/g, '\n'))) {
      for (const s of [text, ...text.split('\n').flatMap((l) => [l, l.trimEnd()])]) {
        for (const [name, regexes, needs] of lists) {
          for (const regex of regexes) if (regex.test(s) && !holds(needs.get(String(regex))!, s)) missed.push(`${name} ${String(regex)}: ${JSON.stringify(s)}`);
        }
      }
    }
    expect(missed.slice(0, 3)).toEqual([]);
  });

  it('splitWithoutExpressions: the same fragments, or null on a text where an expression could run', { timeout: 120_000 }, () => {
    const texts = generatedTexts(2500, 14);
    const all = [...texts, ...texts.map(prepareReplyInput), ...HEADER_EXAMPLES, ...SIGNATURE_EXAMPLES, 'Thanks.\n\n> the old text\n'];
    let split = 0;
    const wrong: string[] = [];
    for (const t of all) {
      const plain = splitWithoutExpressions(t);
      if (plain === null) continue;
      split++;
      if (JSON.stringify(plain) !== JSON.stringify(splitFragments(t))) wrong.push(t);
    }
    expect(wrong.slice(0, 3)).toEqual([]);
    expect(split).toBeGreaterThan(100);
    // Every example holds what its expression needs: none is split without it.
    for (const t of [...HEADER_EXAMPLES, ...SIGNATURE_EXAMPLES]) expect(splitWithoutExpressions(t), t).toBeNull();
  });

  it('splitWithoutExpressions on text without ">" at a line start or whitespace at a line end (one fragment, the text itself): the library’s fragments', () => {
    // Words none of the expressions needs, and every character \s (trimEnd()'s set) holds, with
    // neighbours it does not (U+0085, U+180E, U+200B, lone surrogates), at line ends and inside.
    const words = ['the', 'mail', 'queue', 'keeps', 'moving', 'fox', 'dog', '42', 'é', '😀', '\ud83d', '\udc00', 'x>y', '\u0085', '\u180e', '\u200b', '\u009f', '\u00a1'];
    const spaces = [' ', '\t', '\v', '\f', '\r', '\u00a0', '\u1680', '\u2000', '\u200a', '\u2028', '\u2029', '\u202f', '\u205f', '\u3000', '\ufeff'];
    let n = 20261207;
    const int = (k: number) => (n = (Math.imul(n, 1103515245) + 12345) >>> 0) % k;
    const pick = <T>(list: readonly T[]): T => list[int(list.length)]!;
    const texts = ['', '\n', '\n\n', '\n\n\nx', 'x\n', 'x', ' ', 'x ', ' x', '\nx \ny', 'a>b', ...spaces.flatMap((c) => [c, `x${c}`, `x${c}\ny`, `${c}x`, `\n${c}`])];
    for (let i = 0; i < 3000; i++) {
      const lines = Array.from({ length: int(30) }, () => {
        const line = Array.from({ length: int(8) }, () => pick(words)).join(int(4) === 0 ? pick(spaces) : ' ');
        return int(6) === 0 ? line + pick(spaces) : int(10) === 0 ? pick(spaces) + line : line;
      });
      texts.push('\n'.repeat(int(3)) + lines.join('\n') + '\n'.repeat(int(3)));
    }
    let [whole, walked] = [0, 0];
    const wrong: string[] = [];
    for (const t of texts) {
      const plain = splitWithoutExpressions(t);
      if (plain === null) continue;
      if (plain.length === 1 && plain[0]!.content === t.replace(/^\n/, '')) whole++;
      else walked++;
      if (JSON.stringify(plain) !== JSON.stringify(library(t)) || JSON.stringify(plain) !== JSON.stringify(splitFragments(t))) wrong.push(t);
    }
    expect(wrong.slice(0, 3)).toEqual([]);
    // Both ways are taken: the text whole, and the walk over lines where one ends in whitespace.
    expect(whole).toBeGreaterThan(300);
    expect(walked).toBeGreaterThan(300);
  });
});
