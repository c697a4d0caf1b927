import type { Db } from './open.js';

export type RecipientStatus = 'queued' | 'deferred' | 'sent' | 'bounced' | 'failed' | 'suppressed';

export interface Send {
  id: string;
  userId: string;
  domainId: string;
  kind: 'send' | 'forward';
  sourceMessageId: string | null;
  routeId: string | null;
  fromAddress: string;
  subject: string;
  messageId: string;
  mailFrom: string;
  createdAt: number;
}

export interface Recipient {
  id: string;
  sendId: string;
  address: string;
  dest: string;
  status: RecipientStatus;
  attempts: number;
  nextAttemptAt: number | null;
  lastCode: number | null;
  lastReply: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface SendAttempt {
  id: number;
  recipientId: string;
  startedAt: number;
  finishedAt: number | null;
  mx: string | null;
  code: number | null;
  reply: string | null;
  error: string | null;
}

interface SendRow {
  id: string;
  user_id: string;
  domain_id: string;
  kind: 'send' | 'forward';
  source_message_id: string | null;
  route_id: string | null;
  from_address: string;
  subject: string;
  message_id: string;
  mail_from: string;
  created_at: number;
}

interface RecipientRow {
  id: string;
  send_id: string;
  address: string;
  dest: string;
  status: RecipientStatus;
  attempts: number;
  next_attempt_at: number | null;
  last_code: number | null;
  last_reply: string | null;
  created_at: number;
  updated_at: number;
}

interface AttemptRow {
  id: number;
  recipient_id: string;
  started_at: number;
  finished_at: number | null;
  mx: string | null;
  code: number | null;
  reply: string | null;
  error: string | null;
}

const SEND_COLUMNS = 'id, user_id, domain_id, kind, source_message_id, route_id, from_address, subject, message_id, mail_from, created_at';

export const toSend = (r: SendRow): Send => ({
  id: r.id,
  userId: r.user_id,
  domainId: r.domain_id,
  kind: r.kind,
  sourceMessageId: r.source_message_id,
  routeId: r.route_id,
  fromAddress: r.from_address,
  subject: r.subject,
  messageId: r.message_id,
  mailFrom: r.mail_from,
  createdAt: r.created_at,
});

export const toRecipient = (r: RecipientRow): Recipient => ({
  id: r.id,
  sendId: r.send_id,
  address: r.address,
  dest: r.dest,
  status: r.status,
  attempts: r.attempts,
  nextAttemptAt: r.next_attempt_at,
  lastCode: r.last_code,
  lastReply: r.last_reply,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export const toSendAttempt = (r: AttemptRow): SendAttempt => ({
  id: r.id,
  recipientId: r.recipient_id,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
  mx: r.mx,
  code: r.code,
  reply: r.reply,
  error: r.error,
});

export interface NewSend extends Send {
  /** Null for a forward: its bytes are made from the stored original at each attempt. */
  raw: Buffer | null;
  recipients: { id: string; address: string; dest: string; suppressed: boolean }[];
}

export interface SendListFilter {
  userId: string;
  domainId?: string;
  status?: RecipientStatus;
  before?: string;
  limit: number;
}

/** sends and send_recipients: what the API writes and reads. The queue's statements are in outbound-queue.ts. */
export function sendsTable(db: Db) {
  // Positional parameters, no spread objects: better-sqlite3 looks each named one up on the object
  // (issue 12, as deliveries.insert in issue 14).
  const insertSend = db.prepare<[string, string, string, string, string | null, string | null, string, string, string, string, Buffer | null, number]>(
    `INSERT INTO sends (id, user_id, domain_id, kind, source_message_id, route_id, from_address, subject, message_id, mail_from, raw, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertRecipient = db.prepare<[string, string, string, string, string, number | null, number, number]>(
    `INSERT INTO send_recipients (id, send_id, address, dest, status, next_attempt_at, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const byId = db.prepare<[string, string], SendRow>(`SELECT ${SEND_COLUMNS} FROM sends WHERE id = ? AND user_id = ?`);
  const byIdAny = db.prepare<[string], SendRow>(`SELECT ${SEND_COLUMNS} FROM sends WHERE id = ?`);
  const raw = db.prepare<[string], { raw: Buffer | null }>('SELECT raw FROM sends WHERE id = ?');
  const byMailFrom = db.prepare<[string], SendRow>(`SELECT ${SEND_COLUMNS} FROM sends WHERE mail_from = ? ORDER BY id DESC LIMIT 50`);
  const forMessage = db.prepare<[string], SendRow>(`SELECT ${SEND_COLUMNS} FROM sends WHERE source_message_id = ? ORDER BY id`);
  const recipientsOf = db.prepare<[string], RecipientRow>('SELECT * FROM send_recipients WHERE send_id = ? ORDER BY id');
  const attemptsOf = db.prepare<[string], AttemptRow>(
    `SELECT a.* FROM send_attempts a JOIN send_recipients r ON r.id = a.recipient_id WHERE r.send_id = ? ORDER BY a.id`,
  );
  const list = db.prepare<{ userId: string; domainId: string | null; status: string | null; before: string; limit: number }, SendRow>(
    `SELECT ${SEND_COLUMNS} FROM sends s WHERE user_id = @userId AND id < @before
       AND (@domainId IS NULL OR domain_id = @domainId)
       AND (@status IS NULL OR EXISTS (SELECT 1 FROM send_recipients r WHERE r.send_id = s.id AND r.status = @status))
     ORDER BY id DESC LIMIT @limit`,
  );
  const isSuppressed = db.prepare<[string, string], { n: number }>('SELECT 1 AS n FROM suppressions WHERE user_id = ? AND address = ?');
  return {
    /** Writes a send and its recipients (suppressed ones final at once). Call inside a transaction. */
    insert(s: NewSend, now: number): void {
      insertSend.run(s.id, s.userId, s.domainId, s.kind, s.sourceMessageId, s.routeId, s.fromAddress, s.subject, s.messageId, s.mailFrom, s.raw, s.createdAt);
      for (const r of s.recipients) {
        insertRecipient.run(r.id, s.id, r.address, r.dest, r.suppressed ? 'suppressed' : 'queued', r.suppressed ? null : now, now, now);
      }
    },
    isSuppressed(userId: string, address: string): boolean {
      return isSuppressed.get(userId, address) !== undefined;
    },
    get(userId: string, id: string): Send | null {
      const r = byId.get(id, userId);
      return r ? toSend(r) : null;
    },
    getById(id: string): Send | null {
      const r = byIdAny.get(id);
      return r ? toSend(r) : null;
    },
    /** Sends whose envelope sender is `address` (an SRS address is shared by forwards of one sender on one day), newest first. */
    byMailFrom(address: string): Send[] {
      return byMailFrom.all(address).map(toSend);
    },
    /** Forwards of an inbound message, and replies to it. */
    forMessage(messageId: string): Send[] {
      return forMessage.all(messageId).map(toSend);
    },
    raw(id: string): Buffer | null {
      return raw.get(id)?.raw ?? null;
    },
    recipients(sendId: string): Recipient[] {
      return recipientsOf.all(sendId).map(toRecipient);
    },
    attempts(sendId: string): SendAttempt[] {
      return attemptsOf.all(sendId).map(toSendAttempt);
    },
    list(f: SendListFilter): Send[] {
      return list
        .all({ userId: f.userId, domainId: f.domainId ?? null, status: f.status ?? null, before: f.before ?? '\uffff', limit: f.limit })
        .map(toSend);
    },
  };
}
