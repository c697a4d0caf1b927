import { toAttachment, toMessage, type MessageListFilter, type MessageWithDomains, type StoredAttachment, type StoredMessage } from '../messages.js';
import { changes, row, rows, type PgDb } from './db.js';

type Row = Parameters<typeof toMessage>[0];
type AttRow = Parameters<typeof toAttachment>[0];

/**
 * The domains of `m`'s recipients that still exist, as JSON text (what toMessage reads), in
 * address order like SQLite's walk of message_recipients' primary key.
 */
const DOMAIN_IDS = `(SELECT COALESCE(json_agg(rd.domain_id ORDER BY rd.address), '[]')::text FROM message_recipients rd
  JOIN domains d ON d.id = rd.domain_id WHERE rd.message_id = m.id) AS domain_ids`;

const isSet = <T>(v: T | null | undefined): v is T => v !== undefined && v !== null;

/**
 * The list statement: the same filters and order as SQLite's listQuery (src/db/messages.ts),
 * newest first. One statement with only the terms the filters set: PostgreSQL's planner picks the
 * index (messages_user, messages_user_from, message_recipients_*) from the terms present.
 */
export function pgListQuery(f: MessageListFilter): { sql: string; params: unknown[] } {
  const params: unknown[] = [f.userId, f.before ?? '\uffff'];
  const p = (v: unknown) => `$${params.push(v)}`;
  const where = ['m.user_id = $1', 'm.id < $2'];
  if (isSet(f.recipient)) where.push(`EXISTS (SELECT 1 FROM message_recipients r WHERE r.message_id = m.id AND r.address = ${p(f.recipient.toLowerCase())})`);
  if (isSet(f.domainId)) where.push(`EXISTS (SELECT 1 FROM message_recipients rd WHERE rd.message_id = m.id AND rd.domain_id = ${p(f.domainId)})`);
  if (isSet(f.from)) where.push(`m.from_address = ${p(f.from.toLowerCase())}`);
  if (isSet(f.since)) where.push(`m.received_at >= ${p(f.since)}`);
  if (isSet(f.until)) where.push(`m.received_at < ${p(f.until)}`);
  return { sql: `SELECT m.*, ${DOMAIN_IDS} FROM messages m WHERE ${where.join(' AND ')} ORDER BY m.id DESC LIMIT ${p(f.limit)}`, params };
}

export function messagesTable(db: PgDb) {
  const one = async (sql: string, params: unknown[]) => {
    const r = await row<Row>(db, sql, params);
    return r ? toMessage(r) : null;
  };
  const many = async (sql: string, params: unknown[]) => (await rows<Row>(db, sql, params)).map(toMessage);
  return {
    /** The message and its attachments, atomically (a transaction of its own unless inside one). */
    insert(m: StoredMessage, attachments: StoredAttachment[]): Promise<void> {
      const p = m.parsed;
      return db.tx(async (t) => {
        await t.query(
          `INSERT INTO messages (id, user_id, domain_id, mail_from, rcpt_to, helo, remote_ip, tls, from_address, from_name,
             subject, message_id, size, raw_key, parsed, auth, spam, parse_error, received_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`,
          [m.id, m.userId, m.domainId, m.envelope.mailFrom, JSON.stringify(m.envelope.rcptTo), m.envelope.helo, m.envelope.remoteIp,
            m.envelope.tls ? 1 : 0, p.from.address.toLowerCase(), p.from.name, p.subject, p.messageId, m.size, m.rawKey,
            JSON.stringify(p), JSON.stringify(m.auth), m.spam ? JSON.stringify(m.spam) : null, m.parseError, m.receivedAt],
        );
        if (!attachments.length) return;
        // One statement for every attachment: a round trip per message, not per attachment.
        const cols = ['id', 'messageId', 'index', 'filename', 'contentType', 'size', 'sha256', 'contentId', 'blobKey'] as const;
        await t.query(
          `INSERT INTO attachments (id, message_id, idx, filename, content_type, size, sha256, content_id, blob_key)
           SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], $6::bigint[], $7::text[], $8::text[], $9::text[])`,
          cols.map((c) => attachments.map((a) => a[c])),
        );
      });
    },
    async insertRecipient(messageId: string, address: string, domainId: string): Promise<void> {
      await db.query('INSERT INTO message_recipients (message_id, address, domain_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [
        messageId, address.toLowerCase(), domainId,
      ]);
    },
    get: (userId: string, id: string) => one(`SELECT m.*, ${DOMAIN_IDS} FROM messages m WHERE m.id = $1 AND m.user_id = $2`, [id, userId]),
    getById: (id: string) => one(`SELECT m.*, ${DOMAIN_IDS} FROM messages m WHERE m.id = $1`, [id]),
    async attachments(messageId: string): Promise<StoredAttachment[]> {
      return (await rows<AttRow>(db, 'SELECT * FROM attachments WHERE message_id = $1 ORDER BY idx', [messageId])).map(toAttachment);
    },
    async attachment(messageId: string, index: number): Promise<StoredAttachment | null> {
      const r = await row<AttRow>(db, 'SELECT * FROM attachments WHERE message_id = $1 AND idx = $2', [messageId, index]);
      return r ? toAttachment(r) : null;
    },
    list(f: MessageListFilter): Promise<MessageWithDomains[]> {
      const { sql, params } = pgListQuery(f);
      return many(sql, params);
    },
    async delete(id: string): Promise<void> {
      await db.query('DELETE FROM messages WHERE id = $1', [id]);
    },
    async markPurged(id: string, at: number): Promise<void> {
      await db.query('UPDATE messages SET purged_at = $1 WHERE id = $2', [at, id]);
    },
    unpurgedBefore: (cutoff: number, limit: number) =>
      many(`SELECT m.*, ${DOMAIN_IDS} FROM messages m WHERE m.received_at < $1 AND m.purged_at IS NULL ORDER BY m.received_at LIMIT $2`, [cutoff, limit]),
    receivedBefore: (cutoff: number, limit: number) =>
      many(`SELECT m.*, ${DOMAIN_IDS} FROM messages m WHERE m.received_at < $1 ORDER BY m.received_at LIMIT $2`, [cutoff, limit]),
  };
}

/** Blob keys of stored messages, for deleting their objects (see messageBlobKeys in src/db/messages.ts). */
export function messageBlobKeys(db: PgDb) {
  const otherDomain = `SELECT r.domain_id FROM message_recipients r JOIN domains d ON d.id = r.domain_id
     WHERE r.message_id = messages.id AND r.domain_id <> $1 AND d.user_id = messages.user_id
     ORDER BY r.domain_id LIMIT 1`;
  return {
    refileFrom(domainId: string): Promise<number> {
      return changes(db, `UPDATE messages SET domain_id = (${otherDomain}) WHERE domain_id = $1 AND (${otherDomain}) IS NOT NULL`, [domainId]);
    },
    async ofDomain(domainId: string): Promise<string[]> {
      const rs = await rows<{ key: string }>(
        db,
        `SELECT raw_key AS key FROM messages WHERE domain_id = $1 AND NOT EXISTS (SELECT 1 FROM blobs b WHERE b.key = raw_key)
         UNION ALL
         SELECT a.blob_key FROM attachments a JOIN messages m ON m.id = a.message_id
         WHERE m.domain_id = $1 AND NOT EXISTS (SELECT 1 FROM blobs b WHERE b.key = a.blob_key)`,
        [domainId],
      );
      return rs.map((r) => r.key);
    },
  };
}
