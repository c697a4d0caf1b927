import type { Domain } from './domains.js';
import type { Db } from './open.js';
import type { Route } from './routes.js';

/**
 * Answers kept per kind of lookup at most; past that the kind starts again empty. A domain with
 * its sealed DKIM key is ~4 KB: 2,000 of them ~8 MB, within the 256 MB Machine's budget (issue 19).
 */
const MAX_ENTRIES = 2_000;

interface Lookups {
  findVerified(name: string): Domain | null;
  enabledForDomain(domainId: string): Route[];
  patternsFor(userId: string, domainId: string): string[];
}

/**
 * Kept answers are shared by every caller: frozen, so that one changing a domain or a route throws
 * instead of changing the others'. Each call still gets an array of its own to sort or filter.
 */
function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/**
 * The SQLite repository's RCPT-time lookups (issue 14: a domain, its routes and the sender blocks
 * that apply, each at RCPT and again at DATA, ~4 % of the event loop), answered from memory while
 * `lookup_generation.n` is unchanged. schema.sql's triggers bump it on every INSERT, UPDATE and
 * DELETE of domains, routes and sender_blocks, by any connection of any process (the CLI, a
 * cascade from a deleted user), and it is read before every answer: the next lookup after a
 * committed change sees the change, exactly as without the cache. A change another connection
 * has not committed yet is not seen, as before. Reading one integer of a one-row table costs less
 * than the lookups it replaces (their rows, Domain's JSON and the routes' filters parsed anew).
 *
 * That read is still a SQLite read transaction (~1-7 µs, more right after a commit), and a
 * message makes six lookups: three at RCPT, three at DATA, each chain run in one go (the awaits
 * between them are microtasks). So the generation read is kept until the end of the current
 * macrotask (process.nextTick) unless this connection changed any row since
 * (`total_changes()`, a counter in memory: no read transaction, ~0.1 µs; it counts trigger
 * changes and whatever a rolled-back transaction had done). A commit by another connection in
 * the middle of a macrotask is seen from the next one: nothing can start in between that could
 * tell the difference, as no new input (a socket's bytes, a timer, a thread's message) is taken
 * until the macrotask ends, so every lookup in it belongs to an operation that began before
 * that commit. Issue 14: two generation reads per message instead of six.
 *
 * PostgreSQL (several nodes) keeps no such cache: each lookup reads the database, so a change on
 * one node is seen by the others' next message.
 */
export function cachedLookups(db: Db, read: Lookups): Lookups {
  const generation = db.prepare<[], number>('SELECT n FROM lookup_generation WHERE id = 1').pluck();
  const changes = db.prepare<[], number>('SELECT total_changes()').pluck();
  let seen: number | undefined;
  /** total_changes() when `seen` was read in this macrotask; undefined once it ended. */
  let readAt: number | undefined;
  const forget = () => {
    readAt = undefined;
  };
  const domains = new Map<string, Domain | null>();
  const routes = new Map<string, Route[]>();
  const patterns = new Map<string, string[]>();
  const current = () => {
    if (readAt !== undefined && changes.get() === readAt) return;
    const n = generation.get();
    if (n !== seen) {
      domains.clear();
      routes.clear();
      patterns.clear();
      seen = n;
    }
    if (readAt === undefined) process.nextTick(forget);
    readAt = changes.get();
  };
  const keep = <T>(map: Map<string, T>, key: string, value: T): T => {
    if (map.size >= MAX_ENTRIES) map.clear();
    map.set(key, deepFreeze(value));
    return value;
  };
  return {
    findVerified(name) {
      current();
      const hit = domains.get(name);
      return hit !== undefined ? hit : keep(domains, name, read.findVerified(name));
    },
    enabledForDomain(domainId) {
      current();
      return (routes.get(domainId) ?? keep(routes, domainId, read.enabledForDomain(domainId))).slice();
    },
    patternsFor(userId, domainId) {
      current();
      const key = `${userId} ${domainId}`;
      return (patterns.get(key) ?? keep(patterns, key, read.patternsFor(userId, domainId))).slice();
    },
  };
}
