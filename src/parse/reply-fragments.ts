import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { QUOTE_HEADER_NEEDS, SIGNATURE_NEEDS, type Need } from './reply-needs.js';

/**
 * email-reply-parser's split (`new EmailReplyParser().read(text).getFragments()`, its
 * dist/parser/emailparser.js), the same fragments for every text at a fraction of the cost.
 * The library reverses the text code unit by code unit, walks the reversed lines and reverses
 * each line back before every test (25 signature expressions per line, twice), and first runs
 * its 31 quote-header expressions over the whole text. Here the lines are walked last to first
 * in their own orientation, and an expression runs only on a text holding the piece every match
 * of it contains (reply-needs.ts). How the library's reversed tests read forwards:
 * - its QUOTE_REGEX /(>+)$/ on a reversed line: the line starts with ">";
 * - its /^\s+/ trim of a reversed line: trimEnd() of the line (\s and trimEnd() are both
 *   WhiteSpace + LineTerminator);
 * - its stringRTrim(line, "\n") of a line split on "\n": nothing;
 * - reversing the fragment's reversed lines, joined: its lines top to bottom, joined; then one
 *   leading "\n" is removed, as createEmail does.
 * The expressions are the library's own objects (its lists, not copies), so a new version's
 * lists apply here too. test/parse/reply-fragments.test.ts holds this to the library.
 */
export interface ReplyFragment {
  content: string;
  hidden: boolean;
  signature: boolean;
  quoted: boolean;
}

interface Lists {
  quoteHeadersRegex: RegExp[];
  signatureRegex: RegExp[];
}

// The package exports only its entry point; its lists are the RegexList instance in
// dist/regex.js next to it, the very module (same URL) its parser imports.
const entry = pathToFileURL(createRequire(import.meta.url).resolve('email-reply-parser'));
export const LIBRARY_LISTS = ((await import(new URL('./regex.js', entry).href)) as { default: Lists }).default;

interface Expression {
  regex: RegExp;
  /** Where its need's strings stand in PIECES (anyCase ones after the others); null: no need, it always runs. */
  pieces: number[] | null;
}

/**
 * Every string some expression needs, once each. An `anyCase` one (lowercase, reply-needs.ts) is
 * looked for by `re`, itself under the i flag (not Unicode), as the expression it comes from:
 * a match of that expression holds a match of `re`.
 */
const PIECES: { s: string; anyCase: boolean; re: RegExp | null }[] = [];
const pieceIds = new Map<string, number>();
const literal = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
function pieceId(s: string, anyCase: boolean): number {
  const key = `${anyCase ? 'i' : 's'}:${s}`;
  let id = pieceIds.get(key);
  if (id === undefined) pieceIds.set(key, (id = PIECES.push({ s, anyCase, re: anyCase ? new RegExp(literal(s), 'i') : null }) - 1));
  return id;
}

function expressions(list: RegExp[], needs: Map<string, Need>): Expression[] {
  return list.map((regex) => {
    const need = needs.get(String(regex));
    return { regex, pieces: need ? [...need.pieces.map((s) => pieceId(s, false)), ...need.anyCase.map((s) => pieceId(s, true))] : null };
  });
}

// Prepared once: every piece is in PIECES before a text is looked at.
const HEADERS = expressions(LIBRARY_LISTS.quoteHeadersRegex, QUOTE_HEADER_NEEDS);
const SIGNATURES = expressions(LIBRARY_LISTS.signatureRegex, SIGNATURE_NEEDS);
/** Any of the anyCase pieces: one pass over a text that holds none of them (most mail). */
const ANY_CASE = new RegExp(
  PIECES.filter((p) => p.anyCase)
    .map((p) => literal(p.s))
    .join('|') || '(?!)',
  'i',
);

const UNKNOWN = 0;
const HELD = 1;
const NOT_HELD = 2;

/**
 * Whether `text` holds every string an expression needs (reply-needs.ts), each looked up once.
 * Asked ~56 times a message on the event loop (issue 14): what was found is kept in a small
 * array by the string's number, without a Map, a closure or a key string per string asked.
 */
function holder(text: string): (e: Expression) => boolean {
  const found = new Uint8Array(PIECES.length);
  let anyCase: boolean | undefined; // whether the text holds any anyCase piece
  return (e) => {
    const ids = e.pieces;
    if (ids === null) return true;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      let state = found[id]!;
      if (state === UNKNOWN) {
        const piece = PIECES[id]!;
        // Not text.toLowerCase().includes(): a copy of the text per message (issue 14).
        const held = piece.re ? (anyCase ??= ANY_CASE.test(text)) && piece.re.test(text) : text.includes(piece.s);
        found[id] = state = held ? HELD : NOT_HELD;
      }
      if (state === NOT_HELD) return false;
    }
    return true;
  };
}

/** The library's fixBrokenSignatures: each quote header's first group, newlines made spaces. */
function joinBrokenHeaders(text: string, headers: Expression[]): { text: string; holds: ReturnType<typeof holder> } {
  let holds = holder(text);
  for (const e of headers) {
    if (!holds(e)) continue;
    const regex = e.regex;
    const match = text.match(regex);
    if (!match) continue;
    const group = match[1] as string;
    // As the library does it: the first occurrence of the group's text, "$" patterns and all.
    const joined = text.replace(group, group.replace(/\n/g, ' '));
    if (joined !== text) holds = holder((text = joined));
  }
  return { text, holds };
}

interface Building {
  lines: string[]; // bottom to top
  quoted: boolean;
  signature: boolean;
}

function finish(f: Building): ReplyFragment {
  const content = f.lines.reverse().join('\n').replace(/^\n/, '');
  const hidden = f.quoted || f.signature || f.lines.every((l) => l === '');
  return { content, hidden, signature: f.signature, quoted: f.quoted };
}

/** The library's fragments of `input`, top to bottom. */
export function splitFragments(input: string): ReplyFragment[] {
  return split(input, false)!;
}

/**
 * The same fragments, or null when any of the library's expressions could match `input` (a text
 * holding the pieces one needs, or an expression not in reply-needs.ts). Without expressions the
 * split is a walk over the lines, linear in the text's length: safe on the event loop, where
 * most mail is split without the reply thread's round trip (issue 14, reply-thread.ts).
 */
export function splitWithoutExpressions(input: string): ReplyFragment[] | null {
  return split(input, true);
}

function split(input: string, withoutExpressions: boolean): ReplyFragment[] | null {
  const headers = HEADERS;
  let text: string;
  let holds: ReturnType<typeof holder>;
  if (withoutExpressions) {
    text = input.replace(/\r\n/g, '\n');
    holds = holder(text);
    // joinBrokenHeaders would run these: none may.
    if (headers.some(holds) || SIGNATURES.some(holds)) return null;
    if (!text.includes('>') && !endsLineWithSpace(text)) return [wholeText(text)];
  } else {
    ({ text, holds } = joinBrokenHeaders(input.replace(/\r\n/g, '\n'), headers));
  }
  const possible = (list: Expression[]) => list.filter((e) => holds(e)).map((e) => e.regex);
  const lineHeaders = possible(headers);
  const lineSignatures = possible(SIGNATURES);
  const isHeader = (line: string) => lineHeaders.length > 0 && lineHeaders.some((r) => r.test(line));
  const isSignature = (line: string) => lineSignatures.length > 0 && lineSignatures.some((r) => r.test(line));

  const done: ReplyFragment[] = [];
  const lines = text.split('\n');
  let fragment: Building | null = null;
  let lastIsSignature = false; // of the line last added, the one below this
  for (let i = lines.length - 1; i >= 0; i--) {
    const raw = lines[i]!;
    const rawIsSignature = isSignature(raw);
    const line = rawIsSignature ? raw : raw.trimEnd();
    if (fragment) {
      if (lastIsSignature) {
        fragment.signature = true;
        done.push(finish(fragment));
        fragment = null;
      } else if (line === '' && isHeader(fragment.lines.at(-1)!)) {
        fragment.quoted = true;
        done.push(finish(fragment));
        fragment = null;
      }
    }
    const quoted = line.startsWith('>');
    if (!fragment || !(fragment.quoted === quoted || (fragment.quoted && (isHeader(line) || line === '')))) {
      if (fragment) done.push(finish(fragment));
      fragment = { lines: [], quoted, signature: false };
    }
    fragment.lines.push(line);
    lastIsSignature = line === raw ? rawIsSignature : isSignature(line);
  }
  if (fragment) done.push(finish(fragment));
  return done.reverse();
}

/**
 * Whether a line of `text` (split on "\n") ends in a character trimEnd() removes: `\s`, which is
 * trimEnd()'s set (WhiteSpace + LineTerminator), "\n" aside. Only the character before each line
 * end is looked at, without splitting.
 */
function endsLineWithSpace(text: string): boolean {
  for (let end = text.indexOf('\n'); ; end = text.indexOf('\n', end + 1)) {
    const at = (end < 0 ? text.length : end) - 1;
    if (at >= 0) {
      const c = text.charCodeAt(at);
      // Every \s character is at most U+0020 or at least U+00A0; "\n" ends no line's content.
      if ((c <= 32 || c >= 0xa0) && c !== 10 && SPACE.test(text[at]!)) return true;
    }
    if (end < 0) return false;
  }
}
const SPACE = /\s/;

/**
 * The split's one fragment of a text where no expression can run, with no ">" (so no quoted line) and no
 * line ends in whitespace (issue 14: most mail, the bench message too): the walk would put every
 * line, unchanged by trimEnd(), in one unquoted fragment and join them back into the text. Its
 * content is the text, less one leading "\n" (as finish() does), without the split and the join.
 */
function wholeText(text: string): ReplyFragment {
  let blank = true;
  for (let i = 0; i < text.length && blank; i++) blank = text.charCodeAt(i) === 10;
  return { content: text.charCodeAt(0) === 10 ? text.slice(1) : text, hidden: blank, signature: false, quoted: false };
}
