import type { KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';
import type MailComposerClass from 'nodemailer/lib/mail-composer';
import { randomHex } from '../ids.js';
import { signMessage } from './dkim-sign.js';
import { buildMime, type MimeTree } from './mime-build.js';
import { installHasLongerLines, installHeaderKeyMemo } from './nodemailer-fast.js';

// Loaded with the first message composed, not at start-up (README, "Memory").
const load = createRequire(import.meta.url);
let composer: typeof MailComposerClass | undefined;
const MailComposer = () => {
  if (!composer) {
    // MimeNode.setContent() asks mime-funcs whether a text has long lines: the same answer, faster.
    installHasLongerLines(load('nodemailer/lib/mime-funcs') as Parameters<typeof installHasLongerLines>[0]);
    // and normalizes header names with four regular expressions each time: remembered per name.
    const mimeNode = load('nodemailer/lib/mime-node') as { default?: { prototype: object }; prototype: object };
    installHeaderKeyMemo((mimeNode.default ?? mimeNode).prototype as Parameters<typeof installHeaderKeyMemo>[0]);
    composer = load('nodemailer/lib/mail-composer') as typeof MailComposerClass;
  }
  return composer;
};

export interface Attachment {
  filename: string;
  content: Buffer;
  contentType?: string;
  contentId?: string;
}

/** An address as nodemailer takes it: bare, or with a display name it will encode. */
export type Addr = string | { name: string; address: string };

export interface Composition {
  from: Addr;
  to: Addr[];
  cc: Addr[];
  bcc: Addr[];
  replyTo: Addr[];
  subject: string;
  text?: string;
  html?: string;
  headers: Record<string, string>;
  attachments: Attachment[];
  inReplyTo?: string;
  references?: string[];
}

export interface Signer {
  domain: string;
  selector: string;
  /** Parsed once per domain (dkim-key.ts): parsing the PEM cost more than the RSA signature itself. */
  privateKey: KeyObject;
}

/** `<random@domain>`: at the sending domain, so replies and bounces name it (RFC 5322 §3.6.4). */
export const newMessageId = (domain: string) => `<${randomHex(16)}@${domain}>`;

/**
 * The message as it goes out: MIME by nodemailer's composer (Bcc left out of the headers), built
 * without its stream pipeline (mime-build.ts), then a DKIM-Signature (relaxed/relaxed,
 * rsa-sha256, RFC 6376) prepended (dkim-sign.ts).
 */
export async function compose(c: Composition, signer: Signer, messageId: string, date: Date): Promise<Buffer> {
  const root = mimeTree(c, messageId, date);
  // Built in one synchronous walk (mime-build.ts); build()'s streams only for what must be streamed.
  const unsigned = buildMime(root as unknown as MimeTree) ?? (await root.build());
  return sign(unsigned, signer);
}

/** The MIME tree nodemailer's MailComposer compiles for `c` (unsigned, not yet built). */
export function mimeTree(c: Composition, messageId: string, date: Date) {
  return new (MailComposer())({
    from: c.from,
    to: c.to,
    cc: c.cc.length ? c.cc : undefined,
    replyTo: c.replyTo.length ? c.replyTo : undefined,
    subject: c.subject,
    text: c.text,
    html: c.html,
    headers: c.headers,
    attachments: c.attachments.map((a) => ({ filename: a.filename, content: a.content, contentType: a.contentType, cid: a.contentId })),
    messageId,
    date,
    inReplyTo: c.inReplyTo,
    references: c.references,
    // What MimeNode draws with randomBytes(8) for every message when not given (multipart boundaries).
    baseBoundary: randomHex(8),
  }).compile();
}

/**
 * Prepends a DKIM-Signature to a whole message (dkim-sign.ts): canonicalized as nodemailer's
 * signer does, with a parsed key (mailauth's signer parsed the PEM again for every message), and
 * the RSA signature made on the signing thread at lower priority (sign-thread.ts), not on the event loop (~1.2 ms a message, the
 * largest single cost of a send: bench/README.md, "Issue 12, throughput"). Verified by mailauth
 * in the tests.
 */
export async function sign(message: Buffer, signer: Signer): Promise<Buffer> {
  return signMessage(message, signer);
}
