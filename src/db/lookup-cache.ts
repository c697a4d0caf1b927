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
 * PostgreSQL (several nodes) keeps no such cache: each lookup reads the database, so a change on
 * one node is seen by the others' next message.
 */
export function cachedLookups(db: Db, read: Lookups): Lookups {
  const generation = db.prepare<[], number>('SELECT n FROM lookup_generation WHERE id = 1').pluck();
  let seen: number | undefined;
  const domains = new Map<string, Domain | null>();
  const routes = new Map<string, Route[]>();
  const patterns = new Map<string, string[]>();
  const current = () => {
    const n = generation.get();
    if (n !== seen) {
      domains.clear();
      routes.clear();
      patterns.clear();
      seen = n;
    }
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
