import { queueReaders } from '../ops/queues.js';
import { groupCommit } from './group-commit.js';
import { cachedLookups } from './lookup-cache.js';
import type { Db } from './open.js';
import type { Async, Repository, SendToQueue, TableGroups } from './repository.js';
import { sqliteTables } from './sqlite-tables.js';

/** A table's synchronous methods as promises; a throw becomes a rejection. */
function asyncTable<T extends object>(table: T): Async<T> {
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(table) as [string, (...a: unknown[]) => unknown][]) {
    out[name] = (...args: unknown[]) => {
      try {
        return Promise.resolve(fn(...args));
      } catch (err) {
        return Promise.reject(err as Error);
      }
    };
  }
  return out as Async<T>;
}

class DomainNotFound extends Error {}

/**
 * The SQLite engine: today's synchronous prepared statements, each use case one synchronous
 * transaction (never an await inside). The hot-path writes (storing mail, claiming and
 * finishing attempts, sends and their outcomes) join the group commit (group-commit.ts), so a
 * promise resolves only once its rows are fsync'd, shared with whatever committed alongside.
 */
export function createSqliteRepository(db: Db): Repository {
  const t = sqliteTables(db);
  const gc = groupCommit(db);
  const groups = Object.fromEntries(Object.entries(t).map(([name, table]) => [name, asyncTable(table)])) as unknown as TableGroups;
  const lookups = cachedLookups(db, {
    findVerified: (name) => t.domains.findVerified(name),
    enabledForDomain: (domainId) => t.routes.enabledForDomain(domainId),
    patternsFor: (userId, domainId) => t.senderBlocks.patternsFor(userId, domainId),
    apiKeyByHash: (hash) => t.apiKeys.getByKeyHash(hash),
    user: (id) => t.users.get(id),
    domainById: (id) => t.domains.getById(id),
    domainByName: (userId, name) => t.domains.getByName(userId, name),
  });
  const ping = db.prepare('SELECT 1');
  const { keyTouched, ...kept } = lookups;
  const cached = asyncTable(kept);
  let readers: ReturnType<typeof queueReaders> | undefined;

  /** Suppressed recipients are final at once: read in the transaction that writes the send. */
  const queueSend = (s: SendToQueue, now: number) =>
    t.sends.insert({ ...s, recipients: s.recipients.map((r) => ({ ...r, suppressed: t.sends.isSuppressed(s.userId, r.address) })) }, now);

  return {
    ...groups,
    // The RCPT-time lookups and the API's per-request ones, from memory until one of their
    // tables changes (src/db/lookup-cache.ts).
    domains: { ...groups.domains, findVerified: cached.findVerified, getById: cached.domainById, getByName: cached.domainByName },
    users: { ...groups.users, get: cached.user },
    apiKeys: {
      ...groups.apiKeys,
      getByKeyHash: cached.apiKeyByHash,
      async touch(id, at) {
        t.apiKeys.touch(id, at);
        keyTouched(id, at);
      },
    },
    routes: { ...groups.routes, enabledForDomain: cached.enabledForDomain },
    senderBlocks: { ...groups.senderBlocks, patternsFor: cached.patternsFor },
    deliveries: {
      ...groups.deliveries,
      claim: (ids, now, leaseUntil, known) => gc.run(() => t.deliveries.claim(ids, now, leaseUntil, known)),
      finish: (id, attemptId, outcome) => gc.run(() => t.deliveries.finish(id, attemptId, outcome)),
    },
    outbound: {
      ...groups.outbound,
      claim: (ids, now, leaseUntil) => gc.run(() => t.outbound.claim(ids, now, leaseUntil)),
      leaseEvent: (id, now, leaseUntil) => gc.run(() => t.outbound.leaseEvent(id, now, leaseUntil)),
      finishEvent: (id, o) => gc.run(() => t.outbound.finishEvent(id, o)),
      finishEvents: (finishes) => gc.run(() => t.outbound.finishEvents(finishes)),
    },
    engine: 'sqlite',

    storeInbound: (copies, now) =>
      gc.run(() => {
        const attempts = new Map<string, number>();
        for (const c of copies) {
          const id = c.message.id;
          t.messages.insert(c.message, c.attachments);
          for (const b of c.inlineBlobs) t.blobs.insert(b.key, id, b.data);
          for (const r of c.recipients) t.messages.insertRecipient(id, r.address, r.domainId);
          for (const d of c.deliveries) {
            const attemptId = t.deliveries.insert(d, now);
            if (attemptId !== null) attempts.set(d.id, attemptId);
          }
          for (const s of c.forwards) queueSend(s, now);
        }
        return attempts;
      }),

    async removeDomain(userId, domainId, catchAllSecret, now) {
      try {
        return db.transaction(() => {
          t.deliveries.endForDomain(domainId, catchAllSecret, now);
          t.messageBlobs.refileFrom(domainId);
          const keys = t.messageBlobs.ofDomain(domainId);
          if (!t.domains.delete(userId, domainId)) throw new DomainNotFound(); // rolls the rest back
          return keys;
        })();
      } catch (err) {
        if (err instanceof DomainNotFound) return null;
        throw err;
      }
    },

    async startGrant(codeHash, grant, tokens) {
      db.transaction(() => {
        t.oauthTokens.insertGrant(grant);
        t.oauthCodes.setGrant(codeHash, grant.id);
        for (const token of tokens) t.oauthTokens.insertToken(token);
      })();
    },

    async rotateRefresh(tokenHash, grantId, now, tokens) {
      return db.transaction(() => {
        if (!t.oauthTokens.markRotated(tokenHash, now)) return false;
        t.oauthTokens.pruneExpired(grantId, now);
        t.oauthTokens.touch(grantId, now);
        for (const token of tokens) t.oauthTokens.insertToken(token);
        return true;
      })();
    },

    async purgeAttachments(messageId, keys, now) {
      db.transaction(() => {
        t.blobs.delete(keys);
        t.messages.markPurged(messageId, now);
      })();
    },

    submitSend: (send, idem) =>
      gc.run(() => {
        // Decided in the transaction that writes: concurrent requests with one key cannot both insert.
        const seen = idem && t.idempotency.get(send.userId, idem.key, idem.since);
        if (seen) return seen;
        queueSend(send, send.createdAt);
        if (idem) t.idempotency.put(send.userId, idem.key, idem.hash, idem.response, send.createdAt);
        return null;
      }),

    // One savepoint of the group commit for the whole batch, not one per attempt.
    finishAttempts: (finishes) => gc.run(() => finishes.map((f) => t.deliveries.finish(f.deliveryId, f.attemptId, f.outcome))),

    finishOutbound: (results, now) =>
      gc.run(() =>
        results.map((r) => {
          // A stale outcome (its attempt was taken over, finish() false) causes nothing either.
          if (!t.outbound.finish(r.recipientId, r.attemptId, r.outcome)) return false;
          if (r.suppression) t.suppressions.add(r.suppression, now);
          if (r.event) t.outbound.insertEvent(r.event, now);
          return true;
        }),
      ),

    applyBounces: (reports, now) =>
      gc.run(() => {
        let changed = 0;
        for (const b of reports) {
          const r = t.sends.recipients(b.sendId).find((x) => x.id === b.recipientId);
          if (!r || r.status === 'bounced' || r.status === 'suppressed') continue;
          t.outbound.markBounced(r.id, b.bounce);
          t.suppressions.add(b.suppression, now);
          if (b.event) t.outbound.insertEvent(b.event, now);
          changed++;
        }
        return changed;
      }),

    async queueReadings(now) {
      readers ??= queueReaders(db);
      return readers.map((read) => read(now));
    },

    async ping() {
      ping.get();
    },
    flush: () => gc.run(() => undefined),
    async close() {
      db.close();
    },
  };
}
