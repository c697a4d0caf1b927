import type { Repository, UseCases } from '../repository.js';
import type { PgDb } from './db.js';
import { pgTables } from './tables.js';

/** Every use case of the Repository; `satisfies` keeps the list whole as UseCases grows. */
const USE_CASES = {
  storeInbound: 1,
  removeDomain: 1,
  startGrant: 1,
  rotateRefresh: 1,
  purgeAttachments: 1,
  submitSend: 1,
  finishAttempts: 1,
  finishOutbound: 1,
  applyBounces: 1,
  queueReadings: 1,
} satisfies Record<keyof UseCases, 1>;

/** A PgDb that is never queried: only the table modules' method names are read from it. */
const NO_DB: PgDb = {
  query: () => Promise.reject(new Error('unreachable')),
  tx: () => Promise.reject(new Error('unreachable')),
};

/**
 * The PostgreSQL repository, built synchronously (createDeps is) while `pg` is loaded, the pool
 * opened and the schema migrated in the background: `pg` stays out of a SQLite process
 * entirely (issue 19: nothing loaded that the configuration does not use). Every call waits for
 * that start; if it failed, every call fails with its error, and so does `ready`, which main.ts
 * awaits before it listens, so a wrong DATABASE_URL stops start-up instead of 451-ing mail.
 */
export function lazyPgRepository(url: string, opts: { max?: number } = {}): Repository & { ready: Promise<void> } {
  const started = import('./repository.js').then((m) => m.openPgRepository(url, opts));
  started.catch(() => undefined); // reported through `ready` and every call
  const later =
    <A extends unknown[], R>(pick: (r: Repository) => (...a: A) => Promise<R>) =>
    (...a: A) =>
      started.then((r) => pick(r)(...a));
  const groups = Object.fromEntries(
    Object.entries(pgTables(NO_DB)).map(([g, table]) => [
      g,
      Object.fromEntries(Object.keys(table).map((m) => [m, later((r) => (r as unknown as Record<string, Record<string, (...a: unknown[]) => Promise<unknown>>>)[g]![m]!)])),
    ]),
  );
  const cases = Object.fromEntries(Object.keys(USE_CASES).map((m) => [m, later((r) => (r as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[m]!)]));
  return {
    ...(groups as unknown as Pick<Repository, keyof ReturnType<typeof pgTables>>),
    ...(cases as unknown as UseCases),
    engine: 'postgres',
    ready: started.then(() => undefined),
    ping: later((r) => r.ping),
    flush: later((r) => r.flush),
    close: () => started.then((r) => r.close(), () => undefined),
  };
}
