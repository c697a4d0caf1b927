import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MAX_ATTACHMENTS, MAX_HEADER_VALUE } from '../../src/parse/parse-message.js';

/** The fields the corpus test checks, as Mailhook's webhook payload carries them. */
export interface Reading {
  subject: string;
  from: string;
  attachments: { filename: string; size: number; sha256: string }[];
  text: string;
}

export type Field = 'subject' | 'from' | 'attachments' | 'text';

/** Python's reading of one file (test/corpus/oracle.py); null in `text` is a piece it does not read. */
export interface OracleReading {
  subject: string;
  from: string;
  attachments: Reading['attachments'];
  text: (string | null)[];
}

export const CORPUS_DIR = fileURLToPath(new URL('./public/', import.meta.url));

export function loadOracle(): Record<string, OracleReading> {
  const path = fileURLToPath(new URL('./oracle.json', import.meta.url));
  return (JSON.parse(readFileSync(path, 'utf8')) as { messages: Record<string, OracleReading> }).messages;
}

/**
 * The only normalisation of text: line endings (SMTP turned them into CRLF, mailparser into LF)
 * and whitespace at the end of a line or of the text, which no reader shows and which
 * quoted-printable soft breaks and format=flowed leave differently.
 */
const normalise = (text: string) => text.replace(/\r\n?/g, '\n').replace(/[ \t]+$/gm, '');

/**
 * Mailhook's text must be the oracle's pieces joined by "\n", where a null piece stands for any
 * text. Literal runs between the gaps are found in order, the first anchored at the start and
 * the last at the end unless a gap stands there.
 */
export function textAgrees(actual: string, pieces: (string | null)[]): boolean {
  const runs = [''];
  pieces.forEach((piece, i) => {
    if (i > 0) runs[runs.length - 1] += '\n';
    if (piece === null) runs.push('');
    else runs[runs.length - 1] += normalise(piece);
  });
  // The text's end is compared without its trailing whitespace, and a gap there may be empty.
  const end = runs.length - 1;
  runs[end] = runs[end]!.trimEnd();
  if (end > 0 && runs[end] === '') runs[end - 1] = runs[end - 1]!.trimEnd();
  return inOrder(normalise(actual).trimEnd(), runs);
}

function inOrder(text: string, runs: string[]): boolean {
  if (runs.length === 1) return text === runs[0];
  const first = runs[0]!;
  const last = runs[runs.length - 1]!;
  if (!text.startsWith(first) || text.length < first.length + last.length || !text.endsWith(last)) return false;
  let at = first.length;
  for (const run of runs.slice(1, -1)) {
    const found = text.indexOf(run, at);
    if (found < 0) return false;
    at = found + run.length;
  }
  return at <= text.length - last.length;
}

/** The fields on which Mailhook and the oracle disagree, after Mailhook's documented caps. */
export function disagreements(actual: Reading, oracle: OracleReading): Field[] {
  const out: Field[] = [];
  // Whitespace at either end of a header value is folding or the space after the colon, not content.
  if (actual.subject.trim() !== oracle.subject.slice(0, MAX_HEADER_VALUE).trim()) out.push('subject');
  if (actual.from !== oracle.from) out.push('from');
  const expected = oracle.attachments.slice(0, MAX_ATTACHMENTS);
  const same = (a: Reading['attachments'][number], b: Reading['attachments'][number]) =>
    a.filename === b.filename && a.size === b.size && a.sha256 === b.sha256;
  if (actual.attachments.length !== expected.length || actual.attachments.some((a, i) => !same(a, expected[i]!))) {
    out.push('attachments');
  }
  if (!textAgrees(actual.text, oracle.text)) out.push('text');
  return out;
}
