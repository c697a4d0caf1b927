import type { ApiKey } from './api-keys.js';
import type { Domain } from './domains.js';
import type { Db } from './open.js';
import type { Route } from './routes.js';
import type { User } from './users.js';

/**
 * Answers kept per kind of lookup at most; past that the kind starts again empty. A domain with
 * its sealed DKIM key is ~4 KB: 2,000 of them ~8 MB, within the 256 MB Machine's budget (issue 19).
 */
const MAX_ENTRIES = 2_000;

interface Lookups {
  findVerified(name: string): Domain | null;
  enabledForDomain(domainId: string): Route[];
  patternsFor(userId: string, domainId: string): string[];
  /** A key by its hash, revoked ones too (the caller refuses those). */
  apiKeyByHash(hash: string): ApiKey | null;
  user(id: string): User | null;
  /** A domain by id, whoever owns it. */
  domainById(id: string): Domain | null;
  /** A user's domain by name. */
  domainByName(userId: string, name: string): Domain | null;
}

export interface CachedLookups extends Lookups {
  /**
   * The key's last_used_at was written (touching bumps no generation): the kept key says so too,
   * so that the next request does not touch it again within the interval.
   */
  keyTouched(id: string, at: number): void;
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
 * cascade from a deleted user), and it is read before answering (at most once per macrotask, see
 * below): a lookup that starts after a committed change sees the change, as without the cache. A change another connection
 * has not committed yet is not seen, as before. Reading one integer of a one-row table costs less
 * than the lookups it replaces (their rows, Domain's JSON and the routes' filters parsed anew).
 *
 * The API's per-request lookups are kept the same way (issue 12: `POST /v1/send` read its key,
 * the key's user and the sending domain on every call, and each outcome's event the domain
 * again): api_keys and users have their triggers too, so a key revoked by any connection, or a
 * user deleted, is refused on the very next request. Unknown hashes are not kept (a guessed key
 * costs what it did).
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
 * A caller that makes requests in process, with no new input in between (app.request in tests,
 * after a commit by another process), must still see a change at once: the API's key and user
 * lookups read the generation every time. Every authenticated request (API key, session, OAuth
 * token) looks its user up before anything else that is kept, so the domain lookups that come
 * later in a request may take this macrotask's read (issue 12: POST /v1/send's domain by name,
 * each outcome event's domain by id): it is the request's own user lookup's, or one made after
 * it. A request that starts after a commit reads the generation anew at its user lookup and
 * sees the commit, as before.
 *
 * PostgreSQL (several nodes) keeps no such cache: each lookup reads the database, so a change on
 * one node is seen by the others' next message.
 */
export function cachedLookups(db: Db, read: Lookups): CachedLookups {
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
  const keys = new Map<string, ApiKey>();
  const users = new Map<string, User>();
  const domainsById = new Map<string, Domain>();
  const domainsByName = new Map<string, Domain>();
  const all = [domains, routes, patterns, keys, users, domainsById, domainsByName];
  /** `reuse`: the lookup may take this macrotask's generation read (the SMTP ones, the domains'). */
  const current = (reuse = false) => {
    if (reuse && readAt !== undefined && changes.get() === readAt) return;
    const n = generation.get();
    if (n !== seen) {
      for (const map of all) map.clear();
      seen = n;
    }
    if (readAt === undefined) process.nextTick(forget);
    readAt = changes.get();
  };
  /** Only rows that exist are kept: a miss reads again. */
  const found = <T>(map: Map<string, T>, key: string, lookup: () => T | null, reuse = false): T | null => {
    current(reuse);
    const hit = map.get(key);
    if (hit !== undefined) return hit;
    const value = lookup();
    return value === null ? null : keep(map, key, value);
  };
  const keep = <T>(map: Map<string, T>, key: string, value: T): T => {
    if (map.size >= MAX_ENTRIES) map.clear();
    map.set(key, deepFreeze(value));
    return value;
  };
  return {
    findVerified(name) {
      current(true);
      const hit = domains.get(name);
      return hit !== undefined ? hit : keep(domains, name, read.findVerified(name));
    },
    enabledForDomain(domainId) {
      current(true);
      return (routes.get(domainId) ?? keep(routes, domainId, read.enabledForDomain(domainId))).slice();
    },
    patternsFor(userId, domainId) {
      current(true);
      const key = `${userId} ${domainId}`;
      return (patterns.get(key) ?? keep(patterns, key, read.patternsFor(userId, domainId))).slice();
    },
    apiKeyByHash: (hash) => found(keys, hash, () => read.apiKeyByHash(hash)),
    user: (id) => found(users, id, () => read.user(id)),
    domainById: (id) => found(domainsById, id, () => read.domainById(id), true),
    domainByName: (userId, name) => found(domainsByName, `${userId} ${name}`, () => read.domainByName(userId, name), true),
    keyTouched(id, at) {
      for (const [hash, key] of keys) {
        if (key.id === id) {
          keys.set(hash, deepFreeze({ ...key, scopes: [...key.scopes], lastUsedAt: at }));
          break;
        }
      }
    },
  };
}
