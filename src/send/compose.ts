import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import type MailComposerClass from 'nodemailer/lib/mail-composer';

// Loaded with the first message composed, not at start-up (README, "Memory").
const load = createRequire(import.meta.url);
let composer: typeof MailComposerClass | undefined;
const MailComposer = () => (composer ??= load('nodemailer/lib/mail-composer') as typeof MailComposerClass);

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
  privateKey: string;
}

/** `<random@domain>`: at the sending domain, so replies and bounces name it (RFC 5322 §3.6.4). */
export const newMessageId = (domain: string) => `<${randomBytes(16).toString('hex')}@${domain}>`;

/**
 * The message as it goes out: MIME by nodemailer's composer (Bcc left out of the headers),
 * then a DKIM-Signature (relaxed/relaxed, rsa-sha256, RFC 6376) prepended by mailauth.
 */
export async function compose(c: Composition, signer: Signer, messageId: string, date: Date): Promise<Buffer> {
  const mail = new (MailComposer())({
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
  });
  const unsigned = await mail.compile().build();
  return sign(unsigned, signer);
}

/** Prepends a DKIM-Signature to a whole message. */
export async function sign(message: Buffer, signer: Signer): Promise<Buffer> {
  // Loaded with the first message signed: an instance that never sends does not pay for mailauth (issue #19).
  const { dkimSign } = await import('mailauth/lib/dkim/sign.js');
  // mailauth reads the key from signatureData (lib/dkim/dkim-signer.js); its .d.ts names top-level fields instead.
  const options = {
    canonicalization: 'relaxed/relaxed',
    algorithm: 'rsa-sha256',
    signatureData: [{ signingDomain: signer.domain, selector: signer.selector, privateKey: signer.privateKey }],
  } as unknown as Parameters<typeof dkimSign>[1];
  const { signatures, errors } = await dkimSign(message, options);
  if (!signatures.trim()) throw new Error('DKIM signing produced no signature');
  if (errors?.length) throw new Error(`DKIM signing failed: ${JSON.stringify(errors[0])}`);
  return Buffer.concat([Buffer.from(signatures), message]);
}
