import { toRecipient, toSend, toSendAttempt, type NewSend, type Recipient, type Send, type SendAttempt, type SendListFilter } from '../sends.js';
import { row, rows, type PgDb } from './db.js';

type SendRow = Parameters<typeof toSend>[0];

const SEND_COLUMNS = 'id, user_id, domain_id, kind, source_message_id, route_id, from_address, subject, message_id, mail_from, created_at';

/** sends and send_recipients: what the API writes and reads. The queue's statements are in outbound-queue.ts. */
export function sendsTable(db: PgDb) {
  const many = async (sql: string, params: unknown[]) => (await rows<SendRow>(db, sql, params)).map(toSend);
  return {
    /** The send and its recipients (suppressed ones final at once), atomically. */
    insert(s: NewSend, now: number): Promise<void> {
      return db.tx(async (t) => {
        await t.query(
          `INSERT INTO sends (id, user_id, domain_id, kind, source_message_id, route_id, from_address, subject, message_id, mail_from, raw, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
          [s.id, s.userId, s.domainId, s.kind, s.sourceMessageId, s.routeId, s.fromAddress, s.subject, s.messageId, s.mailFrom, s.raw, s.createdAt],
        );
        if (!s.recipients.length) return;
        const r = s.recipients;
        await t.query(
          `INSERT INTO send_recipients (id, send_id, address, dest, status, next_attempt_at, created_at, updated_at)
           SELECT id, $2, address, dest, status, next_at, $3, $3
           FROM unnest($1::text[], $4::text[], $5::text[], $6::text[], $7::bigint[]) AS x(id, address, dest, status, next_at)`,
          [r.map((x) => x.id), s.id, now, r.map((x) => x.address), r.map((x) => x.dest), r.map((x) => (x.suppressed ? 'suppressed' : 'queued')),
            r.map((x) => (x.suppressed ? null : now))],
        );
      });
    },
    async isSuppressed(userId: string, address: string): Promise<boolean> {
      return (await row(db, 'SELECT 1 FROM suppressions WHERE user_id = $1 AND address = $2', [userId, address])) !== null;
    },
    async get(userId: string, id: string): Promise<Send | null> {
      return (await many(`SELECT ${SEND_COLUMNS} FROM sends WHERE id = $1 AND user_id = $2`, [id, userId]))[0] ?? null;
    },
    async getById(id: string): Promise<Send | null> {
      return (await many(`SELECT ${SEND_COLUMNS} FROM sends WHERE id = $1`, [id]))[0] ?? null;
    },
    byMailFrom: (address: string) => many(`SELECT ${SEND_COLUMNS} FROM sends WHERE mail_from = $1 ORDER BY id DESC LIMIT 50`, [address]),
    forMessage: (messageId: string) => many(`SELECT ${SEND_COLUMNS} FROM sends WHERE source_message_id = $1 ORDER BY id`, [messageId]),
    async raw(id: string): Promise<Buffer | null> {
      return (await row<{ raw: Buffer | null }>(db, 'SELECT raw FROM sends WHERE id = $1', [id]))?.raw ?? null;
    },
    async recipients(sendId: string): Promise<Recipient[]> {
      return (await rows<Parameters<typeof toRecipient>[0]>(db, 'SELECT * FROM send_recipients WHERE send_id = $1 ORDER BY id', [sendId])).map(toRecipient);
    },
    async attempts(sendId: string): Promise<SendAttempt[]> {
      const rs = await rows<Parameters<typeof toSendAttempt>[0]>(
        db,
        'SELECT a.* FROM send_attempts a JOIN send_recipients r ON r.id = a.recipient_id WHERE r.send_id = $1 ORDER BY a.id',
        [sendId],
      );
      return rs.map(toSendAttempt);
    },
    list: (f: SendListFilter) =>
      many(
        `SELECT ${SEND_COLUMNS} FROM sends s WHERE user_id = $1 AND id < $2
           AND ($3::text IS NULL OR domain_id = $3)
           AND ($4::text IS NULL OR EXISTS (SELECT 1 FROM send_recipients r WHERE r.send_id = s.id AND r.status = $4))
         ORDER BY id DESC LIMIT $5`,
        [f.userId, f.before ?? '\uffff', f.domainId ?? null, f.status ?? null, f.limit],
      ),
  };
}
