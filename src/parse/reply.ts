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

/** What the library is given: LF line ends, bounded lines and blank runs, at most MAX_REPLY_INPUT. */
export function prepareReplyInput(text: string): string {
  return text
    .slice(0, MAX_REPLY_INPUT)
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((l) => (l.length > MAX_LINE ? l.slice(0, MAX_LINE) : l).replace(/^[ \t]+$/, ''))
    .join('\n')
    .replace(/\n{4,}/g, '\n\n\n');
}

// Outlook opens the quoted message with a long rule ("____…" or the "-----" mailparser makes of
// its <hr>); the library takes a rule for a signature delimiter. A signature delimiter is short.
const RULE = /^[ \t]*[-_=]{10,}[ \t]*$/;
const DELIMITER = /^[ \t]*(--|__) ?[ \t]*\n/;

const joinParts = (parts: string[]) =>
  parts
    .map((p) => p.replace(/^\n+|\s+$/g, ''))
    .filter(Boolean)
    .join('\n\n');

export function assembleReply(fragments: Fragment[]): Reply {
  const text: string[] = [];
  const signature: string[] = [];
  const quoted: string[] = [];
  for (const f of fragments) {
    const firstLine = f.content.replace(/^\n+/, '').split('\n', 1)[0] ?? '';
    if (f.quoted || (f.signature && RULE.test(firstLine))) quoted.push(f.content);
    else if (f.signature) signature.push(f.content.replace(/^\n+/, '').replace(DELIMITER, ''));
    else text.push(f.content);
  }
  // A rule left at the end of the new text belongs to the quote that follows it.
  let body = joinParts(text);
  const lines = body.split('\n');
  while (lines.length > 0 && (RULE.test(lines.at(-1)!) || lines.at(-1)!.trim() === '')) lines.pop();
  body = lines.join('\n');
  return { text: body, signature: joinParts(signature), quoted: joinParts(quoted) };
}

/** Used when the library failed or ran out of time: the whole text, nothing taken away. */
export const unsplitReply = (text: string): Reply => ({ text: text.replace(/\r\n?/g, '\n').trim(), signature: '', quoted: '' });
