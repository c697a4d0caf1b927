import type { QueueReading } from '../ops/queues.js';
import type { AttemptOutcome } from './deliveries.js';
import type { StoredAttachment, StoredMessage } from './messages.js';
import type { NewEvent, RecipientOutcome } from './outbound-queue.js';
import type { OAuthGrant, OAuthToken } from './oauth-tokens.js';
import type { NewSend } from './sends.js';
import type { sqliteTables } from './sqlite-tables.js';

/**
 * The one door to the database (DESIGN §10): what callers do, async, with an implementation per
 * engine beneath it (sqlite-repository.ts; src/db/pg/). Callers never see which engine runs.
 *
 * The per-table groups keep the SQLite table modules' method names, arguments and results; only
 * the result is a promise. Their types are derived from the SQLite factories, so the engines
 * cannot drift. Every write that must be atomic with another is one use-case method below: one
 * transaction, whatever the engine.
 */
export type Async<T> = {
  readonly [K in keyof T]: T[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never;
};

type Tables = ReturnType<typeof sqliteTables>;
export type TableGroups = { readonly [K in keyof Tables]: Async<Tables[K]> };

export type NewDelivery = Parameters<Tables['deliveries']['insert']>[0];
export type NewSuppression = Parameters<Tables['suppressions']['add']>[0];

/** A send to write; whether each recipient is suppressed is read in the same transaction. */
export type SendToQueue = Omit<NewSend, 'recipients'> & { recipients: Omit<NewSend['recipients'][number], 'suppressed'>[] };

/** One account's copy of an inbound message and everything it queues (src/inbound/accept.ts). */
export interface InboundCopy {
  message: StoredMessage;
  attachments: StoredAttachment[];
  /** Small blobs kept in the database, committed with the rows (DESIGN §3). */
  inlineBlobs: { key: string; data: Buffer }[];
  recipients: { address: string; domainId: string }[];
  /** Each with its id; due at the `now` of storeInbound, or with `leaseUntil` written leased (its first attempt started). */
  deliveries: NewDelivery[];
  /** The sends of its forward routes. */
  forwards: SendToQueue[];
}

/** The end of one webhook attempt (src/deliver/worker.ts). */
export interface AttemptFinish {
  deliveryId: string;
  attemptId: number;
  outcome: AttemptOutcome;
}

/** The outcome of one outbound attempt of one recipient, with what it causes. */
export interface OutboundResult {
  recipientId: string;
  attemptId: number;
  outcome: RecipientOutcome;
  suppression: NewSuppression | null;
  event: NewEvent | null;
}

/** A recipient a DSN reported as hard-bounced. */
export interface BounceReport {
  sendId: string;
  recipientId: string;
  bounce: { at: number; code: number | null; reply: string };
  suppression: NewSuppression;
  event: NewEvent | null;
}

export interface UseCases {
  /**
   * Stores the messages of one SMTP transaction with their blobs, recipients, deliveries and
   * forwards. Durable when it resolves (250), with the attempt id of each delivery written leased
   * (by delivery id).
   */
  storeInbound(copies: InboundCopy[], now: number): Promise<Map<string, number>>;
  /**
   * Deletes a domain: its pending deliveries end as failed, its messages also addressed to another
   * of the account's domains are refiled there, the rest cascade. Returns the BlobStore keys of
   * the deleted messages (to delete after), or null when the domain is not the user's.
   */
  removeDomain(userId: string, domainId: string, catchAllSecret: string | null, now: number): Promise<string[] | null>;
  /** An authorization code was exchanged: a new token family with its first tokens. */
  startGrant(codeHash: string, grant: OAuthGrant, tokens: OAuthToken[]): Promise<void>;
  /**
   * A refresh token is exchanged: marked rotated (false, and nothing written, when it already
   * was: a concurrent exchange won, the caller revokes the family), expired tokens pruned,
   * the family touched, the new tokens inserted.
   */
  rotateRefresh(tokenHash: string, grantId: string, now: number, tokens: OAuthToken[]): Promise<boolean>;
  /** Retention: the message's inline blobs go and the message is marked purged. */
  purgeAttachments(messageId: string, keys: string[], now: number): Promise<void>;
  /**
   * POST /v1/send: with an idempotency key, a stored response for it (since `since`) is returned
   * and nothing written; else the send and the key are written in one transaction.
   */
  submitSend(
    send: SendToQueue,
    idempotency: { key: string; hash: string; response: string; since: number } | null,
  ): Promise<{ hash: string; response: string } | null>;
  /**
   * Finishes webhook attempts that ended together, each as deliveries.finish() would (the attempt
   * row closed, the delivery's fate set), in one transaction; true for each one recorded, false
   * for an attempt already closed (its lease ran out and the delivery was taken over).
   */
  finishAttempts(finishes: AttemptFinish[]): Promise<boolean[]>;
  /**
   * Records the outcomes of one outbound batch, their suppressions and events, in one
   * transaction; true for each outcome recorded (its event, if any, written), false for one whose
   * attempt was already closed (taken over: nothing written for it).
   */
  finishOutbound(results: OutboundResult[], now: number): Promise<boolean[]>;
  /** Applies a DSN: recipients already bounced or suppressed are left alone. Returns how many changed. */
  applyBounces(reports: BounceReport[], now: number): Promise<number>;
  /** The durable queues' backlog for /metrics and `mailhook status`. */
  queueReadings(now: number): Promise<QueueReading[]>;
}

/**
 * A write refused by a unique constraint (an email, a domain name already taken), whatever the
 * engine: SQLite's SQLITE_CONSTRAINT_UNIQUE, PostgreSQL's unique_violation (23505).
 */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === '23505';
}

export interface Repository extends TableGroups, UseCases {
  readonly engine: 'sqlite' | 'postgres';
  /** Throws when the database does not answer (GET /api/health). */
  ping(): Promise<void>;
  /** Resolves once every write started before it is durable (shutdown). */
  flush(): Promise<void>;
  close(): Promise<void>;
}
