/**
 * The new text of a reply, split from the quoted earlier messages and the signature (Mailgun's
 * stripped-text / stripped-signature, Postmark's StrippedTextReply). email-reply-parser's split
 * into fragments (reply-fragments.ts) runs on a thread of its own (reply-thread.ts); this file
 * turns its fragments into the webhook's `reply` and holds the rules we add on top of it.
 */
export interface Reply {
  /** What the sender wrote in this message: quotes and signature removed. */
  text: string;
  /** The signature block, without its `-- ` delimiter line. */
  signature: string;
  /** The quoted earlier message(s), attribution line included. */
  quoted: string;
}

/** One fragment as email-reply-parser classifies it, in message order. */
export interface Fragment {
  content: string;
  quoted: boolean;
  signature: boolean;
}

/**
 * The library's expressions cost the square of some inputs (runs of blank lines, long lines):
 * 32 KiB of blank lines took the library 165 s in our measurement. The thread's timeout is the real bound;
 * these keep ordinary large mail well inside it. A reply's new text is at the top (or, when
 * bottom-posted, right after the quote), so nothing a person wrote is lost below 64 KiB.
 */
export const MAX_REPLY_INPUT = 64 * 1024;
const MAX_LINE = 998; // RFC 5322 §2.1.1

const SPACES = /^[ \t]+$/;

/**
 * What the library is given: LF line ends, bounded lines and blank runs, at most MAX_REPLY_INPUT.
 * On the event loop for every message (issue 14): each step runs only where the text needs it,
 * and ordinary prose comes back as it was given, without a copy.
 */
export function prepareReplyInput(text: string): string {
  let t = text.length > MAX_REPLY_INPUT ? text.slice(0, MAX_REPLY_INPUT) : text;
  if (t.includes('\r')) t = t.replace(/\r\n?/g, '\n');
  if (linesNeedBounds(t)) t = boundLines(t);
  return t.includes('\n\n\n\n') ? t.replace(/\n{4,}/g, '\n\n\n') : t;
}

/** Whether a line of `t` is over MAX_LINE or blanks that start with a space or tab: found without splitting `t`. */
function linesNeedBounds(t: string): boolean {
  for (let start = 0; ; ) {
    const nl = t.indexOf('\n', start);
    const end = nl < 0 ? t.length : nl;
    if (end - start > MAX_LINE) return true;
    const c = t.charCodeAt(start);
    if ((c === 32 || c === 9) && SPACES.test(t.slice(start, end))) return true;
    if (nl < 0) return false;
    start = nl + 1;
  }
}

/** Each line of `t` cut at MAX_LINE, and made empty when it is blanks that start with a space or tab. */
function boundLines(t: string): string {
  const lines = t.split('\n');
  let changed = false;
  for (let i = 0; i < lines.length; i++) {
    let l = lines[i]!;
    if (l.length > MAX_LINE) l = l.slice(0, MAX_LINE);
    const c = l.charCodeAt(0);
    if ((c === 32 || c === 9) && SPACES.test(l)) l = '';
    if (l !== lines[i]) {
      lines[i] = l;
      changed = true;
    }
  }
  return changed ? lines.join('\n') : t;
}

// Outlook opens the quoted message with a long rule ("____…" or the "-----" mailparser makes of
// its <hr>); the library takes a rule for a signature delimiter. A signature delimiter is short.
const RULE = /^[ \t]*[-_=]{10,}[ \t]*$/;
const DELIMITER = /^[ \t]*(--|__) ?[ \t]*\n/;

/** `s` without its leading newlines. */
function skipNewlines(s: string): string {
  let i = 0;
  while (s.charCodeAt(i) === 10) i++;
  return i === 0 ? s : s.slice(i);
}

// Each part without its leading newlines and trailing whitespace (`\s` is trimEnd()'s set), empty ones left out.
const joinParts = (parts: string[]) =>
  parts
    .map((p) => skipNewlines(p).trimEnd())
    .filter(Boolean)
    .join('\n\n');

/** `body` less its last lines while they are rules or blank (whole lines, as split on "\n"). */
function dropTrailingRules(body: string): string {
  let end = body.length;
  for (;;) {
    const nl = end === 0 ? -1 : body.lastIndexOf('\n', end - 1);
    const line = body.slice(nl + 1, end);
    if (!RULE.test(line) && line.trim() !== '') return end === body.length ? body : body.slice(0, end);
    if (nl < 0) return '';
    end = nl;
  }
}

export function assembleReply(fragments: Fragment[]): Reply {
  const text: string[] = [];
  const signature: string[] = [];
  const quoted: string[] = [];
  for (const f of fragments) {
    const signed = f.signature ? skipNewlines(f.content) : '';
    if (f.quoted || (f.signature && RULE.test(signed.split('\n', 1)[0]!))) quoted.push(f.content);
    else if (f.signature) signature.push(signed.replace(DELIMITER, ''));
    else text.push(f.content);
  }
  // A rule left at the end of the new text belongs to the quote that follows it.
  return { text: dropTrailingRules(joinParts(text)), signature: joinParts(signature), quoted: joinParts(quoted) };
}

/** Used when the library failed or ran out of time: the whole text, nothing taken away. */
export const unsplitReply = (text: string): Reply => ({ text: text.replace(/\r\n?/g, '\n').trim(), signature: '', quoted: '' });
