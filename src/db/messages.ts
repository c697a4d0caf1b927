import type { AttachmentMeta, AuthResults, Envelope, ParsedMessage, SpamVerdict } from '../parse/types.js';
import type Database from 'better-sqlite3';
import type { Db } from './open.js';

export interface StoredMessage {
  id: string;
  userId: string;
  domainId: string;
  envelope: Envelope;
  parsed: ParsedMessage;
  auth: AuthResults | Record<string, never>;
  /** Null when no spam filter was configured (or for messages stored before). */
  spam?: SpamVerdict | null;
  size: number;
  rawKey: string;
  parseError: string | null;
  receivedAt: number;
  purgedAt: number | null;
}

/** A message as read back: with every domain of the account it was addressed to. */
export interface MessageWithDomains extends StoredMessage {
  /** The primary domain (domainId) first, then the other domains of its recipients; no duplicates. */
  domainIds: string[];
}

export interface StoredAttachment extends AttachmentMeta {
  id: string;
  messageId: string;
  blobKey: string;
}

interface Row {
  id: string;
  user_id: string;
  domain_id: string;
  mail_from: string;
  rcpt_to: string;
  helo: string;
  remote_ip: string;
  tls: number;
  size: number;
  raw_key: string;
  parsed: string;
  auth: string;
  spam: string | null;
  parse_error: string | null;
  received_at: number;
  purged_at: number | null;
  /** JSON array: the recipients' domains that still exist, one per recipient (see DOMAIN_IDS). */
  domain_ids: string;
}

interface AttRow {
  id: string;
  message_id: string;
  idx: number;
  filename: string;
  content_type: string;
  size: number;
  sha256: string;
  content_id: string;
  blob_key: string;
}

/**
 * `parsed.reply` as a place in `parsed.text` (issue 14): [start, end) of the text, with the
 * signature and the quote, which are the reply's own.
 */
interface ReplyIn {
  start: number;
  end: number;
  signature: string;
  quoted: string;
}

/**
 * The `parsed` column as SQLite stores it. The reply's new text is most often the message's text
 * itself (nothing quoted, no signature), give or take the blank lines around it, and was stored
 * twice: 3.8 of the bench message's 8.4 KB. When it is a part of the text as it stands (at its
 * start, or after the text's leading whitespace), the row holds `replyIn` (where it is) in place
 * of `reply`; any other reply is stored whole. parsedFromJson reads both forms.
 *
 * Code from before this change reads such a row as a message without `reply`, i.e. as mail
 * stored before reply extraction existed: its webhooks (retries, a manual retry) post
 * `"reply": null`, never a wrong or partial text. PostgreSQL keeps the whole form
 * (src/db/pg/messages.ts): nodes of two versions may share its rows during a rolling deploy.
 */
export function parsedJson(p: ParsedMessage): string {
  const reply = p.reply;
  if (!reply || reply.text === '') return remember(p, aroundText(p));
  let start = 0;
  if (!holdsAt(p.text, reply.text, 0)) {
    start = p.text.length - p.text.trimStart().length;
    if (start === 0 || !holdsAt(p.text, reply.text, start)) return remember(p, aroundText(p));
  }
  const replyIn: ReplyIn = { start, end: start + reply.text.length, signature: reply.signature, quoted: reply.quoted };
  return remember(p, aroundText({ ...p, reply: undefined, replyIn }));
}

interface Written {
  row: string;
  /** The text it was written with: a message changed since is escaped again. */
  text: string;
  /** Where JSON.stringify(p.text) stands in the row, and its length. */
  at: number;
  length: number;
}

/**
 * JSON.stringify(o), byte for byte, put together around JSON.stringify(o.text), whose place in
 * it is then known: the first attempts' webhook bodies take the text's JSON from the row
 * (writtenTextJson) instead of escaping the text again (issue 14).
 */
function aroundText(o: ParsedMessage | (Omit<ParsedMessage, 'reply'> & { reply: undefined; replyIn: ReplyIn })): Written {
  const before: Record<string, unknown> = {};
  const after: Record<string, unknown> = {};
  let part = before;
  for (const k of Object.keys(o)) {
    if (k === 'text') part = after;
    else part[k] = (o as unknown as Record<string, unknown>)[k];
  }
  const head = JSON.stringify(before);
  const tail = JSON.stringify(after);
  const text = JSON.stringify(o.text);
  const opening = (head === '{}' ? '{' : head.slice(0, -1) + ',') + '"text":';
  return { row: opening + text + (tail === '{}' ? '}' : ',' + tail.slice(1)), text: o.text, at: opening.length, length: text.length };
}

/** The `parsed` column last written for each message object in memory (a weak reference: gone with it). */
const written = new WeakMap<ParsedMessage, Written>();

/**
 * Rows longer than this are not kept: the delivery hand-off holds a parsed message until its first
 * attempts and counts its raw size, not this second copy of its text; a large text is escaped again.
 */
export const KEEP_ROW_CHARS = 64 * 1024;

function remember(p: ParsedMessage, w: Written): string {
  if (w.row.length <= KEEP_ROW_CHARS) written.set(p, w);
  return w.row;
}

/**
 * JSON.stringify(p.text) as the `parsed` column written for `p` holds it, if one was written in
 * this process: a slice of the row (which the statement flattened), no copy and no escaping.
 */
export function writtenTextJson(p: ParsedMessage): string | undefined {
  const w = written.get(p);
  return w && w.text === p.text ? w.row.slice(w.at, w.at + w.length) : undefined;
}

/**
 * Whether `part` stands in `text` at `at`: text.startsWith(part, at), by comparing a slice (a view,
 * no copy) at once; V8's startsWith compares code unit by code unit, 3-5 µs for the 4 KB bench
 * text against ~0.1 µs (issue 14).
 */
function holdsAt(text: string, part: string, at: number): boolean {
  return text.length - at >= part.length && text.slice(at, at + part.length) === part;
}

/** A `parsed` column, in either form parsedJson writes (and rows written before it: always whole). */
export function parsedFromJson(json: string): ParsedMessage {
  const p = JSON.parse(json) as ParsedMessage & { replyIn?: ReplyIn };
  const at = p.replyIn;
  if (at === undefined) return p;
  const { replyIn: _, ...rest } = p;
  return { ...rest, reply: { text: p.text.slice(at.start, at.end), signature: at.signature, quoted: at.quoted } };
}

export const toMessage = (r: Row): MessageWithDomains => ({
  id: r.id,
  userId: r.user_id,
  domainId: r.domain_id,
  envelope: {
    mailFrom: r.mail_from,
    rcptTo: JSON.parse(r.rcpt_to) as string[],
    helo: r.helo,
    remoteIp: r.remote_ip,
    tls: r.tls === 1,
  },
  parsed: parsedFromJson(r.parsed),
  auth: JSON.parse(r.auth) as AuthResults,
  spam: r.spam ? (JSON.parse(r.spam) as SpamVerdict) : null,
  size: r.size,
  rawKey: r.raw_key,
  parseError: r.parse_error,
  receivedAt: r.received_at,
  purgedAt: r.purged_at,
  domainIds: [...new Set([r.domain_id, ...(JSON.parse(r.domain_ids) as string[])])],
});

/**
 * A result column: the domains of `m`'s recipients, read from the primary key of
 * message_recipients for each row returned (never for rows walked past). A domain deleted since
 * is left out: it is no longer one of the account's.
 */
const DOMAIN_IDS = `(SELECT json_group_array(rd.domain_id) FROM message_recipients rd CROSS JOIN domains d ON d.id = rd.domain_id
  WHERE rd.message_id = m.id) AS domain_ids`;

export const toAttachment = (r: AttRow): StoredAttachment => ({
  id: r.id,
  messageId: r.message_id,
  index: r.idx,
  filename: r.filename,
  contentType: r.content_type,
  size: r.size,
  sha256: r.sha256,
  contentId: r.content_id,
  blobKey: r.blob_key,
});

export interface MessageListFilter {
  userId: string;
  domainId?: string;
  recipient?: string;
  from?: string;
  since?: number;
  until?: number;
  before?: string;
  limit: number;
}

const isSet = <T>(v: T | null | undefined): v is T => v !== undefined && v !== null;

/**
 * The list statement for the filters `f` sets, and its parameters. One statement per
 * combination (at most 32), not one with `(@x IS NULL OR …)` for every filter: SQLite plans a
 * statement once, and a term that may be switched off cannot pick an index, so a list filtered
 * on a domain with 0.1 % of the mail walked the whole account (issue 5). Each plan walks an
 * index in id order, newest first, so a page stops after `limit` rows:
 * - recipient: message_recipients_address (address, message_id), then each message by id;
 * - else from: messages_user_from (a sender is the narrower filter in practice);
 * - else domain: message_recipients_domain (domain_id, message_id), then each message by id,
 *   grouped so that two recipients at the domain list their message once;
 * - else messages_user.
 * A message is under every domain it was addressed to (a@one and b@two: under both), so with a
 * recipient or from the domain is an EXISTS on message_recipients_domain. since/until are checked
 * on the rows walked (`+` keeps SQLite off messages_received, whose order would need a sort).
 */
export function listQuery(f: MessageListFilter): { sql: string; params: Record<string, unknown> } {
  const params: Record<string, unknown> = { userId: f.userId, before: f.before ?? '\uffff', limit: f.limit };
  const where = ['m.user_id = @userId'];
  let from = 'messages m';
  let order = 'm.id';
  let group = '';
  if (isSet(f.recipient) || (isSet(f.domainId) && !isSet(f.from))) {
    // CROSS JOIN: SQLite keeps the recipients as the outer loop, in message_id order.
    from = 'message_recipients r CROSS JOIN messages m ON m.id = r.message_id';
    order = 'r.message_id';
  }
  if (isSet(f.recipient)) {
    where.push('r.address = @recipient');
    params.recipient = f.recipient.toLowerCase();
  }
  if (isSet(f.domainId)) {
    params.domainId = f.domainId;
    if (order === 'r.message_id' && !isSet(f.recipient)) {
      // The seek key is looked up once, in the caller's domains: another account's domain (or a
      // made-up id) is NULL and seeks nothing, rather than walking that domain's mail to find none of ours.
      where.push('r.domain_id = (SELECT id FROM domains WHERE id = @domainId AND user_id = @userId)');
      group = ' GROUP BY r.message_id';
    } else {
      where.push(`EXISTS (SELECT 1 FROM message_recipients rd WHERE rd.domain_id = @domainId AND rd.message_id = ${order})`);
    }
  }
  where.push(`${order} < @before`);
  if (isSet(f.from)) {
    where.push('m.from_address = @fromAddress');
    params.fromAddress = f.from.toLowerCase();
  }
  if (isSet(f.since)) {
    where.push('+m.received_at >= @since');
    params.since = f.since;
  }
  if (isSet(f.until)) {
    where.push('+m.received_at < @until');
    params.until = f.until;
  }
  const sql = `SELECT m.*, ${DOMAIN_IDS} FROM ${from} WHERE ${where.join(' AND ')}${group} ORDER BY ${order} DESC LIMIT @limit`;
  return { sql, params };
}

export function messagesTable(db: Db) {
  // Positional parameters: better-sqlite3 binds a named one by looking its name up on the object
  // (a V8 string made from the C name each time), ~0.2 µs a parameter, on every message (issue 14).
  const insert = db.prepare(
    `INSERT INTO messages (id, user_id, domain_id, mail_from, rcpt_to, helo, remote_ip, tls, from_address, from_name,
       subject, message_id, size, raw_key, parsed, auth, spam, parse_error, received_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertRecipient = db.prepare(
    'INSERT OR IGNORE INTO message_recipients (message_id, address, domain_id) VALUES (?, ?, ?)',
  );
  const insertAttachment = db.prepare(
    `INSERT INTO attachments (id, message_id, idx, filename, content_type, size, sha256, content_id, blob_key)
     VALUES (@id, @messageId, @index, @filename, @contentType, @size, @sha256, @contentId, @blobKey)`,
  );
  const byId = db.prepare<[string, string], Row>(`SELECT m.*, ${DOMAIN_IDS} FROM messages m WHERE m.id = ? AND m.user_id = ?`);
  const byIdAny = db.prepare<[string], Row>(`SELECT m.*, ${DOMAIN_IDS} FROM messages m WHERE m.id = ?`);
  const attachmentsOf = db.prepare<[string], AttRow>('SELECT * FROM attachments WHERE message_id = ? ORDER BY idx');
  const attachmentAt = db.prepare<[string, number], AttRow>('SELECT * FROM attachments WHERE message_id = ? AND idx = ?');
  const lists = new Map<string, Database.Statement<Record<string, unknown>, Row>>();
  const remove = db.prepare('DELETE FROM messages WHERE id = ?');
  const markPurged = db.prepare('UPDATE messages SET purged_at = ? WHERE id = ?');
  const unpurgedBefore = db.prepare<[number, number], Row>(
    `SELECT m.*, ${DOMAIN_IDS} FROM messages m WHERE m.received_at < ? AND m.purged_at IS NULL ORDER BY m.received_at LIMIT ?`,
  );
  const receivedBefore = db.prepare<[number, number], Row>(
    `SELECT m.*, ${DOMAIN_IDS} FROM messages m WHERE m.received_at < ? ORDER BY m.received_at LIMIT ?`,
  );

  return {
    /** Call inside a transaction together with the deliveries. */
    insert(m: StoredMessage, attachments: StoredAttachment[]): void {
      const p = m.parsed;
      insert.run(
        m.id,
        m.userId,
        m.domainId,
        m.envelope.mailFrom,
        JSON.stringify(m.envelope.rcptTo),
        m.envelope.helo,
        m.envelope.remoteIp,
        m.envelope.tls ? 1 : 0,
        p.from.address.toLowerCase(),
        p.from.name,
        p.subject,
        p.messageId,
        m.size,
        m.rawKey,
        parsedJson(p),
        JSON.stringify(m.auth),
        m.spam ? JSON.stringify(m.spam) : null,
        m.parseError,
        m.receivedAt,
      );
      for (const a of attachments) insertAttachment.run(a);
    },
    insertRecipient(messageId: string, address: string, domainId: string): void {
      insertRecipient.run(messageId, address.toLowerCase(), domainId);
    },
    get(userId: string, id: string): MessageWithDomains | null {
      const r = byId.get(id, userId);
      return r ? toMessage(r) : null;
    },
    getById(id: string): MessageWithDomains | null {
      const r = byIdAny.get(id);
      return r ? toMessage(r) : null;
    },
    attachments(messageId: string): StoredAttachment[] {
      return attachmentsOf.all(messageId).map(toAttachment);
    },
    attachment(messageId: string, index: number): StoredAttachment | null {
      const r = attachmentAt.get(messageId, index);
      return r ? toAttachment(r) : null;
    },
    list(f: MessageListFilter): MessageWithDomains[] {
      const { sql, params } = listQuery(f);
      let statement = lists.get(sql);
      if (!statement) {
        statement = db.prepare<Record<string, unknown>, Row>(sql);
        lists.set(sql, statement);
      }
      return statement.all(params).map(toMessage);
    },
    delete(id: string): void {
      remove.run(id);
    },
    markPurged(id: string, at: number): void {
      markPurged.run(at, id);
    },
    /** Messages whose attachment objects are due for removal. */
    unpurgedBefore(cutoff: number, limit: number): MessageWithDomains[] {
      return unpurgedBefore.all(cutoff, limit).map(toMessage);
    },
    receivedBefore(cutoff: number, limit: number): MessageWithDomains[] {
      return receivedBefore.all(cutoff, limit).map(toMessage);
    },
  };
}

/** Blob keys (raw .eml and attachments) of stored messages, for deleting their objects. */
export function messageBlobKeys(db: Db) {
  // Blobs kept in the database (the `blobs` table) are left out: the delete's cascade takes them.
  const ofDomain = db.prepare<[string, string], { key: string }>(
    `SELECT raw_key AS key FROM messages WHERE domain_id = ? AND NOT EXISTS (SELECT 1 FROM blobs b WHERE b.key = raw_key)
     UNION ALL
     SELECT a.blob_key FROM attachments a JOIN messages m ON m.id = a.message_id
     WHERE m.domain_id = ? AND NOT EXISTS (SELECT 1 FROM blobs b WHERE b.key = a.blob_key)`,
  );
  // Another of the account's domains this message was addressed to, if any (the lowest id).
  const otherDomain = `SELECT r.domain_id FROM message_recipients r JOIN domains d ON d.id = r.domain_id
     WHERE r.message_id = messages.id AND r.domain_id <> @domainId AND d.user_id = messages.user_id
     ORDER BY r.domain_id LIMIT 1`;
  const refile = db.prepare<{ domainId: string }>(
    `UPDATE messages SET domain_id = (${otherDomain}) WHERE domain_id = @domainId AND (${otherDomain}) IS NOT NULL`,
  );
  return {
    /**
     * Before a domain is deleted: its messages that were also addressed to another of the
     * account's domains are filed under that one, so the delete's cascade keeps them (they are
     * that domain's mail too). Returns how many moved.
     */
    refileFrom(domainId: string): number {
      return refile.run({ domainId }).changes;
    },
    /** Every BlobStore object of every message filed under the domain: deleting it cascades to them. */
    ofDomain(domainId: string): string[] {
      return ofDomain.all(domainId, domainId).map((r) => r.key);
    },
  };
}
