import type pg from 'pg';
import { reading } from '../../ops/queues.js';
import { destinationOf } from '../deliveries.js';
import type { Repository, SendToQueue } from '../repository.js';
import { migratePg } from './migrate.js';
import { row, type PgDb } from './db.js';
import { openPg, poolDb } from './pool.js';
import { pgTables } from './tables.js';
import { wakeSql } from './wake.js';

/**
 * The PostgreSQL engine (DESIGN §10): the same groups and use cases as the SQLite one, each use
 * case one transaction on the pool. Every commit is durable when it returns
 * (synchronous_commit=on), so there is no group commit to wait for: concurrent transactions share
 * WAL flushes inside PostgreSQL instead.
 */
export function createPgRepository(pool: pg.Pool): Repository {
  const db = poolDb(pool);
  const t = pgTables(db);

  /** Suppressed recipients are final at once: read in the transaction that writes the send. */
  const queueSend = async (tx: PgDb, s: SendToQueue, now: number) => {
    const x = pgTables(tx);
    const recipients = [];
    for (const r of s.recipients) recipients.push({ ...r, suppressed: await x.sends.isSuppressed(s.userId, r.address) });
    await x.sends.insert({ ...s, recipients }, now);
  };

  return {
    ...t,
    engine: 'postgres',

    storeInbound: (copies, now) =>
      db.tx(async (tx) => {
        const x = pgTables(tx);
        for (const c of copies) await x.messages.insert(c.message, c.attachments);
        // The rest of the transaction's rows, one multi-row statement per table: a handful of
        // round trips however many recipients, blobs and deliveries the messages have.
        const blobs = copies.flatMap((c) => c.inlineBlobs.map((b) => ({ ...b, messageId: c.message.id })));
        if (blobs.length) {
          await tx.query('INSERT INTO blobs (key, message_id, data) SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[])', [
            blobs.map((b) => b.key), blobs.map((b) => b.messageId), blobs.map((b) => b.data),
          ]);
        }
        const rcpts = copies.flatMap((c) => c.recipients.map((r) => ({ ...r, messageId: c.message.id })));
        if (rcpts.length) {
          await tx.query(
            `INSERT INTO message_recipients (message_id, address, domain_id)
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) ON CONFLICT DO NOTHING`,
            [rcpts.map((r) => r.messageId), rcpts.map((r) => r.address.toLowerCase()), rcpts.map((r) => r.domainId)],
          );
        }
        const dls = copies.flatMap((c) => c.deliveries);
        const attempts = new Map<string, number>();
        if (dls.length) {
          // A delivery with leaseUntil is written leased to this node's worker, as claim() leaves it.
          await tx.query(
            `INSERT INTO deliveries (id, user_id, message_id, route_id, domain_id, url, secret, payload, dest, status, attempts, next_attempt_at, created_at, updated_at)
             SELECT id, user_id, message_id, route_id, domain_id, url, secret, payload, dest, 'pending',
                    CASE WHEN lease_until IS NULL THEN 0 ELSE 1 END, COALESCE(lease_until, $10), $10, $10
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $11::bigint[])
               AS d(id, user_id, message_id, route_id, domain_id, url, secret, payload, dest, lease_until)`,
            [dls.map((d) => d.id), dls.map((d) => d.userId), dls.map((d) => d.messageId), dls.map((d) => d.routeId), dls.map((d) => d.domainId),
              dls.map((d) => d.url), dls.map((d) => d.secret), dls.map((d) => d.payload ?? 'json'), dls.map((d) => d.dest ?? destinationOf(d.url)), now,
              dls.map((d) => d.leaseUntil ?? null)],
          );
          const leased = dls.filter((d) => d.leaseUntil !== undefined).map((d) => d.id);
          if (leased.length) {
            const started = await tx.query<{ id: number; delivery_id: string }>(
              'INSERT INTO delivery_attempts (delivery_id, started_at) SELECT unnest($1::text[]), $2 RETURNING id, delivery_id',
              [leased, now],
            );
            for (const a of started.rows) attempts.set(a.delivery_id, a.id);
          }
          // Other nodes' workers start on these now rather than at their next poll (sent at COMMIT).
          if (leased.length < dls.length) await tx.query(wakeSql('deliveries'));
        }
        const forwards = copies.flatMap((c) => c.forwards);
        for (const s of forwards) await queueSend(tx, s, now);
        if (forwards.length) await tx.query(wakeSql('outbound'));
        return attempts;
      }),

    async removeDomain(userId, domainId, catchAllSecret, now) {
      const gone = Symbol('not the user’s domain');
      try {
        return await db.tx(async (tx) => {
          const x = pgTables(tx);
          await x.deliveries.endForDomain(domainId, catchAllSecret, now);
          await x.messageBlobs.refileFrom(domainId);
          const keys = await x.messageBlobs.ofDomain(domainId);
          if (!(await x.domains.delete(userId, domainId))) throw gone; // rolls the rest back
          return keys;
        });
      } catch (err) {
        if (err === gone) return null;
        throw err;
      }
    },

    startGrant: (codeHash, grant, tokens) =>
      db.tx(async (tx) => {
        const x = pgTables(tx);
        await x.oauthTokens.insertGrant(grant);
        await x.oauthCodes.setGrant(codeHash, grant.id);
        for (const token of tokens) await x.oauthTokens.insertToken(token);
      }),

    rotateRefresh: (tokenHash, grantId, now, tokens) =>
      db.tx(async (tx) => {
        const x = pgTables(tx);
        if (!(await x.oauthTokens.markRotated(tokenHash, now))) return false;
        await x.oauthTokens.pruneExpired(grantId, now);
        await x.oauthTokens.touch(grantId, now);
        for (const token of tokens) await x.oauthTokens.insertToken(token);
        return true;
      }),

    purgeAttachments: (messageId, keys, now) =>
      db.tx(async (tx) => {
        const x = pgTables(tx);
        await x.blobs.delete(keys);
        await x.messages.markPurged(messageId, now);
      }),

    submitSend: (send, idem) =>
      db.tx(async (tx) => {
        const x = pgTables(tx);
        if (idem) {
          // Concurrent requests with one key (on any node) queue here until the first commits;
          // the next one then reads its row and sends nothing.
          await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [JSON.stringify(['idempotency', send.userId, idem.key])]);
          const seen = await x.idempotency.get(send.userId, idem.key, idem.since);
          if (seen) return seen;
        }
        await queueSend(tx, send, send.createdAt);
        if (idem) await x.idempotency.put(send.userId, idem.key, idem.hash, idem.response, send.createdAt);
        await tx.query(wakeSql('outbound'));
        return null;
      }),

    finishAttempts: (finishes) =>
      finishes.length === 0
        ? Promise.resolve([])
        : db.tx(async (tx) => {
            // Every delivery row locked first, in one order (as a claim locks them): no deadlock with
            // another node's batch or claim; then each attempt as deliveries.finish() does it.
            await tx.query('SELECT 1 FROM deliveries WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE', [finishes.map((f) => f.deliveryId)]);
            const x = pgTables(tx);
            const done: boolean[] = [];
            for (const f of finishes) done.push(await x.deliveries.finish(f.deliveryId, f.attemptId, f.outcome));
            return done;
          }),

    finishOutbound: (results, now) =>
      db.tx(async (tx) => {
        const x = pgTables(tx);
        const recorded: boolean[] = [];
        let due = false;
        for (const r of results) {
          // A stale node's outcome (its attempt was taken over) causes nothing either.
          recorded.push(await x.outbound.finish(r.recipientId, r.attemptId, r.outcome));
          if (!recorded.at(-1)) continue;
          if (r.suppression) await x.suppressions.add(r.suppression, now);
          if (r.event) await x.outbound.insertEvent(r.event, now);
          if (r.event && r.event.leaseUntil === undefined) due = true;
        }
        // Events written leased are this node's to post: no other node has anything to read.
        if (due) await tx.query(wakeSql('events'));
        return recorded;
      }),

    applyBounces: (reports, now) =>
      db.tx(async (tx) => {
        const x = pgTables(tx);
        let changed = 0;
        for (const b of reports) {
          const r = await row<{ status: string }>(tx, 'SELECT status FROM send_recipients WHERE id = $1 AND send_id = $2 FOR UPDATE', [
            b.recipientId, b.sendId,
          ]);
          if (!r || r.status === 'bounced' || r.status === 'suppressed') continue;
          await x.outbound.markBounced(b.recipientId, b.bounce);
          await x.suppressions.add(b.suppression, now);
          if (b.event) await x.outbound.insertEvent(b.event, now);
          changed++;
        }
        if (reports.some((b) => b.event)) await tx.query(wakeSql('events'));
        return changed;
      }),

    async queueReadings(now) {
      // The same three queues as SQLite's (src/ops/queues.ts), each from its partial index.
      const q = async (kind: string, table: string, pending: string) => {
        const r = (await row<{ depth: number; due: number; oldest: number | null }>(
          db,
          `SELECT COUNT(*) AS depth, COUNT(*) FILTER (WHERE next_attempt_at <= $1) AS due, MIN(next_attempt_at) AS oldest
           FROM ${table} WHERE ${pending}`,
          [now],
        ))!;
        return reading(kind, r.depth, r.due, r.oldest, now);
      };
      return Promise.all([
        q('webhook', 'deliveries', "status = 'pending'"),
        q('send', 'send_recipients', 'next_attempt_at IS NOT NULL'),
        q('send_event', 'send_events', "status = 'pending'"),
      ]);
    },

    async ping() {
      await pool.query('SELECT 1');
    },
    // Every commit above returned only once durable: nothing is waiting to be flushed.
    flush: async () => undefined,
    // Idempotent like SQLite's close(): pg's Pool throws on a second end().
    close: async () => {
      if (!pool.ended && !pool.ending) await pool.end();
    },
  };
}

/** Opens the pool on DATABASE_URL, brings the schema up to date (under the migration lock) and returns the repository. */
export async function openPgRepository(url: string, opts: { max?: number } = {}): Promise<Repository> {
  const pool = openPg(url, opts);
  try {
    await migratePg(pool);
  } catch (err) {
    await pool.end();
    throw err;
  }
  return createPgRepository(pool);
}
