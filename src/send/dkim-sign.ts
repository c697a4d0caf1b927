import { createHash, type KeyObject } from 'node:crypto';
import { domainToASCII } from 'node:url';
import { rsaSha256OnThread } from './sign-thread.js';

/**
 * DKIM-Signature (RFC 6376, rsa-sha256, relaxed/relaxed) over a whole message in memory, with
 * the RSA signature made on a dedicated signing thread at lower priority (sign-thread.ts) instead
 * of on the event loop: at ~1.2 ms per 2048-bit signature it was the largest single cost of a send
 * (bench/README.md, "Issue 12, throughput"). The canonicalization follows nodemailer's signer
 * (nodemailer/lib/dkim, which it replaces here) byte for byte: the same header list, the same
 * bottom-up choice of a repeated field, the same relaxed header and body rules.
 */

/** nodemailer's default list: RFC 4871 §5.5 plus List-Unsubscribe-Post (RFC 8058). */
const SIGNED_FIELDS = (
  'From:Sender:Reply-To:Subject:Date:Message-ID:To:Cc:MIME-Version:Content-Type:Content-Transfer-Encoding:Content-ID:' +
  'Content-Description:Resent-Date:Resent-From:Resent-Sender:Resent-To:Resent-Cc:Resent-Message-ID:In-Reply-To:References:' +
  'List-Id:List-Help:List-Unsubscribe:List-Unsubscribe-Post:List-Subscribe:List-Post:List-Owner:List-Archive:OTP-Token'
)
  .toLowerCase()
  .split(':');

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const TAB = 0x09;

export interface DkimSigner {
  domain: string;
  selector: string;
  privateKey: KeyObject;
}

/** Where the body starts: after the first empty line (CRLF CRLF or LF LF); the message's length when there is none. */
export function bodyStart(message: Buffer): number {
  for (let i = message.indexOf(LF); i !== -1; i = message.indexOf(LF, i + 1)) {
    if (i === 0) continue;
    if (message[i - 1] === LF || (i > 1 && message[i - 1] === CR && message[i - 2] === LF)) return i + 1;
  }
  return message.length;
}

/**
 * RFC 6376 §3.4.4: trailing whitespace of each line removed, runs of SP/HTAB made one SP, empty
 * lines at the end removed, CRLF line ends (a bare LF counts as one), a final CRLF when the body
 * has content. Hashed in slices so a large forwarded body needs no second copy of itself. The
 * state is in locals, not shared with closures, which would keep it in a heap context: the loop
 * took ~12 ns a byte that way (bench/README.md, "Issue 12, throughput, third part: composing
 * and signing").
 */
export function relaxedBodyHash(body: Buffer): string {
  const hash = createHash('sha256');
  const SLICE = 64 * 1024;
  // A byte writes at most two (CRLF for LF; a pending SP or CR, then itself), plus what a slice
  // inherits and the final CRLF.
  const room = (n: number) => n * 2 + 8;
  let out = Buffer.allocUnsafe(room(Math.min(body.length, SLICE)));
  let pos = 0;
  let lineHasContent = false;
  let pendingWsp = false;
  let pendingCr = false;
  let pendingEmptyLines = 0;
  // In a line's content with nothing pending: a byte other than CR, LF, SP and HTAB is copied as it is.
  let plain = false;
  for (let start = 0; ; start += SLICE) {
    const end = Math.min(body.length, start + SLICE);
    if (out.length - pos < room(end - start)) {
      hash.update(out.subarray(0, pos));
      pos = 0;
      if (out.length < room(end - start)) out = Buffer.allocUnsafe(room(end - start));
    }
    // The last slice takes one step past the end of the body (c = -1), where a pending CR is content.
    const stop = end === body.length ? end + 1 : end;
    for (let i = start; i < stop; i++) {
      const c = i < end ? body[i]! : -1;
      if (c > SP && plain) {
        out[pos++] = c;
        continue;
      }
      if (c === LF) {
        // End of line: a CR before it and any trailing whitespace are dropped.
        if (lineHasContent) {
          out[pos++] = CR;
          out[pos++] = LF;
          lineHasContent = false;
        } else {
          pendingEmptyLines++;
        }
        pendingWsp = pendingCr = plain = false;
        continue;
      }
      let b = c;
      if (pendingCr) {
        // A CR not followed by LF is content: written now, and this byte looked at again.
        pendingCr = false;
        b = CR;
        i--;
      } else if (c === CR || c === SP || c === TAB) {
        if (c === CR) pendingCr = true;
        else pendingWsp = true;
        plain = false;
        continue;
      } else if (c === -1) {
        break;
      }
      if (!lineHasContent) {
        if (pendingEmptyLines) {
          // Empty lines become part of the body only when content follows them.
          hash.update(out.subarray(0, pos));
          pos = 0;
          hash.update('\r\n'.repeat(pendingEmptyLines));
          pendingEmptyLines = 0;
        }
        lineHasContent = true;
      }
      if (pendingWsp) {
        out[pos++] = SP;
        pendingWsp = false;
      }
      out[pos++] = b;
      plain = true;
    }
    if (end === body.length) break;
  }
  if (lineHasContent) {
    out[pos++] = CR;
    out[pos++] = LF;
  }
  hash.update(out.subarray(0, pos));
  return hash.digest('base64');
}

/** RFC 6376 §3.4.2 for a field's value: unfolded, SP/HTAB runs made one SP, none around the value. */
const relaxedValue = (line: string) =>
  line
    .slice(line.indexOf(':') + 1)
    .replace(/\r?\n/g, '')
    .replace(/[ \t]+/g, ' ')
    .replace(/^ | $/g, '');

/** The header fields in order, unfolded, as latin1 strings (one character per byte). */
function headerFields(header: Buffer): { key: string; line: string }[] {
  const lines: string[] = [];
  for (const raw of header.toString('latin1').split(/\r?\n/)) {
    if (lines.length && (raw.startsWith(' ') || raw.startsWith('\t'))) lines[lines.length - 1] += '\n' + raw;
    else lines.push(raw);
  }
  return lines
    .filter((line) => /[^ \t\r]/.test(line))
    .map((line) => ({ key: line.slice(0, Math.max(0, line.indexOf(':'))).replace(/^[ \t]+|[ \t]+$/g, '').toLowerCase(), line }));
}

/** Folds a header line before a space so that lines stay within 76 characters where they can; a token is never split. */
function fold(s: string, width = 76): string {
  const lines: string[] = [];
  let line = '';
  for (const word of s.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  lines.push(line);
  return lines.join('\r\n ');
}

// eslint-disable-next-line no-control-regex -- a tag value must not carry control characters
const tagValue = (v: string) => v.replace(/[\x00-\x1f\x7f;=]/g, '');

/**
 * The DKIM-Signature field for `message` (ending in CRLF, to be prepended). The body hash and the
 * canonical headers are computed here; the RSA signature on the signing thread (sign-thread.ts).
 */
export async function dkimSignature(message: Buffer, signer: DkimSigner): Promise<string> {
  const start = bodyStart(message);
  const bh = relaxedBodyHash(message.subarray(start));
  const fields = headerFields(message.subarray(0, start));
  // A field listed twice is signed once, its last instance (nodemailer's choice; RFC 6376 §5.4.2).
  const chosen = new Map<string, string>();
  for (let i = fields.length - 1; i >= 0; i--) {
    const f = fields[i]!;
    if (SIGNED_FIELDS.includes(f.key) && !chosen.has(f.key)) chosen.set(f.key, relaxedValue(f.line));
  }
  const names = SIGNED_FIELDS.filter((k) => chosen.has(k));
  const domain = domainToASCII(tagValue(signer.domain)) || tagValue(signer.domain).toLowerCase();
  const tags = ['v=1', 'a=rsa-sha256', 'c=relaxed/relaxed', `d=${domain}`, 'q=dns/txt', `s=${tagValue(signer.selector)}`, `bh=${bh}`, `h=${names.join(':')}`];
  const head = `${fold(`DKIM-Signature: ${tags.join('; ')}`)};\r\n b=`;
  const canonical = names.map((k) => `${k}:${chosen.get(k)!}\r\n`).join('') + `dkim-signature:${relaxedValue(head)}`;
  const signature = await rsaSha256OnThread(Buffer.from(canonical, 'latin1'), signer.privateKey);
  // Folded as nodemailer folds it: 73 characters on the field's first line, 75 on the next ones.
  const b64 = signature.toString('base64');
  const lines = [b64.slice(0, 73)];
  for (let i = 73; i < b64.length; i += 75) lines.push(b64.slice(i, i + 75));
  const b = lines.join('\r\n ');
  return `${head}${b}\r\n`;
}

/** `message` with its DKIM-Signature prepended. */
export async function signMessage(message: Buffer, signer: DkimSigner): Promise<Buffer> {
  const field = await dkimSignature(message, signer);
  return Buffer.concat([Buffer.from(field, 'latin1'), message]);
}
