export interface Address {
  address: string;
  name: string;
}

export interface Header {
  name: string;
  value: string;
}

/** What the SMTP transaction told us, kept with every stored copy. */
export interface Envelope {
  mailFrom: string;
  rcptTo: string[];
  helo: string;
  remoteIp: string;
  tls: boolean;
}

export interface AttachmentMeta {
  index: number;
  filename: string;
  contentType: string;
  size: number;
  sha256: string;
  contentId: string;
}

/** The parsed message, as stored in messages.parsed and sent in the webhook. */
export interface ParsedMessage {
  from: Address;
  to: Address[];
  cc: Address[];
  replyTo: Address[];
  subject: string;
  /** The Date header as epoch ms; 0 when missing or unreadable. */
  date: number;
  messageId: string;
  inReplyTo: string;
  references: string[];
  headers: Header[];
  text: string;
  html: string;
  attachments: AttachmentMeta[];
  /** The new text of a reply (src/parse/reply.ts); absent on messages stored before it existed. */
  reply?: { text: string; signature: string; quoted: string };
}

/** A spam filter's answer (SPAM_FILTER), or why there is none: never a reason to lose a message. */
export type SpamVerdict =
  | {
      status: 'checked';
      /** rspamd's score and the score at which it recommends rejecting. */
      score: number;
      required: number;
      /** rspamd's action: 'no action', 'greylist', 'add header', 'rewrite subject', 'soft reject', 'reject'. */
      action: string;
      symbols: { name: string; score: number }[];
    }
  | { status: 'unchecked'; reason: string };

export interface AuthResults {
  spf: string;
  dkim: string;
  dmarc: string;
  arc: string;
}
