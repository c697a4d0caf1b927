import { createHash, randomBytes } from 'node:crypto';

/** Every bench message carries `bench-<run>-<seq>` in its Subject, so a webhook names its message. */
export const RUN = randomBytes(3).toString('hex');
export const subjectOf = (seq: number) => `bench-${RUN}-${seq}`;
const SUBJECT_IN_JSON = new RegExp(`"subject":"bench-${RUN}-(\\d+)"`);

/** The seq of the bench message a webhook body is about, or -1. */
export function seqOfWebhook(body: string): number {
  const m = SUBJECT_IN_JSON.exec(body);
  return m ? Number(m[1]) : -1;
}

const LINE = 'The quick brown fox jumps over the lazy dog while the mail queue keeps on moving along.';

/** A plain-text message of exactly `size` bytes (CRLF line ends, no dot-led lines). */
export function plainMessage(seq: number, to: string, size = 4096): Buffer {
  const head =
    `From: Bench Sender <sender@bench-sender.test>\r\n` +
    `To: <${to}>\r\n` +
    `Subject: ${subjectOf(seq)}\r\n` +
    `Date: ${new Date().toUTCString()}\r\n` +
    `Message-ID: <${RUN}.${seq}@bench-sender.test>\r\n` +
    `MIME-Version: 1.0\r\n` +
    `Content-Type: text/plain; charset=utf-8\r\n\r\n`;
  let body = '';
  while (head.length + body.length + LINE.length + 2 <= size) body += LINE + '\r\n';
  const pad = size - head.length - body.length;
  if (pad >= 2) body += 'x'.repeat(pad - 2) + '\r\n';
  else if (pad === 1) body += 'x';
  return Buffer.from(head + body, 'latin1');
}

/** Base64 in 76-character lines (RFC 2045 §6.8). */
function base64Lines(data: Buffer): string {
  const b64 = data.toString('base64');
  const out: string[] = [];
  for (let i = 0; i < b64.length; i += 76) out.push(b64.slice(i, i + 76));
  return out.join('\r\n');
}

export interface Attachment {
  filename: string;
  content: Buffer;
}

export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A multipart/mixed message with a text part and `attachments` as base64 parts. */
export function multipartMessage(seq: number, to: string, attachments: Attachment[]): Buffer {
  const boundary = `=_bench_${RUN}_${seq}`;
  const parts: Buffer[] = [
    Buffer.from(
      `From: Bench Sender <sender@bench-sender.test>\r\nTo: <${to}>\r\nSubject: ${subjectOf(seq)}\r\n` +
        `Date: ${new Date().toUTCString()}\r\nMessage-ID: <${RUN}.${seq}@bench-sender.test>\r\nMIME-Version: 1.0\r\n` +
        `Content-Type: multipart/mixed; boundary="${boundary}"\r\n\r\n` +
        `--${boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee the attachments.\r\n`,
    ),
  ];
  for (const a of attachments) {
    parts.push(
      Buffer.from(
        `--${boundary}\r\nContent-Type: application/octet-stream; name="${a.filename}"\r\n` +
          `Content-Disposition: attachment; filename="${a.filename}"\r\nContent-Transfer-Encoding: base64\r\n\r\n`,
      ),
      Buffer.from(base64Lines(a.content) + '\r\n'),
    );
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(parts);
}
